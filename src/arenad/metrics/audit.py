"""Invariants of the books layer, checked on a live or stopped database (`arenad audit`,
control command ``books.audit``). Pure: each check takes an open sqlite3 connection (read
only) and returns its failures as sentences; nothing is written.

1. ``equity_points`` — every book with a fill (a round trip, a fill credited to a fade book,
   or a bot fill we fade) has at least two equity points, so it has a curve to rank.
2. ``fade_sum`` — per coin, the fade books' positions sum exactly (decimals) to the account's.
3. ``aggregates`` — at every instant of ``fade_equity_snapshots``, each aggregate equals the
   sum of its members' equity carried forward, recomputed here from equity_snapshots.
4. ``finite`` — no NaN or infinite figure in current_standings or leaderboard_snapshots (the
   columns or the ``metrics`` JSON).
5. ``flagged`` — every figure over a sample below ``[metrics] min_points``/``min_trades`` is
   named in ``insufficient`` and NULL, and every figure named there is NULL.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from arenad.metrics.board import RATIOS

TRADE_FIGURES = ("win_rate", "profit_factor", "expectancy")
STANDING_FIGURES = (
    "equity",
    "total_pnl",
    "total_return",
    "annual_return",
    "annual_volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_usd",
    "calmar",
    "win_rate",
    "avg_win",
    "avg_loss",
    "profit_factor",
    "expectancy",
    "avg_confidence",
)
SNAPSHOT_FIGURES = (
    "equity",
    "total_pnl",
    "total_return",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "win_rate",
    "profit_factor",
)
LIMIT = 50  # failures reported per check: the first ones say enough


@dataclass
class AuditReport:
    checks: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.checks.values())

    def failures(self) -> list[str]:
        return [f"{name}: {f}" for name, fs in self.checks.items() for f in fs]

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": self.checks, "failures": self.failures()}


def check_equity_points(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "WITH filled AS ("
        " SELECT DISTINCT book_id FROM trade_log"
        " UNION SELECT DISTINCT book_id FROM fade_order_books WHERE CAST(credited AS REAL) <> 0"
        " UNION SELECT DISTINCT 'bot:' || e.bot_id FROM fade_bot_events e"
        "  WHERE EXISTS (SELECT 1 FROM books f WHERE f.book_id = 'fade:' || e.bot_id))"
        " SELECT f.book_id, (SELECT count(*) FROM equity_snapshots s WHERE s.book_id = f.book_id)"
        " FROM filled f ORDER BY f.book_id"
    ).fetchall()
    return [f"{b} has fills but {n} equity point(s)" for b, n in rows if n < 2][:LIMIT]


def _dec(text: Any) -> Decimal:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return Decimal("NaN")


def check_fade_sum(db: sqlite3.Connection) -> list[str]:
    books: dict[str, Decimal] = {}
    account: dict[str, Decimal] = {}
    for book_id, coin, size in db.execute("SELECT book_id, coin, size FROM fade_positions"):
        if book_id == "account":
            account[coin] = _dec(size)
        elif str(book_id).startswith("fade:"):
            books[coin] = books.get(coin, Decimal(0)) + _dec(size)
    out = []
    for coin in sorted(set(books) | set(account)):
        total, acct = books.get(coin, Decimal(0)), account.get(coin, Decimal(0))
        if total != acct:  # NaN compares unequal, as it should
            out.append(f"{coin}: fade books sum to {total}, the account holds {acct}")
    return out[:LIMIT]


def check_aggregates(db: sqlite3.Connection) -> list[str]:
    members: dict[str, str] = {}
    kinds = dict(db.execute("SELECT book_id, kind FROM books").fetchall())
    for b, k in kinds.items():
        if k == "fade":
            members[b] = "fade"
        elif k == "bot" and kinds.get("fade:" + b[4:]) == "fade":
            members[b] = "bots"
    expected: dict[str, tuple[float | None, float | None]] = {}
    last: dict[str, float] = {}
    q = "SELECT book_id, ts, equity FROM equity_snapshots ORDER BY ts"
    rows = [r for r in db.execute(q) if r[0] in members]
    for i, (book_id, ts, eq) in enumerate(rows):
        last[book_id] = eq
        if i + 1 < len(rows) and rows[i + 1][1] == ts:
            continue  # the instant's sums once every member's point at it is in
        sums: dict[str, float | None] = {"bots": None, "fade": None}
        for b, e in last.items():
            sums[members[b]] = (sums[members[b]] or 0.0) + e
        expected[ts] = (sums["bots"], sums["fade"])
    out = []
    view = db.execute(
        "SELECT timestamp, bots_aggregate, fade_arena FROM fade_equity_snapshots ORDER BY id"
    ).fetchall()
    if len(view) != len(expected):
        out.append(
            f"fade_equity_snapshots has {len(view)} instants, the member books {len(expected)}"
        )
    for ts, bots, fade in view:
        want = expected.get(ts)
        if want is None:
            out.append(f"{ts}: an aggregate instant no member book has a point at")
            continue
        for name, got, exp in (("bots_aggregate", bots, want[0]), ("fade_arena", fade, want[1])):
            if not _close(got, exp):
                out.append(f"{ts}: {name} is {got}, its members sum to {exp}")
    return out[:LIMIT]


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _bad(x: Any) -> bool:
    return isinstance(x, float) and not math.isfinite(x)


def check_finite(db: sqlite3.Connection) -> list[str]:
    out = []
    for table, cols, key in (
        ("current_standings", STANDING_FIGURES, "book_id"),
        (
            "leaderboard_snapshots",
            SNAPSHOT_FIGURES,
            "timeframe || ' ' || snapshot_time || ' ' || book_id",
        ),
    ):
        # Column names are the constants above, never input.
        q = f"SELECT {key}, metrics, {', '.join(cols)} FROM {table}"  # noqa: S608
        for row in db.execute(q):
            for c, v in zip(cols, row[2:], strict=True):
                if _bad(v):
                    out.append(f"{table} {row[0]}: {c} is {v}")
            try:
                metrics = json.loads(row[1] or "{}")
            except ValueError:
                out.append(f"{table} {row[0]}: metrics is not JSON")
                continue
            for k, v in metrics.items() if isinstance(metrics, dict) else ():
                if _bad(v):
                    out.append(f"{table} {row[0]}: metrics.{k} is {v}")
    return out[:LIMIT]


def check_flagged(db: sqlite3.Connection, min_points: int, min_trades: int) -> list[str]:
    out = []
    cols = (*RATIOS, *TRADE_FIGURES)
    q = f"SELECT book_id, points, trades, insufficient, {', '.join(cols)} FROM current_standings"  # noqa: S608
    for row in db.execute(q):
        book_id, points, trades, raw = row[:4]
        values = dict(zip(cols, row[4:], strict=True))
        try:
            named = set(json.loads(raw or "[]"))
        except ValueError:
            out.append(f"{book_id}: insufficient is not a JSON list")
            continue
        need: list[str] = []
        if points < min_points:
            need += RATIOS
        if trades < min_trades:
            need += TRADE_FIGURES
        for name in need:
            if name not in named:
                out.append(
                    f"{book_id}: {name} rests on {points if name in RATIOS else trades} "
                    f"{'returns' if name in RATIOS else 'trades'} but is not flagged"
                )
        for name in sorted(named & set(cols)):
            if values[name] is not None:
                out.append(f"{book_id}: {name} is flagged insufficient but is {values[name]}")
    return out[:LIMIT]


def audit(db: sqlite3.Connection, *, min_points: int = 30, min_trades: int = 10) -> AuditReport:
    checks: dict[str, Callable[[], list[str]]] = {
        "equity_points": lambda: check_equity_points(db),
        "fade_sum": lambda: check_fade_sum(db),
        "aggregates": lambda: check_aggregates(db),
        "finite": lambda: check_finite(db),
        "flagged": lambda: check_flagged(db, min_points, min_trades),
    }
    report = AuditReport()
    for name, fn in checks.items():
        try:
            report.checks[name] = fn()
        except sqlite3.Error as e:
            report.checks[name] = [f"cannot check: {e}"]
    return report


def audit_path(path: Any, *, min_points: int = 30, min_trades: int = 10) -> AuditReport:
    """Audit the database at ``path``, opened read-only (safe beside a running daemon)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return audit(db, min_points=min_points, min_trades=min_trades)
    finally:
        db.close()
