"""The leaderboard of every book: standings per timeframe and period summaries (pure numpy).

Each book is held as arrays — its equity curve (epoch seconds, equity) and its round trips —
so a recompute of a hundred books over a year of hourly points is a few numpy passes, not a
million Python objects. The store (``arenad.metrics.store``) loads and refreshes the arrays;
this module only computes.

Ranking: books are ranked by total return over the timeframe's window, highest first. Equal
returns share a rank (standard competition ranking: 1, 1, 3), shown in book-id order. A book
with fewer than two equity points in the window has no return and is not ranked (``rank`` is
None, listed last). The return itself is always defined by two points, so every book with a
curve is ranked.

Ratios (annual return and volatility, Sharpe, Sortino, Calmar) are computed on returns at the
timeframe's natural period, not on whatever the engines sampled: the curve is resampled to the
close of each hour for the daily window and of each UTC day for the weekly, monthly and
all-time windows (a period without a point carries the last equity forward), and annualized by
that period (8,766 hours or 365.25 days a year: books trade every day). Minute-sampled returns
over a few minutes annualized to a Sharpe of 700 are exactly what this prevents. ``points`` is
the number of those returns. A figure resting on fewer returns (or round trips) than
``[metrics]`` requires is None and named in ``insufficient``: it is never shown or stored as a
number, and never ranked on. Max drawdown is measured on every stored point.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from arenad.metrics.curve import SECONDS_PER_YEAR, curve_metrics_epoch

FloatArray = npt.NDArray[np.float64]
TIMEFRAMES = ("daily", "weekly", "monthly", "all_time")
WINDOW_S = {"daily": 86_400.0, "weekly": 7 * 86_400.0, "monthly": 30 * 86_400.0}
PERIODS = ("daily", "weekly", "monthly")
RETURN_PERIOD_S = {"daily": 3600.0, "weekly": 86_400.0, "monthly": 86_400.0, "all_time": 86_400.0}
"""The natural period of each timeframe's returns (ratios rest on these)."""
RATIOS = ("annual_return", "annual_volatility", "sharpe", "sortino", "calmar")
CURVE_FIGURES = ("total_return", *RATIOS[:4], "max_drawdown", "calmar")


def resample(t: FloatArray, eq: FloatArray, period_s: float) -> tuple[FloatArray, FloatArray]:
    """The curve at the close of each period from its first point's period to its last's
    (a period without a point carries the last equity forward), preceded by the first point
    when that is not already its period's close. Times are the periods' ends."""
    if len(t) < 2:
        return t, eq
    keys = np.floor(t / period_s).astype(np.int64)
    close = np.append(np.nonzero(keys[1:] != keys[:-1])[0], len(keys) - 1)
    ck, ce = keys[close], eq[close]
    full = np.arange(ck[0], ck[-1] + 1, dtype=np.int64)
    pos = np.searchsorted(ck, full, side="right") - 1
    gt, ge = (full + 1).astype(np.float64) * period_s, ce[pos]
    if close[0] != 0:
        gt, ge = np.concatenate([[t[0]], gt]), np.concatenate([[eq[0]], ge])
    return gt, ge


@dataclass(slots=True)
class BookInfo:
    book_id: str
    kind: str
    name: str
    provider: str | None = None
    venue: str | None = None
    initial_capital: float | None = None
    season: str | None = None
    active: bool = True


@dataclass(slots=True)
class BookData:
    """One book's curve and round trips, each sorted by time."""

    info: BookInfo
    t: FloatArray = field(default_factory=lambda: np.empty(0))
    equity: FloatArray = field(default_factory=lambda: np.empty(0))
    entry_t: FloatArray = field(default_factory=lambda: np.empty(0))
    exit_t: FloatArray = field(default_factory=lambda: np.empty(0))
    pnl: FloatArray = field(default_factory=lambda: np.empty(0))
    symbols: list[str] = field(default_factory=list)
    timeframes: list[str | None] = field(default_factory=list)
    decisions: int = 0
    hold_decisions: int = 0
    confidence_sum: float = 0.0
    confidence_n: int = 0

    def add_points(self, t: Sequence[float], equity: Sequence[float]) -> None:
        """Merge points (any order); a point at an existing instant replaces it."""
        if not len(t):
            return
        nt = np.concatenate([self.t, np.asarray(t, np.float64)])
        ne = np.concatenate([self.equity, np.asarray(equity, np.float64)])
        # Keep the last written value at each instant.
        order = np.argsort(nt, kind="stable")
        nt, ne = nt[order], ne[order]
        keep = np.ones(len(nt), bool)
        keep[:-1] = nt[1:] != nt[:-1]
        self.t, self.equity = nt[keep], ne[keep]

    def add_trades(
        self,
        entry_t: Sequence[float],
        exit_t: Sequence[float],
        pnl: Sequence[float],
        symbols: Sequence[str],
        timeframes: Sequence[str | None],
    ) -> None:
        if not len(exit_t):
            return
        et = np.concatenate([self.exit_t, np.asarray(exit_t, np.float64)])
        order = np.argsort(et, kind="stable")
        self.exit_t = et[order]
        self.entry_t = np.concatenate([self.entry_t, np.asarray(entry_t, np.float64)])[order]
        self.pnl = np.concatenate([self.pnl, np.asarray(pnl, np.float64)])[order]
        syms = [*self.symbols, *symbols]
        tfs = [*self.timeframes, *timeframes]
        self.symbols = [syms[i] for i in order]
        self.timeframes = [tfs[i] for i in order]


@dataclass(slots=True)
class Standing:
    book_id: str
    kind: str
    name: str
    timeframe: str
    rank: int | None = None
    rank_change: int | None = None
    equity: float | None = None
    initial_capital: float | None = None
    total_pnl: float | None = None
    total_return: float | None = None
    annual_return: float | None = None
    annual_volatility: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    max_drawdown: float | None = None
    max_drawdown_usd: float | None = None
    max_drawdown_start: str | None = None
    max_drawdown_duration_s: float | None = None
    calmar: float | None = None
    points: int = 0
    periods_per_year: float | None = None
    trades: int = 0
    winning_trades: int = 0
    losing_trades: int = 0
    win_rate: float | None = None
    avg_win: float | None = None
    avg_loss: float | None = None
    profit_factor: float | None = None
    expectancy: float | None = None
    largest_win: float | None = None
    largest_loss: float | None = None
    avg_holding_s: float | None = None
    decisions: int = 0
    hold_decisions: int = 0
    avg_confidence: float | None = None
    best_timeframe: str | None = None
    best_symbol: str | None = None
    insufficient: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fin(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _best(keys: Iterable[str | None], pnl: FloatArray) -> str | None:
    """The key with the highest total P&L (ties: alphabetical), ignoring missing keys."""
    totals: dict[str, float] = {}
    for k, p in zip(keys, pnl.tolist(), strict=True):
        if k:
            totals[k] = totals.get(k, 0.0) + p
    if not totals:
        return None
    return min(totals, key=lambda k: (-totals[k], k))


def book_standing(
    book: BookData,
    timeframe: str,
    now: float,
    *,
    risk_free: float = 0.0,
    min_points: int = 30,
    min_trades: int = 10,
) -> Standing:
    """One book's figures over ``timeframe``'s window ending at ``now`` (epoch seconds).

    The window's curve starts at the last point at or before the window's start, so a day's
    return is measured from the equity the day began with."""
    info = book.info
    s = Standing(
        info.book_id, info.kind, info.name, timeframe, initial_capital=info.initial_capital
    )
    start = now - WINDOW_S[timeframe] if timeframe in WINDOW_S else -math.inf
    t, eq = book.t, book.equity
    hi = int(np.searchsorted(t, now, side="right"))
    lo = max(int(np.searchsorted(t, start, side="right")) - 1, 0) if start > -math.inf else 0
    t, eq = t[lo:hi], eq[lo:hi]
    insufficient: list[str] = []
    if len(eq):
        s.equity = float(eq[-1])
        m = curve_metrics_epoch(t, eq)
        period = RETURN_PERIOD_S[timeframe]
        ppy = SECONDS_PER_YEAR / period
        gt, ge = resample(t, eq, period)
        r = curve_metrics_epoch(
            gt, ge, periods_per_year_override=ppy, risk_free=risk_free, min_points=min_points
        )
        s.points = r.periods
        s.periods_per_year = ppy
        s.total_return = m.total_return
        s.total_pnl = float(eq[-1] - eq[0]) if len(eq) > 1 else None
        s.annual_return, s.annual_volatility = r.annual_return, r.annual_volatility
        s.sharpe, s.sortino = r.sharpe, r.sortino
        s.max_drawdown, s.max_drawdown_usd = m.max_drawdown, m.max_drawdown_usd
        s.max_drawdown_start, s.max_drawdown_duration_s = (
            m.max_drawdown_start,
            m.max_drawdown_duration_s,
        )
        if r.annual_return is not None and m.max_drawdown is not None and m.max_drawdown < 0:
            s.calmar = _fin(r.annual_return / -m.max_drawdown)
        if "all" in m.insufficient:
            insufficient += list(CURVE_FIGURES)
        elif "all" in r.insufficient or r.periods < min_points:
            insufficient += list(RATIOS)
    else:
        insufficient += list(CURVE_FIGURES)
    # Round trips closed inside the window.
    a = int(np.searchsorted(book.exit_t, start, side="right")) if start > -math.inf else 0
    b = int(np.searchsorted(book.exit_t, now, side="right"))
    pnl = book.pnl[a:b]
    n = len(pnl)
    s.trades = n
    if n:
        wins, losses = pnl[pnl > 0], pnl[pnl < 0]
        gross_win, gross_loss = float(wins.sum()), float(-losses.sum())
        s.winning_trades, s.losing_trades = len(wins), len(losses)
        s.win_rate = len(wins) / n
        s.avg_win = float(wins.mean()) if len(wins) else None
        s.avg_loss = float(losses.mean()) if len(losses) else None
        s.profit_factor = gross_win / gross_loss if gross_loss > 0 else None
        s.expectancy = float(pnl.mean())
        s.largest_win = float(wins.max()) if len(wins) else None
        s.largest_loss = float(losses.min()) if len(losses) else None
        s.avg_holding_s = float((book.exit_t[a:b] - book.entry_t[a:b]).mean())
        s.best_symbol = _best(book.symbols[a:b], pnl)
        s.best_timeframe = _best(book.timeframes[a:b], pnl)
    if n < min_trades:
        insufficient += ["win_rate", "profit_factor", "expectancy"]
    s.decisions, s.hold_decisions = book.decisions, book.hold_decisions
    if book.confidence_n:
        s.avg_confidence = book.confidence_sum / book.confidence_n
    s.insufficient = list(dict.fromkeys(insufficient))
    # A figure on too small a sample is not a number anywhere: None, and named.
    for name in s.insufficient:
        setattr(s, name, None)
    return s


def rank(standings: list[Standing], previous: Mapping[str, int] | None = None) -> list[Standing]:
    """Rank by total return (ties share a rank); unranked books last. ``previous`` maps book
    id → its rank in the last stored snapshot of the timeframe, for ``rank_change``."""
    ranked = [s for s in standings if s.total_return is not None]
    rest = [s for s in standings if s.total_return is None]
    ranked.sort(key=lambda s: (-(s.total_return or 0.0), s.book_id))
    last_ret: float | None = None
    last_rank = 0
    for i, s in enumerate(ranked, start=1):
        if s.total_return != last_ret:
            last_rank, last_ret = i, s.total_return
        s.rank = last_rank
    rest.sort(key=lambda s: s.book_id)
    for s in rest:
        s.rank = None
    prev = previous or {}
    for s in ranked:
        p = prev.get(s.book_id)
        s.rank_change = p - s.rank if p is not None and s.rank is not None else None
    return ranked + rest


def leaderboard(
    books: Iterable[BookData],
    timeframe: str,
    now: float,
    *,
    kind: str | None = None,
    previous: Mapping[str, int] | None = None,
    risk_free: float = 0.0,
    min_points: int = 30,
    min_trades: int = 10,
) -> list[Standing]:
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"timeframe must be one of {', '.join(TIMEFRAMES)}, not {timeframe!r}")
    rows = [
        book_standing(
            b, timeframe, now, risk_free=risk_free, min_points=min_points, min_trades=min_trades
        )
        for b in books
        if kind is None or b.info.kind == kind
    ]
    return rank(rows, previous)


# --- period summaries ---------------------------------------------------------------------


@dataclass(slots=True)
class PeriodSummary:
    book_id: str
    period: str
    period_start: str
    opening_equity: float
    closing_equity: float
    high_equity: float
    low_equity: float
    pnl: float
    return_pct: float
    trades_opened: int
    trades_closed: int
    winning_trades: int
    win_rate: float | None
    volatility: float | None
    max_drawdown: float | None
    points: int


def _period_keys(t: FloatArray, period: str) -> npt.NDArray[np.int64]:
    days = np.floor(t / 86_400.0).astype(np.int64)
    if period == "daily":
        return days
    if period == "weekly":
        return (days + 3) // 7  # epoch day 0 was a Thursday: weeks start on Monday
    months = t.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    return months


def _period_start(key: int, period: str) -> str:
    if period == "daily":
        day = key
    elif period == "weekly":
        day = key * 7 - 3
    else:
        return str(np.datetime64(int(key), "M")) + "-01"
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")


def period_summaries(
    book: BookData, period: str, since: float | None = None
) -> list[PeriodSummary]:
    """Summaries of each period the book has equity in; with ``since``, only the periods
    from the one holding ``since`` on (the incremental case)."""
    t, eq = book.t, book.equity
    if not len(t):
        return []
    keys = _period_keys(t, period)
    uniq, first = np.unique(keys, return_index=True)
    last = np.append(first[1:], len(t)) - 1
    highs = np.maximum.reduceat(eq, first)
    lows = np.minimum.reduceat(eq, first)
    ekeys = _period_keys(book.entry_t, period) if len(book.entry_t) else np.empty(0, np.int64)
    xkeys = _period_keys(book.exit_t, period) if len(book.exit_t) else np.empty(0, np.int64)
    from_key = int(_period_keys(np.asarray([since]), period)[0]) if since is not None else None
    out: list[PeriodSummary] = []
    for i, k in enumerate(uniq.tolist()):
        if from_key is not None and k < from_key:
            continue
        f, la = int(first[i]), int(last[i])
        base = float(eq[last[i - 1]]) if i > 0 else float(eq[f])
        seg = eq[(int(last[i - 1]) if i > 0 else f) : la + 1]
        r = seg[1:] / seg[:-1] - 1.0 if len(seg) > 1 else np.empty(0)
        vol = _fin(float(np.std(r, ddof=1))) if len(r) > 1 else None
        peaks = np.maximum.accumulate(seg)
        mdd = float(min((seg / peaks - 1.0).min(), 0.0)) if len(seg) else None
        closing = float(eq[la])
        closed = xkeys == k
        wins = int((book.pnl[closed] > 0).sum()) if len(xkeys) else 0
        n_closed = int(closed.sum()) if len(xkeys) else 0
        out.append(
            PeriodSummary(
                book_id=book.info.book_id,
                period=period,
                period_start=_period_start(k, period),
                opening_equity=float(eq[f]),
                closing_equity=closing,
                high_equity=float(highs[i]),
                low_equity=float(lows[i]),
                pnl=closing - base,
                return_pct=(closing / base - 1.0) * 100.0,
                trades_opened=int((ekeys == k).sum()) if len(ekeys) else 0,
                trades_closed=n_closed,
                winning_trades=wins,
                win_rate=wins / n_closed if n_closed else None,
                volatility=vol,
                max_drawdown=mdd,
                points=la - f + 1,
            )
        )
    return out
