"""`arenad demo`: the whole system on one machine with no keys.

Runs with the given config but keeps its database and socket under ``var/demo/`` beside the
config, so a demo never touches a production database.

Without ``--headless`` the simulator and the daemon run in this process, and the TUI runs as a
child process (``arenad tui --socket …``) that owns the terminal. The TUI is a separate process
rather than a task in this loop because the engine must never import Textual (import-linter
checks every import in this package, lazy ones included), and so that the daemon's logs —
written to ``var/demo/arenad.log`` while the TUI is up — can never scribble over the screen.
When the TUI exits (``q``), the daemon shuts down in its usual order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlparse

from arenad.arena.component import SIM_KEY
from arenad.config import loader
from arenad.config.loader import LoadedConfig
from arenad.daemon.app import Daemon
from arenad.daemon.reload import Overlay
from arenad.logs import Redactor, configure_logging
from arenad.sim.alpaca.app import ALPACA_SIM_KEY

if TYPE_CHECKING:
    from arenad.sim.server import SimServer

TUI_STOP_TIMEOUT_S = 5.0
DEMO_MAX_ORDERS_PER_MINUTE = 240
DEMO_SNAPSHOT_INTERVAL_S = 30.0
DEMO_STRATEGY_CHECK_S = 10.0


def demo_config(loaded: LoadedConfig) -> LoadedConfig:
    base = loaded.path.resolve().parent / "var" / "demo"
    s = loaded.settings
    daemon = s.daemon.model_copy(
        update={"db_path": base / "arenad.db", "socket_path": base / "arenad.sock"}
    )
    # The demo is watched for minutes, not days: the arena runs every two minutes on any day
    # (the simulator's market never closes), so the leaderboard and decisions fill at once.
    schedule = s.arena.schedule.model_copy(
        update={
            "kind": "cron",
            "cron": "*/2 * * * *",
            "market_days_only": False,
            "missed_slot": "run_once",
            "missed_max_age_s": 120.0,
        }
    )
    arena = s.arena.model_copy(update={"schedule": schedule})
    # The simulator's six bots make about 70 fills a minute; the shipped order rate limit (30
    # a minute, sized for real money) would skip some 40 % of the fade's decisions and leave
    # its books off target. The demo trades on paper, so its fade may keep up.
    # Its books are watched for minutes too: a periodic snapshot every 30 s (not 300 s) on top
    # of the ones on fills, so every fade book has a curve in a two-minute demo.
    fade = s.fade.model_copy(
        update={
            "max_orders_per_minute": max(s.fade.max_orders_per_minute, DEMO_MAX_ORDERS_PER_MINUTE),
            "snapshot_interval_s": min(s.fade.snapshot_interval_s, DEMO_SNAPSHOT_INTERVAL_S),
        }
    )
    # An activated strategy is checked every 10 s (not every minute): its orders fill and its
    # book's curve moves while the demo is watched.
    strategies = s.strategies.model_copy(
        update={
            "check_interval_s": min(s.strategies.check_interval_s, DEMO_STRATEGY_CHECK_S),
        }
    )
    return LoadedConfig(
        s.model_copy(
            update={
                "daemon": daemon,
                "mode": "simulation",
                "arena": arena,
                "fade": fade,
                "strategies": strategies,
            }
        ),
        loaded.path,
        loaded.raw,
    )


async def _start_simulator(
    loaded: LoadedConfig,
) -> tuple[contextlib.AsyncExitStack, Overlay]:
    """Start the simulator (`[sim]` settings, of the file as loaded) before the daemon; it
    stops after the daemon.

    Returns the demo's overlay: what it does to the config file's settings (``demo_config``
    and the simulator's ports as bound; port 0 in `[sim]` picks free ones, which is how tests
    run demos side by side). The daemon runs on the overlaid file and its reloads overlay
    every re-read the same way, so `R` on an unedited file changes nothing."""
    from arenad.sim.server import SimServer

    stack = contextlib.AsyncExitStack()
    sim = SimServer(loaded.settings.sim)
    try:
        await stack.enter_async_context(sim)
    except OSError as e:
        raise DemoError(
            f"cannot start the simulator on {loaded.settings.sim.host} ports "
            f"{loaded.settings.sim.hyperliquid_port}/{loaded.settings.sim.alpaca_port}: {e}; "
            "is another demo or `arenad sim` running? (set ARENAD_SIM__HYPERLIQUID_PORT / "
            "ARENAD_SIM__ALPACA_PORT to other ports)"
        ) from e
    print(
        f"arenad demo: simulator on {sim.hyperliquid_url} (Hyperliquid)"
        + (f" and {sim.alpaca_url} (Alpaca)" if sim.alpaca_url else ""),
        file=sys.stderr,
    )
    _restore_broker(loaded, sim)
    ports = (sim.hyperliquid_port, sim.alpaca_port, sim.alpaca_url)
    return stack, lambda fresh: _bind(demo_config(fresh), *ports)


def _bind(
    loaded: LoadedConfig, hyperliquid_port: int, alpaca_port: int | None, alpaca_url: str | None
) -> LoadedConfig:
    """The simulator's ports as bound (port 0 in `[sim]` picks free ones)."""
    s = loaded.settings
    bound = {"hyperliquid_port": hyperliquid_port}
    if alpaca_port is not None:
        bound["alpaca_port"] = alpaca_port
    updates: dict[str, object] = {"sim": s.sim.model_copy(update=bound)}
    # Strategies name their Alpaca URLs explicitly; those aimed at the simulator's host follow
    # it to the port actually bound (port 0 in `[sim]` binds a free one, so the configured
    # port — the shipped 8766 — names nothing the demo serves).
    if alpaca_url:
        urls = {
            k: alpaca_url
            for k in ("alpaca_trading_url", "alpaca_data_url")
            if urlparse(getattr(s.strategies, k)).hostname in (s.sim.host, "127.0.0.1", "localhost")
        }
        if urls:
            updates["strategies"] = s.strategies.model_copy(update=urls)
    return LoadedConfig(s.model_copy(update=updates), loaded.path, loaded.raw)


def arena_positions(db_path: Path) -> dict[str, tuple[Decimal, Decimal]]:
    """The shared Alpaca account's positions as the arena's ledgers hold them: per symbol the
    summed quantity and its average price (empty without a database)."""
    if not db_path.exists():
        return {}
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT symbol, qty, avg_price FROM arena_positions").fetchall()
    except sqlite3.OperationalError:  # not migrated this far
        return {}
    finally:
        conn.close()
    qty: dict[str, Decimal] = {}
    cost: dict[str, Decimal] = {}
    for sym, q, px in rows:
        qty[sym] = qty.get(sym, Decimal(0)) + Decimal(q)
        cost[sym] = cost.get(sym, Decimal(0)) + Decimal(q) * Decimal(px)
    return {s: (q, cost[s] / q) for s, q in qty.items() if q}


def _restore_broker(loaded: LoadedConfig, sim: SimServer) -> None:
    """The in-process simulator starts empty each demo, but the demo's database remembers
    what the arena bought: the simulated broker account is given those positions, as a real
    paper account would still hold them (else every arena book is in drift on a second
    demo: "arena ledgers do not match the account positions")."""
    s = loaded.settings
    if sim.alpaca_app is None or s.arena.venue != "simulator":
        return
    held = arena_positions(s.daemon.db_path)
    if not held:
        return
    key = os.environ.get(s.secrets.alpaca_key_id_env, "")
    secret = os.environ.get(s.secrets.alpaca_secret_key_env, "")
    if not (key and secret):
        key, secret = SIM_KEY
    alpaca = sim.alpaca_app[ALPACA_SIM_KEY]
    alpaca.broker.restore_positions(key, secret, held, alpaca.now())
    print(
        f"arenad demo: simulated Alpaca account restored with the arena's {len(held)} "
        "open position(s) from the database",
        file=sys.stderr,
    )


class DemoError(Exception):
    pass


async def _demo(loaded: LoadedConfig, duration: float | None, redactor: Redactor) -> int:
    stack, overlay = await _start_simulator(loaded)
    async with stack:
        daemon = Daemon(overlay(loaded), allow_live=False, redactor=redactor, overlay=overlay)
        task = asyncio.create_task(daemon.run())
        if duration is not None:
            done, _ = await asyncio.wait({task}, timeout=duration)
            if not done:
                daemon.request_stop()
        return await task


async def _demo_with_tui(loaded: LoadedConfig, duration: float | None, redactor: Redactor) -> int:
    stack, overlay = await _start_simulator(loaded)
    loaded = overlay(loaded)
    async with stack:
        daemon = Daemon(loaded, allow_live=False, redactor=redactor, overlay=overlay)
        task = asyncio.create_task(daemon.run())
        cmd = [
            sys.executable,
            "-m",
            "arenad",
            "tui",
            "--config",
            str(loaded.path),
            "--socket",
            str(loaded.settings.daemon.socket_path),
        ]
        if duration is not None:
            cmd += ["--exit-after", str(duration)]
        tui = await asyncio.create_subprocess_exec(*cmd)  # inherits the terminal
        waiter = asyncio.create_task(tui.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():  # the daemon stopped first (error or signal): the TUI goes too
            tui.terminate()
            try:
                async with asyncio.timeout(TUI_STOP_TIMEOUT_S):
                    await waiter
            except TimeoutError:
                tui.kill()
                await waiter
        if not task.done():
            daemon.request_stop()
        return await task


def start_over(base: Path) -> list[Path]:
    """``--fresh``: the demo's database (with its WAL), log and stale socket removed. Refuses
    while a demo is running on that socket."""
    sock = base / "arenad.sock"
    if sock.exists():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(sock))
        except OSError:
            pass  # stale: nothing listens
        else:
            raise DemoError(f"a demo is running on {sock}; stop it before --fresh")
        finally:
            probe.close()
    gone = []
    for name in ("arenad.db", "arenad.db-wal", "arenad.db-shm", "arenad.log", "arenad.sock"):
        p = base / name
        if p.exists():
            p.unlink()
            gone.append(p)
    return gone


def run_demo(
    loaded: LoadedConfig, *, headless: bool, duration: float | None, fresh: bool = False
) -> int:
    loaded = demo_config(loaded)
    s = loaded.settings
    if fresh:
        try:
            gone = start_over(s.daemon.db_path.parent)
        except DemoError as e:
            print(f"arenad demo: {e}", file=sys.stderr)
            return 1
        print(
            f"arenad demo: starting over in {s.daemon.db_path.parent}"
            + (f" (removed {', '.join(p.name for p in gone)})" if gone else ""),
            file=sys.stderr,
        )
    log_path = s.daemon.db_path.parent / "arenad.log"
    stream: TextIO | None = None
    if not headless:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        stream = log_path.open("a", encoding="utf-8")
    try:
        redactor = configure_logging(
            s.daemon.log_format if headless else "json",
            s.daemon.log_level,
            Redactor(loader.secret_values(s)),
            stream=stream,
        )
        print(
            f"arenad demo: database {s.daemon.db_path}, socket {s.daemon.socket_path}"
            + ("; Ctrl-C stops." if headless else f"; daemon log {log_path}; q in the TUI stops."),
            file=sys.stderr,
        )
        with contextlib.suppress(KeyboardInterrupt):
            if headless:
                try:
                    return asyncio.run(_demo(loaded, duration, redactor))
                except DemoError as e:
                    print(f"arenad demo: {e}", file=sys.stderr)
                    return 1
            try:
                rc = asyncio.run(_demo_with_tui(loaded, duration, redactor))
            except DemoError as e:
                print(f"arenad demo: {e}", file=sys.stderr)
                return 1
            if rc != 0:
                print(f"arenad demo: the daemon exited with {rc}; see {log_path}", file=sys.stderr)
            return rc
        return 0
    finally:
        if stream is not None:
            stream.close()
