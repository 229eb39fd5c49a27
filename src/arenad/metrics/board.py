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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from arenad.metrics import significance as sig
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
    # --- significance, cost, calibration, fadeability, crowding (issue 15) ----------------
    # Ratios above are annualized; psr/dsr rest on the same per-period returns as ``sharpe``
    # and ``sharpe_ci`` is on its (annualized) scale. A None figure is named in
    # ``significance_flags`` with the reason (arenad.metrics.significance).
    psr: float | None = None
    psr_vs_benchmark: float | None = None
    dsr: float | None = None
    dsr_trials: int = 0
    min_track_record_length: float | None = None
    sharpe_ci: list[float] | None = None
    return_ci: list[float] | None = None
    alpha: float | None = None
    alpha_ci: list[float] | None = None
    beta: float | None = None
    beta_ci: list[float] | None = None
    benchmark: str | None = None
    verdict: str = "insufficient"
    significance_flags: dict[str, str] = field(default_factory=dict)
    behaviour: dict[str, Any] | None = None
    """Arena books: LLM cost and behaviour (arenad.metrics.behaviour.ModelBehaviour)."""
    calibration: dict[str, Any] | None = None
    """Arena books: Brier score and reliability table of stated confidence."""
    fadeability: dict[str, Any] | None = None
    """Fade books: what fading the bot earned, net of costs, and whether it is luck."""
    crowding: float | None = None
    """Mean share of this book's open (symbol, side) positions the other books also hold."""

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
    return _book_standing(book, timeframe, now, risk_free, min_points, min_trades)[0]


@dataclass(slots=True)
class WindowReturns:
    """The per-period returns the ratios of one standing rest on, by the instant each
    period ends (and starts), for the significance figures and benchmark alignment."""

    start: FloatArray
    end: FloatArray
    r: FloatArray


_NO_RETURNS = WindowReturns(np.empty(0), np.empty(0), np.empty(0))


def _book_standing(
    book: BookData,
    timeframe: str,
    now: float,
    risk_free: float,
    min_points: int,
    min_trades: int,
) -> tuple[Standing, WindowReturns]:
    info = book.info
    wr = _NO_RETURNS
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
        if len(ge) > 1:
            wr = WindowReturns(gt[:-1], gt[1:], ge[1:] / ge[:-1] - 1.0)
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
    return s, wr


RANK_BY = {"return": "total_return", "sharpe": "sharpe", "psr": "psr", "dsr": "dsr"}
"""``--rank-by`` → the Standing figure ranked on (highest first). The stored rankings are
always by return (the seed's rule)."""


def rank(
    standings: list[Standing],
    previous: Mapping[str, int] | None = None,
    rank_by: str = "return",
) -> list[Standing]:
    """Rank by total return, or by ``rank_by`` (ties share a rank); books without the figure
    are unranked and listed last. ``previous`` maps book id → its rank in the last stored
    snapshot of the timeframe, for ``rank_change``."""
    if rank_by not in RANK_BY:
        raise ValueError(f"rank_by must be one of {', '.join(RANK_BY)}, not {rank_by!r}")
    key = RANK_BY[rank_by]

    def val(s: Standing) -> float | None:
        v = getattr(s, key)
        return v if isinstance(v, float | int) and math.isfinite(v) else None

    ranked = [s for s in standings if val(s) is not None]
    rest = [s for s in standings if val(s) is None]
    ranked.sort(key=lambda s: (-(val(s) or 0.0), s.book_id))
    last_ret: float | None = None
    last_rank = 0
    for i, s in enumerate(ranked, start=1):
        if val(s) != last_ret:
            last_rank, last_ret = i, val(s)
        s.rank = last_rank
    rest.sort(key=lambda s: s.book_id)
    for s in rest:
        s.rank = None
        s.rank_change = None  # unranked: no move to report (a re-ranked copy keeps none)
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
    rank_by: str = "return",
    significance: SignificanceOptions | None = None,
) -> list[Standing]:
    """The board of ``timeframe``: every book's standing with its significance figures
    (``significance=None``: defaults; ``SignificanceOptions(enabled=False)`` skips them)."""
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"timeframe must be one of {', '.join(TIMEFRAMES)}, not {timeframe!r}")
    chosen = [b for b in books if kind is None or b.info.kind == kind]
    pairs = [_book_standing(b, timeframe, now, risk_free, min_points, min_trades) for b in chosen]
    opts = significance or SignificanceOptions()
    if opts.enabled:
        add_significance(
            [b.info for b in chosen], pairs, opts, min_points=min_points, risk_free=risk_free
        )
    return rank([p[0] for p in pairs], previous, rank_by)


@dataclass
class SignificanceOptions:
    enabled: bool = True
    reps: int = sig.DEFAULT_REPS
    seed: int = sig.DEFAULT_SEED
    cache: dict[tuple[bytes, int, int, float], sig.Intervals] | None = None
    """Intervals by (returns, reps, seed, rf): a recompute re-bootstraps only the books whose
    returns changed (the daemon's Recomputer keeps one)."""


def _benchmark_for(info: BookInfo, benchmarks: list[BookInfo]) -> BookInfo | None:
    """The buy-and-hold book a book is measured against: a benchmark on its venue (the first
    by id), else none. A benchmark book has none."""
    if info.kind == "benchmark":
        return None
    same = [b for b in benchmarks if b.venue and b.venue == info.venue]
    return min(same, key=lambda b: b.book_id) if same else None


def _aligned(a: WindowReturns, b: WindowReturns) -> tuple[FloatArray, FloatArray]:
    """The returns of ``a`` and ``b`` over the periods both have (same start and end)."""
    _, ia, ib = np.intersect1d(a.end, b.end, assume_unique=True, return_indices=True)
    keep = a.start[ia] == b.start[ib]
    return a.r[ia[keep]], b.r[ib[keep]]


def _interval_key(
    r: FloatArray, opts: SignificanceOptions, rf: float
) -> tuple[bytes, int, int, float]:
    return (r.tobytes(), opts.reps, opts.seed, rf)


def _all_intervals(
    returns: Sequence[FloatArray], opts: SignificanceOptions, rf: float
) -> list[sig.Intervals]:
    """Every series' intervals: cached ones reused, the others bootstrapped with their block
    lengths estimated in one arch call per length."""
    cache = opts.cache if opts.cache is not None else {}
    if len(cache) > 4096:
        cache.clear()
    keys = [_interval_key(r, opts, rf) for r in returns]
    todo = [i for i, k in enumerate(keys) if k not in cache]
    ok = [i for i in todo if len(returns[i]) >= 3 and np.all(np.isfinite(returns[i]))]
    blocks = sig.optimal_blocks([returns[i] for i in ok])
    block_of = dict(zip(ok, blocks, strict=True))
    for i in todo:
        cache[keys[i]] = sig.intervals(
            returns[i], reps=opts.reps, seed=opts.seed, rf=rf, block=block_of.get(i, 1.0)
        )
    return [cache[k] for k in keys]


def _const(iv: sig.Intervals) -> Callable[[FloatArray], sig.Intervals]:
    return lambda _r: iv


def add_significance(
    infos: Sequence[BookInfo],
    pairs: Sequence[tuple[Standing, WindowReturns]],
    opts: SignificanceOptions,
    *,
    min_points: int,
    risk_free: float = 0.0,
) -> None:
    """PSR, DSR (N = the books of the same kind with a Sharpe in this window, V[SR] their
    variance), minimum track record, intervals, alpha/beta and verdict of every standing."""
    if not pairs:
        return
    ppy = pairs[0][0].periods_per_year or 0.0
    rf = (1.0 + risk_free) ** (1.0 / ppy) - 1.0 if ppy and risk_free else 0.0
    by_id = {i.book_id: k for k, i in enumerate(infos)}
    benchmarks = [i for i in infos if i.kind == "benchmark"]
    # Per-period moments of each book with enough returns; N and V[SR] per kind.
    mom = [sig.moments(wr.r - rf) if len(wr.r) >= min_points else None for _, wr in pairs]
    per_sr: dict[str, list[float | None]] = {}
    for info, m in zip(infos, mom, strict=True):
        per_sr.setdefault(info.kind, []).append(None if m is None else m.sr)
    cross = {k: sig.cross_section(v) for k, v in per_sr.items()}
    need = [k for k, m in enumerate(mom) if m is not None]
    ivs = dict(zip(need, _all_intervals([pairs[k][1].r for k in need], opts, rf), strict=True))
    for k, (info, (s, wr)) in enumerate(zip(infos, pairs, strict=True)):
        n_trials, var_sr = cross[info.kind]
        iv = ivs.get(k)
        res = sig.significance(
            wr.r,
            rf=rf,
            n_trials=max(n_trials, 1),
            var_sr=var_sr,
            min_points=min_points,
            intervals_fn=_const(iv) if iv is not None else None,
            m=mom[k],
        )
        bench = _benchmark_for(info, benchmarks)
        if info.kind == "benchmark":
            why: str | None = "is_benchmark"
        elif bench is None or bench.book_id not in by_id:
            why = "no_benchmark"
        else:
            bwr = pairs[by_id[bench.book_id]][1]
            mine, theirs = _aligned(wr, bwr)
            full = len(mine) == len(wr.r) and len(theirs) == len(bwr.r)
            vs = sig.vs_benchmark(
                mine - rf,
                theirs - rf,
                min_points,
                m=mom[k] if full else None,
                b=mom[by_id[bench.book_id]] if full else None,
            )
            res.benchmark = bench.book_id
            res.psr_vs_benchmark, res.alpha, res.alpha_ci = vs.psr, vs.alpha, vs.alpha_ci
            res.beta, res.beta_ci = vs.beta, vs.beta_ci
            why = vs.why
        for key in ("psr_vs_benchmark", "alpha", "beta"):
            if getattr(res, key) is None:
                res.flags[key] = why or "undefined"
        scale = math.sqrt(ppy) if ppy else 1.0
        s.psr, s.dsr, s.dsr_trials = res.psr, res.dsr, res.dsr_trials
        s.psr_vs_benchmark = res.psr_vs_benchmark
        s.min_track_record_length = res.min_track_record_length
        s.sharpe_ci = [x * scale for x in res.sharpe_ci] if res.sharpe_ci else None
        s.return_ci = res.return_ci
        s.alpha, s.alpha_ci, s.beta, s.beta_ci = res.alpha, res.alpha_ci, res.beta, res.beta_ci
        s.benchmark = res.benchmark
        s.verdict = res.verdict
        s.significance_flags = dict(res.flags)


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
