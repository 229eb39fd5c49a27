"""`arenad arena runs`: the stored arena runs, read straight from the database (no daemon
needed; the daemon's WAL lets this read while it writes), with the next scheduled run when a
daemon answers. `arena run-now` asks the daemon. Imports stay inside the commands (see
`arenad.daemon.cli`)."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from typing import TYPE_CHECKING, Any, TypeAlias

from arenad.daemon.cli import JSON_HELP, client

if TYPE_CHECKING:
    from arenad.control.client import ControlClient

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _limit(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= n <= 10_000:
        raise argparse.ArgumentTypeError(f"{n} is outside 1..10000")
    return n


def register(sub: Sub) -> None:
    arena = sub.add_parser("arena", help="arena mode: AI models paper trading stocks")
    asub = arena.add_subparsers(dest="arena_command", metavar="COMMAND")
    asub.required = True
    runs = asub.add_parser(
        "runs",
        help="list arena runs, newest first",
        description="List arena runs (from the database), newest first.",
    )
    client(runs)
    runs.add_argument("--json", action="store_true", help=JSON_HELP)
    runs.add_argument("--limit", type=_limit, default=20, metavar="N", help="most runs (20)")
    runs.set_defaults(func=_runs)
    now = asub.add_parser(
        "run-now",
        help="ask the running daemon to start an arena run",
        description="Start an arena run now (through the control socket); "
        "prints the run id without waiting for the run.",
    )
    client(now)
    now.add_argument("--json", action="store_true", help=JSON_HELP)
    now.set_defaults(func=_run_now)


def _run_now(args: argparse.Namespace) -> int:
    from arenad.daemon.cli import client_call

    async def call(client: ControlClient) -> None:
        result = await client.request("arena.run_now")
        if args.json:
            print(json.dumps(result))
        else:
            print(f"arena run {result['run_id']} started (slot {result['slot']})")

    return client_call(args, call)


def _schedule(args: argparse.Namespace) -> dict[str, Any] | None:
    """The running daemon's arena schedule (`arena.schedule`), or None with no daemon."""
    import asyncio

    from arenad.control.client import ControlError, DaemonNotRunning
    from arenad.daemon.cli import _call, socket_path

    async def fn(c: ControlClient) -> Any:
        return await c.request("arena.schedule")

    try:
        out = asyncio.run(_call(socket_path(args), fn))
    except (DaemonNotRunning, ControlError):
        return None
    return out if isinstance(out, dict) else None


def _runs(args: argparse.Namespace) -> int:
    from arenad.arena.store import list_runs
    from arenad.daemon.cli import load_config, no_database

    loaded = load_config(args, missing_ok=True)
    if loaded is None:
        return 2
    path = loaded.settings.daemon.db_path
    if not path.exists():
        print(no_database(path, args), file=sys.stderr)
        return 1
    try:
        rows = list_runs(path, args.limit)
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            print(
                f"arenad: {path} has no arena tables yet; start the daemon once to create them",
                file=sys.stderr,
            )
            return 1
        print(f"arenad: cannot read {path}: {e}", file=sys.stderr)
        return 1
    if args.json:  # a list of stored runs (the next slot: `status --json` → arena)
        print(json.dumps([r.wire() for r in rows], indent=2))
        return 0
    sched = _schedule(args)
    if sched is not None:
        print(
            f"next run: {sched.get('next_run_at') or 'none scheduled'}"
            + (f" ({sched['next_slot']})" if sched.get("next_slot") else "")
            + ("" if sched.get("enabled", True) else "  (arena disabled)")
        )
    if not rows:
        print("no arena runs yet")
        return 0
    print(
        f"{'run':<20} {'slot':<28} {'status':<10} {'started':<20} {'completed':<20} "
        f"{'models':>6} {'trades':>6} {'errors':>6} {'total P&L':>11}  top"
    )
    for r in rows:
        pnl = "" if r.total_pnl is None else f"{r.total_pnl:,.2f}"
        print(
            f"{r.run_id:<20} {r.slot_key:<28} {r.status:<10} {r.started_at[:19]:<20} "
            f"{(r.completed_at or '')[:19]:<20} {len(r.models_executed):>6} "
            f"{r.trades_generated:>6} {len(r.errors):>6} {pnl:>11}  {r.top_performer or ''}"
        )
    return 0
