"""`arenad positions` and `arenad trades`: the books' open positions and closed round trips.

Both ask the running daemon (control commands `positions` and `trades`, the very rows the TUI
shows, positions at live marks) and, when no daemon answers, read the database: positions as
last stored by the fade and arena engines (no marks: no unrealized P&L), round trips from
`trade_log`. `--socket` names the daemon, `--config` the config (for the socket and the
database). Imports stay inside the commands (see `arenad.daemon.cli`).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arenad.daemon.cli import (
    JSON_HELP,
    Sub,
    client,
    client_call,
    daemon_answers,
    load_config,
    no_database,
    positive_int,
)

if TYPE_CHECKING:
    from arenad.control.client import ControlClient

KINDS = ("bot", "fade", "arena_model", "strategy", "benchmark")


def _source(args: argparse.Namespace) -> Path | None:
    """The database to read when no daemon answers (None: reported, exit 1)."""
    loaded = load_config(args, missing_ok=True)
    if loaded is None:
        return None
    path = loaded.settings.daemon.db_path
    if not path.exists():
        print(no_database(path, args), file=sys.stderr)
        return None
    return path


def db_positions(path: Path, book_id: str | None, kind: str | None) -> list[dict[str, Any]]:
    """Open positions as the engines last stored them (fade and arena books)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    out: list[dict[str, Any]] = []
    try:
        for r in conn.execute(
            "SELECT book_id, coin, size, entry_price, opened_at FROM fade_positions"
            " WHERE book_id LIKE 'fade:%' AND CAST(size AS REAL) != 0 ORDER BY book_id, coin"
        ):
            out.append(_pos(r["book_id"], "fade", "hyperliquid", r["coin"], r))
        for r in conn.execute(
            "SELECT book_id, symbol, qty AS size, avg_price AS entry_price, opened_at"
            " FROM arena_positions ORDER BY book_id, symbol"
        ):
            out.append(_pos(r["book_id"], "arena_model", "alpaca", r["symbol"], r))
    finally:
        conn.close()
    return [
        p
        for p in out
        if (not book_id or p["book_id"] == book_id) and (not kind or p["kind"] == kind)
    ]


def _pos(book_id: str, kind: str, venue: str, symbol: str, r: sqlite3.Row) -> dict[str, Any]:
    entry = r["entry_price"]
    return {
        "book_id": book_id,
        "kind": kind,
        "venue": venue,
        "symbol": symbol,
        "size": r["size"],
        "entry_price": entry,
        "mark_price": None,
        "notional": abs(float(r["size"]) * float(entry or 0)),
        "unrealized_pnl": None,
        "opened_at": r["opened_at"],
    }


def _fmt(x: Any, spec: str = ",.2f") -> str:
    if x is None or x == "":
        return "-"
    try:
        return format(float(x), spec)
    except (TypeError, ValueError):
        return str(x)


def _show_positions(rows: list[dict[str, Any]], args: argparse.Namespace, live: bool) -> None:
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("no open positions")
        return
    print(
        f"{'book':<28} {'symbol':<8} {'size':>14} {'entry':>12} {'mark':>12} "
        f"{'notional':>12} {'uPnL':>10}  opened"
    )
    for p in rows:
        print(
            f"{p['book_id'][:28]:<28} {p['symbol']:<8} {p['size']:>14} "
            f"{_fmt(p.get('entry_price'), ',.4f'):>12} {_fmt(p.get('mark_price'), ',.4f'):>12} "
            f"{_fmt(p.get('notional')):>12} {_fmt(p.get('unrealized_pnl')):>10}  "
            f"{(p.get('opened_at') or '-')[:19]}"
        )
    if not live:
        print("(from the database: no daemon answers, so no marks and no unrealized P&L)")


def _positions(args: argparse.Namespace) -> int:
    q = {k: v for k, v in {"book_id": args.book, "kind": args.kind}.items() if v}
    if daemon_answers(args):

        async def fn(c: ControlClient) -> None:
            _show_positions(await c.request("positions", **q), args, live=True)

        return client_call(args, fn)
    path = _source(args)
    if path is None:
        return 1
    try:
        rows = db_positions(path, args.book, args.kind)
    except sqlite3.Error as e:
        print(f"arenad: cannot read {path}: {e}", file=sys.stderr)
        return 1
    _show_positions(rows, args, live=False)
    return 0


def _show_trades(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("no closed trades")
        return
    print(
        f"{'closed':<19} {'book':<28} {'symbol':<8} {'side':<5} {'size':>12} {'entry':>12} "
        f"{'exit':>12} {'P&L':>10}  reason"
    )
    for t in rows:
        print(
            f"{(t.get('closed_at') or '-')[:19]:<19} {t['book_id'][:28]:<28} {t['symbol']:<8} "
            f"{t.get('side') or '-':<5} {t.get('size') or '-':>12} "
            f"{_fmt(t.get('entry_price'), ',.4f'):>12} {_fmt(t.get('exit_price'), ',.4f'):>12} "
            f"{_fmt(t.get('pnl')):>10}  {t.get('exit_reason') or ''}"
        )


def _trades(args: argparse.Namespace) -> int:
    q = {
        k: v
        for k, v in {"book_id": args.book, "symbol": args.symbol, "limit": args.limit}.items()
        if v
    }
    if daemon_answers(args):

        async def fn(c: ControlClient) -> None:
            _show_trades(await c.request("trades", **q), args)

        return client_call(args, fn)
    path = _source(args)
    if path is None:
        return 1
    import asyncio

    from arenad.metrics.queries import round_trips
    from arenad.store.db import open_reader

    async def read() -> list[dict[str, Any]]:
        async with open_reader(path) as conn:
            return await round_trips(conn, args.book, args.symbol, args.limit)

    try:
        rows = asyncio.run(read())
    except sqlite3.Error as e:
        print(f"arenad: cannot read {path}: {e}", file=sys.stderr)
        return 1
    _show_trades(rows, args)
    return 0


def register(sub: Sub) -> None:
    p = client(
        sub.add_parser(
            "positions",
            help="open positions of every book (the running daemon, else the database)",
            description="Open positions of every book, at live marks from the running daemon; "
            "with no daemon answering, as last stored in the database.",
        )
    )
    p.add_argument("--book", metavar="BOOK_ID", help="only this book (fade:ID, arena:ID, ...)")
    p.add_argument("--kind", choices=KINDS, help="only books of this kind")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=_positions)
    t = client(
        sub.add_parser(
            "trades",
            help="closed round trips, newest first (the running daemon, else the database)",
            description="Closed round trips of every book, newest first (trade_log).",
        )
    )
    t.add_argument("--book", metavar="BOOK_ID", help="only this book (fade:ID, arena:ID, ...)")
    t.add_argument("--symbol", metavar="SYMBOL", help="only this symbol (exact: BTC, AAPL)")
    t.add_argument(
        "--limit", type=positive_int(10_000), default=50, metavar="N", help="most trades (50)"
    )
    t.add_argument("--json", action="store_true", help=JSON_HELP)
    t.set_defaults(func=_trades)
