"""Fade reaction latency: from the moment a bot's fills reach the engine (decoded from the
websocket frame by the ingest) to the moment our order is sent — the decision with every
guard, and the events, decision and order intent committed to SQLite (synchronous=FULL)
before the request goes out. A real `arenad run` subprocess in live mode against the
simulator (its own process-thread), six bots trading. Target: p99 under 5 ms.

Reported by the daemon itself (`fade.stats` over the control socket), over the run after a
10 s warm-up (start-up work — migrations, the first leaderboard recompute, the first
backfill — is not the steady state being measured). Baseline in the same
run: the same daemon with the database on `synchronous=NORMAL` (no fsync per commit), which
shows how much of the latency is the durable commit of the intent.

    .venv/bin/python -m bench.fade_latency [SECONDS]
    .venv/bin/python -m bench.fade_latency [SECONDS] --notify

With ``--notify`` the baseline is instead the same daemon with notifications on (``[notify]``,
one channel to a loopback receiver that never answers, the notifier's watch every second):
the fade reaction must be unchanged by a channel that hangs.
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from arenad.control.client import ControlClient
from arenad.sim.hyperliquid.bots import bot_address
from arenad.sim.server import SimServer
from arenad.sim.settings import SimSettings

WARMUP_S = 10.0
BOTS = ["gpt-5", "gemini-2.5-pro", "claude-sonnet-4.5", "grok-4", "deepseek-v3.1", "qwen3-max"]


def sim_in_thread() -> tuple[SimServer, Any]:
    server = SimServer(
        SimSettings(hyperliquid_port=0, alpaca_port=0, tick_interval_s=0.2, bot_interval_s=0.5)
    )
    loop = asyncio.new_event_loop()
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
    return server, loop


NOTIFY_VAR = "BENCH_NOTIFY_URLS"


def hanging_receiver() -> tuple[Any, str]:
    """An HTTP server on loopback that reads each request and never answers."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Hang(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(60)

        def log_message(self, *_args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hang)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"json://127.0.0.1:{srv.server_address[1]}/hook/bench-token-123"


def config(port: int, sync: str, notify: bool = False) -> str:
    section = (
        f'[notify]\nurls_env = "{NOTIFY_VAR}"\ncheck_interval_s = 1.0\ntimeout_s = 5.0\n\n'
        if notify
        else ""
    )
    bots = "".join(f'[[fade.bots]]\nid = "{b}"\nwallet = "{bot_address(42, b)}"\n\n' for b in BOTS)
    return f"""[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"
log_level = "warning"
sqlite_synchronous = "{sync}"

[sim]
hyperliquid_port = {port}

[arena]
enabled = false

[fade]
mode = "live"
network = "sim"
global_exposure_cap_usd = 1000000
default_asset_cap_usd = 1000000
max_orders_per_minute = 10000

{section}{bots}"""


async def stats(sock: Path, reset: bool = False) -> dict[str, Any]:
    async with ControlClient(sock) as c:
        return await c.request("fade.stats", reset=reset)  # type: ignore[no-any-return]


def run(port: int, sync: str, seconds: float, notify_url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="fl-") as d:
        cfg = Path(d) / "config.toml"
        cfg.write_text(config(port, sync, notify_url is not None))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_")}
        if notify_url is not None:
            env[NOTIFY_VAR] = notify_url
        proc = subprocess.Popen(
            [sys.executable, "-m", "arenad", "run", "--config", str(cfg)],
            cwd=d,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            sock = Path(d) / "arenad.sock"
            deadline = time.monotonic() + 30
            while not sock.exists():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the daemon did not start")
                time.sleep(0.1)
            time.sleep(WARMUP_S)  # start-up: migrations, first recompute, first backfill
            asyncio.run(stats(sock, reset=True))
            time.sleep(seconds)
            return asyncio.run(stats(sock))
        finally:
            proc.terminate()
            proc.wait(10)


def fresh_run(sync: str, seconds: float, notify_url: str | None = None) -> dict[str, Any]:
    """One daemon run against a simulator of its own: a second daemon on the same simulator
    finds the first one's positions on the account, an account drift that (rightly) stops
    its trading."""
    server, loop = sim_in_thread()
    try:
        return run(server.hyperliquid_port, sync, seconds, notify_url)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)


def main(seconds: float, notify: bool = False) -> None:
    full = fresh_run("full", seconds)
    if notify:
        receiver, url = hanging_receiver()
        try:
            other = fresh_run("full", seconds, url)
        finally:
            receiver.shutdown()
    else:
        other = fresh_run("normal", seconds)
    print(
        f"machine: {platform.machine()} python {platform.python_version()} ({sys.platform}), "
        f"{os.cpu_count()} cores; {seconds:.0f} s per run, 6 bots"
    )
    second = "FULL + notify (channel hanging)" if notify else "synchronous=NORMAL"
    for name, s in (("synchronous=FULL (shipped)", full), (second, other)):
        lat, com = s["latency_ms"], s["commit_ms"]
        if not lat["n"]:
            print(f"{name}: no orders in the run (the bots did not trade?)")
            continue
        print(
            f"{name}: orders {lat['n']}, p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms, "
            f"max {lat['max']:.2f} ms  [target p99 < 5 ms]; of which the commit: p50 "
            f"{com['p50']:.2f} ms, p99 {com['p99']:.2f} ms"
        )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--notify"]
    main(float(args[0]) if args else 30.0, "--notify" in sys.argv[1:])
