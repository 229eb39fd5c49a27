"""`arenad sim`: the simulator alone, in the foreground, until SIGINT/SIGTERM.

Settings come from `[sim]` of the config file (and `ARENAD_SIM__*` variables), like every
other setting; the bound URLs are printed on stdout once both venues listen, so a script can
wait for that line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TypeAlias

from arenad.config.loader import load_settings
from arenad.errors import ConfigError
from arenad.sim.settings import SimSettings

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: Sub) -> None:
    p = sub.add_parser(
        "sim",
        help="run the Hyperliquid and Alpaca simulator on loopback",
        description="Serve simulated Hyperliquid (/info, /exchange, /ws) and Alpaca venues "
        "on loopback, with a seeded market, synthetic bots and fault injection.",
    )
    p.add_argument("--config", help="config file (default: $ARENAD_CONFIG or ./config.toml)")
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="stop after S seconds (default: run until interrupted)",
    )
    p.set_defaults(func=_sim)


def _sim(args: argparse.Namespace) -> int:
    if args.duration is not None and not args.duration > 0:
        print("arenad sim: --duration must be a positive number of seconds", file=sys.stderr)
        return 2
    try:
        loaded = load_settings(Path(args.config) if args.config else None)
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 2
    settings = loaded.settings.sim
    if settings.replay.enabled and settings.replay.trades_path is not None:
        path = settings.replay.trades_path
        if not path.is_absolute():
            path = loaded.path.parent / path
        settings = settings.model_copy(
            update={"replay": settings.replay.model_copy(update={"trades_path": path})}
        )
    try:
        return asyncio.run(_serve(settings, args.duration))
    except OSError as e:
        print(f"arenad sim: cannot listen: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # e.g. an unreadable replay file
        print(f"arenad sim: {e}", file=sys.stderr)
        return 2


async def _serve(settings: SimSettings, duration: float | None) -> int:
    from arenad.sim.server import SimServer  # aiohttp: only when serving

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with SimServer(settings) as server:
        print(f"hyperliquid: {server.hyperliquid_url}  (ws: {server.hyperliquid_ws_url})")
        print(f"alpaca: {server.alpaca_url or 'not available'}")
        for bot in server.hyperliquid.bots.bots:
            print(f"bot {bot.name}: {bot.address}")
        print("ready", flush=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(duration):
                await stop.wait()
    return 0
