"""Control-socket edges and shutdown races against a real `arenad run` (issue 14)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import unix_connect
from websockets.exceptions import ConnectionClosed

from arenad.control.client import ControlClient
from conftest import MINIMAL_CONFIG, wait_for

pytestmark = pytest.mark.slow


def _rss_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of ``pid`` in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def test_strict_requests_get_clear_errors_and_leave_the_daemon_untouched(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()

    async def go() -> None:
        async with unix_connect(str(d.socket_path)) as ws:
            for raw, says in (
                ('{"id": 1, "cmd": "status", "cmd": "kill"}', "duplicate key 'cmd'"),
                ('{"id": 1, "cmd": "status", "args": {"reason": "a", "reason": "b"}}', "duplicate"),
                ("[" * 100_000 + "]" * 100_000, "nested deeper than 32"),
                ('{"id": 1, "cmd": "kill", "args": ' + "[" * 40 + "]" * 40 + "}", "nested deeper"),
                ('{"id": ' + "7" * 5_000 + ', "cmd": "kill"}', "at most 2^53"),
                ('{"id": 9007199254740993, "cmd": "kill"}', "at most 2^53"),
                ('{"id": 1, "cmd": "kill", "args": {"reason": NaN}}', "NaN is not a JSON value"),
                ('{"id": 1, "cmd": "kill", "args": {"reason": "\\ud800"}}', "surrogate"),
            ):
                await ws.send(raw)
                async with asyncio.timeout(10):
                    reply = json.loads(await ws.recv())
                assert reply["ok"] is False, raw[:80]
                assert reply["error"]["code"] == "bad_request", reply
                assert says in reply["error"]["message"], reply
                # the same connection still serves
                await ws.send(json.dumps({"id": 2, "cmd": "status"}))
                async with asyncio.timeout(10):
                    ok = json.loads(await ws.recv())
                assert ok["ok"] is True and ok["id"] == 2
                assert ok["result"]["kill_switch"]["engaged"] is False, raw[:80]

    asyncio.run(go())
    assert d.proc.poll() is None
    assert d.status()["trading_state"] == "ACTIVE"
    assert d.stop() == 0
    assert "Traceback" not in d.log(), d.log()


def test_300_concurrent_connections_are_served_or_refused_clearly(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    """All 300 connects land while the daemon is stopped (SIGSTOP), so all are pending at once.

    That is the burst that used to lose handshakes: asyncio's listen backlog of 100 made the
    other connects fail with EAGAIN. Every client holds its connection until all have an
    answer, so exactly `cap` are served and the rest are refused with close code 1013.
    """
    cap, n = 100, 300
    d = daemon_proc(MINIMAL_CONFIG + f"control_max_connections = {cap}\n")
    d.start()
    assert d.proc is not None
    before = _rss_kib(d.proc.pid)
    outcomes: list[str] = []
    socks: list[socket.socket] = []

    async def one(sock: socket.socket, all_done: asyncio.Event) -> None:
        try:
            async with asyncio.timeout(60):
                async with unix_connect(sock=sock) as ws:
                    try:
                        await ws.send(json.dumps({"id": 1, "cmd": "status"}))
                        reply = json.loads(await ws.recv())
                        outcomes.append("served" if reply["ok"] else f"error {reply}")
                    except ConnectionClosed as e:
                        rcvd = e.rcvd
                        if rcvd is not None and rcvd.code == 1013 and "too many" in rcvd.reason:
                            outcomes.append("refused")
                        else:
                            outcomes.append(f"closed {rcvd}")
                        return
                    if len(outcomes) == n:
                        all_done.set()
                    await all_done.wait()  # hold the connection until every client has an answer
        except Exception as e:  # every other outcome is a failure to count
            outcomes.append(f"{type(e).__name__}: {e}")
        finally:
            if len(outcomes) == n:
                all_done.set()

    async def burst() -> None:
        all_done = asyncio.Event()
        await asyncio.gather(*(one(s, all_done) for s in socks))

    d.proc.send_signal(signal.SIGSTOP)
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(str(d.socket_path))  # queued in the kernel's backlog, or EAGAIN
            except OSError as e:
                outcomes.append(f"connect: {e}")
                s.close()
                continue
            socks.append(s)
    finally:
        d.proc.send_signal(signal.SIGCONT)
    asyncio.run(burst())
    after = _rss_kib(d.proc.pid)
    others = [o for o in outcomes if o not in ("served", "refused")]
    assert not others, (len(others), others[:3])
    assert outcomes.count("served") == cap and outcomes.count("refused") == n - cap
    assert d.proc.poll() is None
    assert d.status()["trading_state"] == "ACTIVE"  # served again once the burst has gone
    print(
        f"RSS before {before['VmRSS']} KiB, after {after['VmRSS']} KiB, peak {after['VmHWM']} KiB"
    )
    assert after["VmHWM"] - before["VmRSS"] < 64 * 1024, (before, after)
    wait_for(lambda: "control connection limit reached" in d.log(), what="the cap warning")
    assert d.stop() == 0
    assert "Traceback" not in d.log()


def _frozen_subscriber(d) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    """A subscribed client, then SIGSTOPped: the daemon's close waits ~1 s for its handshake."""
    client = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import asyncio, json\n"
            "from websockets.asyncio.client import unix_connect\n"
            "async def main():\n"
            f"    async with unix_connect({str(d.socket_path)!r}) as ws:\n"
            "        await ws.send(json.dumps({'id': 1, 'cmd': 'subscribe'}))\n"
            "        await ws.recv()\n"
            "        print('subscribed', flush=True)\n"
            "        await asyncio.sleep(3600)\n"
            "asyncio.run(main())\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdout is not None and client.stdout.readline().strip() == "subscribed"
    client.send_signal(signal.SIGSTOP)
    return client


@pytest.mark.parametrize(
    "volley",
    [(signal.SIGHUP,), (signal.SIGTERM,), (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)],
    ids=["sighup", "sigterm-again", "mixed"],
)
def test_signals_during_shutdown_are_ignored_and_exit_is_clean(daemon_proc, volley) -> None:  # type: ignore[no-untyped-def]
    """tmux closing the demo's terminal sends SIGHUP while the daemon is already stopping.

    From STOPPING=1 until the process is gone, signals keep coming, so every step of the
    shutdown (socket close, task cancel, writer drain and close, the end of the event loop)
    sees some; a frozen subscriber makes the first step last about a second.
    """
    d = daemon_proc(MINIMAL_CONFIG.replace('log_level = "info"', 'log_level = "debug"'))
    d.start()
    assert d.proc is not None
    proc = d.proc
    client = _frozen_subscriber(d)
    sent = [0]

    def keep_signalling() -> None:
        while proc.poll() is None:  # send_signal is a no-op once the child is reaped
            proc.send_signal(volley[sent[0] % len(volley)])
            sent[0] += 1
            time.sleep(0.002)

    try:
        proc.send_signal(signal.SIGTERM)
        d.wait_notify("STOPPING=1")  # shutdown has begun
        volley_thread = threading.Thread(target=keep_signalling)
        volley_thread.start()
        code = proc.wait(15)
        volley_thread.join(10)
    finally:
        client.kill()
        client.wait(10)
    log = d.log()
    assert code == 0, (code, log[-2000:])
    assert sent[0] > 10
    assert "Traceback" not in log and "never retrieved" not in log, log[-3000:]
    assert "ignored during shutdown" in log
    conn = sqlite3.connect(d.db_path)
    msgs = [r[0] for r in conn.execute("SELECT message FROM system_events ORDER BY id")]
    assert msgs[-1] == "arenad stopped"


def test_cli_over_the_cap_says_so_and_a_reload_raises_the_cap(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc(MINIMAL_CONFIG + "control_max_connections = 1\n")
    d.start()
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        async def go() -> None:
            async with ControlClient(d.socket_path) as c:
                await c.request("status")
                held.set()
                await asyncio.get_running_loop().run_in_executor(None, release.wait)

        asyncio.run(go())

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(15)
        r = d.cli("status")
        assert r.returncode == 1
        assert "refused the connection: too many control connections (1 open, limit 1)" in r.stderr
        tmp = d.config_path.with_suffix(".tmp")
        tmp.write_text(MINIMAL_CONFIG + "control_max_connections = 2\n")
        os.replace(tmp, d.config_path)  # the daemon watches the file (poll 0.1 s)
        wait_for(lambda: d.cli("status").returncode == 0, what="the raised cap in force")
    finally:
        release.set()
        holder.join(15)
    assert d.stop() == 0
