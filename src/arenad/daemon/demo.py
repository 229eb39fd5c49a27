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
import sys
from typing import TextIO

from arenad.config import loader
from arenad.config.loader import LoadedConfig
from arenad.daemon.app import Daemon
from arenad.logs import Redactor, configure_logging

TUI_STOP_TIMEOUT_S = 5.0
DEMO_MAX_ORDERS_PER_MINUTE = 240


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
    fade = s.fade.model_copy(
        update={
            "max_orders_per_minute": max(s.fade.max_orders_per_minute, DEMO_MAX_ORDERS_PER_MINUTE)
        }
    )
    return LoadedConfig(
        s.model_copy(update={"daemon": daemon, "mode": "simulation", "arena": arena, "fade": fade}),
        loaded.path,
        loaded.raw,
    )


async def _start_simulator(
    loaded: LoadedConfig,
) -> tuple[contextlib.AsyncExitStack, LoadedConfig]:
    """Start the simulator (`[sim]` settings) before the daemon; it stops after the daemon.

    Returns the config the daemon should use: the simulator's ports as bound (port 0 in
    `[sim]` picks free ones, which is how tests run demos side by side)."""
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
    s = loaded.settings
    bound = {"hyperliquid_port": sim.hyperliquid_port}
    if sim.alpaca_port is not None:
        bound["alpaca_port"] = sim.alpaca_port
    updates: dict[str, object] = {"sim": s.sim.model_copy(update=bound)}
    # Strategies name their Alpaca URLs explicitly; those aimed at the configured simulator
    # port follow it to the port actually bound.
    configured = f"http://{s.sim.host}:{s.sim.alpaca_port}"
    if sim.alpaca_url:
        urls = {
            k: sim.alpaca_url
            for k in ("alpaca_trading_url", "alpaca_data_url")
            if getattr(s.strategies, k).rstrip("/") == configured
        }
        if urls:
            updates["strategies"] = s.strategies.model_copy(update=urls)
    s = s.model_copy(update=updates)
    return stack, LoadedConfig(s, loaded.path, loaded.raw)


class DemoError(Exception):
    pass


async def _demo(loaded: LoadedConfig, duration: float | None, redactor: Redactor) -> int:
    stack, loaded = await _start_simulator(loaded)
    async with stack:
        daemon = Daemon(loaded, allow_live=False, redactor=redactor)
        task = asyncio.create_task(daemon.run())
        if duration is not None:
            done, _ = await asyncio.wait({task}, timeout=duration)
            if not done:
                daemon.request_stop()
        return await task


async def _demo_with_tui(loaded: LoadedConfig, duration: float | None, redactor: Redactor) -> int:
    stack, loaded = await _start_simulator(loaded)
    async with stack:
        daemon = Daemon(loaded, allow_live=False, redactor=redactor)
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


def run_demo(loaded: LoadedConfig, *, headless: bool, duration: float | None) -> int:
    loaded = demo_config(loaded)
    s = loaded.settings
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
