"""`arenad tui [--config PATH]`: attach the TUI to the daemon named by the config's socket.

The TUI starts even when no daemon is running yet: it shows the connection banner and attaches
as soon as the socket answers (so it can be started before, or left open across, a restart).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _tui(args: argparse.Namespace) -> int:
    # The lenient lookup: the TUI (and its kill switch) must open even while config.toml is
    # broken mid-edit.
    from arenad.daemon.cli import socket_path

    return run_tui(socket_path(args), exit_after_s=args.exit_after)


def run_tui(socket_path: Path, *, exit_after_s: float | None = None) -> int:
    from arenad.control.client import ControlClient
    from arenad.tui.app import create_app

    app = create_app(lambda: ControlClient(socket_path), exit_after_s=exit_after_s)
    rc = app.run()
    return rc or 0


def register(sub: Sub) -> None:
    p = sub.add_parser("tui", help="attach the terminal UI to the running daemon")
    p.add_argument(
        "--config", metavar="PATH", help="config file (default: $ARENAD_CONFIG or ./config.toml)"
    )
    p.add_argument(
        "--socket",
        metavar="PATH",
        help="control socket (default: daemon.socket_path of the config)",
    )
    p.add_argument("--exit-after", type=float, metavar="S", help=argparse.SUPPRESS)
    p.set_defaults(func=_tui)
