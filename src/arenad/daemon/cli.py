"""Daemon-side subcommands: run, demo, config check, status/kill/resume, db maintenance."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from arenad.config.loader import load_settings
from arenad.errors import ConfigError


def _config_check(args: argparse.Namespace) -> int:
    try:
        loaded = load_settings(Path(args.path) if args.path else None)
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 2
    print(f"{loaded.path}: ok")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = sub.add_parser("config", help="configuration tools")
    csub = config.add_subparsers(dest="config_command", metavar="ACTION")
    csub.required = True
    check = csub.add_parser("check", help="validate a config file (exit 0, or 2 with problems)")
    check.add_argument("path", nargs="?", help="config file (default: $ARENAD_CONFIG or ./config.toml)")
    check.set_defaults(func=_config_check)
