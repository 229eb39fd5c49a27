"""The `arenad` command line.

Exit codes: 0 ok, 1 runtime failure, 2 bad input or config. Each area registers its own
subcommands from ``arenad.<area>.cli`` (listed in ``AREA_CLIS``) so this file stays small.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules with a `register(subparsers)` function adding their subcommands.
AREA_CLIS: tuple[str, ...] = (
    "arenad.daemon.cli",
    "arenad.tui.cli",
    "arenad.sim.cli",
    "arenad.strategies.cli",
    "arenad.arena.cli",
    "arenad.metrics.cli",
    "arenad.fade.cli",
    "arenad.tracker.cli",
    "arenad.notify.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arenad", description="Run LLM trading arenas and fade AI bots."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in AREA_CLIS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on bad arguments, 0 on --help
        return int(e.code or 0)
    try:
        rc: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return rc


if __name__ == "__main__":
    sys.exit(main())
