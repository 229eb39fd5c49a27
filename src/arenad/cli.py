"""The `arenad` command line.

Exit codes: 0 ok, 1 runtime failure, 2 bad input or config. Each area registers its own
subcommands from ``arenad.<area>.cli`` (listed in ``AREA_CLIS``) so this file stays small.

Only the area that owns the command given is imported (``COMMANDS``): `arenad kill` must not
pay for numpy, pydantic or the engines, and `arenad --help` lists every command from the
table alone. ``tests/cli`` checks the table against what the areas register.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# Modules with a `register(subparsers)` function adding their subcommands.
AREA_CLIS: tuple[str, ...] = (
    "arenad.daemon.cli",
    "arenad.daemon.books_cli",
    "arenad.tui.cli",
    "arenad.sim.cli",
    "arenad.strategies.cli",
    "arenad.arena.cli",
    "arenad.metrics.cli",
    "arenad.fade.cli",
    "arenad.tracker.cli",
    "arenad.notify.cli",
)

# Every command: (the area module registering it, its one-line help), in `--help` order.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("arenad.daemon.cli", "run the daemon in the foreground (systemd)"),
    "demo": ("arenad.daemon.cli", "simulator + daemon (+ TUI), no keys needed"),
    "config": ("arenad.daemon.cli", "configuration tools"),
    "status": ("arenad.daemon.cli", "daemon, kill switch and connections"),
    "kill": ("arenad.daemon.cli", "engage the kill switch"),
    "resume": ("arenad.daemon.cli", "release the kill switch"),
    "ack-drift": (
        "arenad.daemon.cli",
        "acknowledge a fade account drift (books vs venue) and resume",
    ),
    "reload": ("arenad.daemon.cli", "re-read config.toml now"),
    "events": ("arenad.daemon.cli", "system events, oldest first"),
    "db": ("arenad.daemon.cli", "database maintenance"),
    "positions": (
        "arenad.daemon.books_cli",
        "open positions of every book (the running daemon, else the database)",
    ),
    "trades": (
        "arenad.daemon.books_cli",
        "closed round trips, newest first (the running daemon, else the database)",
    ),
    "tui": ("arenad.tui.cli", "attach the terminal UI to the running daemon"),
    "sim": ("arenad.sim.cli", "run the Hyperliquid and Alpaca simulator on loopback"),
    "backtest": ("arenad.strategies.cli", "backtest an allocation strategy"),
    "batch": ("arenad.strategies.cli", "sweep a strategy over variable values"),
    "backtests": ("arenad.strategies.cli", "saved backtests, for comparison"),
    "vars": ("arenad.strategies.cli", "saved variable lists for sweeps (--var NAME=@LIST)"),
    "strategies": ("arenad.strategies.cli", "active strategies in the running daemon"),
    "arena": ("arenad.arena.cli", "arena mode: AI models paper trading stocks"),
    "metrics": ("arenad.metrics.cli", "metrics of an equity curve CSV (timestamp,equity)"),
    "leaderboard": (
        "arenad.metrics.cli",
        "standings of every book (read from the database); `leaderboard snapshot` "
        "stores the rankings now",
    ),
    "audit": (
        "arenad.metrics.cli",
        "check the books' invariants on a live or stopped database (exit 1 on a failure)",
    ),
    "replay": ("arenad.fade.cli", "replay recorded bot trades through the fade engine"),
    "tracker": ("arenad.tracker.cli", "the nof1.ai Alpha Arena tracker"),
    "notify": ("arenad.notify.cli", "notifications (Telegram, ntfy, ... via apprise URLs)"),
}

DESCRIPTION = "Run LLM trading arenas and fade AI bots."


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in argv (the first word that is not an option)."""
    for a in argv:
        if a == "--":
            return None
        if not a.startswith("-"):
            return a
    return None


def build_parser(modules: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser with the subcommands of ``modules`` (default: every area)."""
    parser = argparse.ArgumentParser(prog="arenad", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in AREA_CLIS if modules is None else modules:
        importlib.import_module(name).register(sub)
    return parser


def _index_parser() -> argparse.ArgumentParser:
    """`arenad --help` (or no command / an unknown one): every command from the table, no
    area imported."""
    parser = argparse.ArgumentParser(prog="arenad", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (_, text) in COMMANDS.items():
        sub.add_parser(name, help=text, add_help=False)
    return parser


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost subparser the arguments selected (for its usage in an error)."""
    while True:
        subs = [
            a
            for a in parser._actions  # argparse keeps no public handle on its subparsers
            if isinstance(a, argparse._SubParsersAction)
        ]
        if not subs:
            return parser
        picked = getattr(args, subs[0].dest or "", None)
        nxt = subs[0].choices.get(picked) if isinstance(picked, str) else None
        if not isinstance(nxt, argparse.ArgumentParser):
            return parser
        parser = nxt


def parse(argv: Sequence[str]) -> argparse.Namespace:
    command = _command_of(argv)
    parser = build_parser([COMMANDS[command][0]]) if command in COMMANDS else _index_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the subcommand that was given, with its usage
        _chosen(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:  # argparse exits 2 on bad arguments, 0 on --help
        return int(e.code or 0)
    try:
        rc: int = args.func(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`arenad status | head -1`): no traceback; and stdout goes to
        # /dev/null so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # as a process killed by SIGPIPE
    return rc


if __name__ == "__main__":
    sys.exit(main())
