"""The backtest engine: an allocation tree over daily closes → equity curve, trades, metrics.

Pure numpy, no I/O. Two choices shape it:

- **Weights for every rebalance date at once.** Each node of the tree evaluates, in one
  pass, to its weights at every rebalance (a vector when they never change, an
  R rebalances × N symbols matrix when they do); ``select_top`` and ``inverse_volatility``
  rank children with trailing-window statistics from running sums, not per-date Python
  loops. The simulation is then one cumulative product over rebalances (:func:`simulate`).
- **Signals and trades at the same close.** A rebalance on day t sees closes up to and
  including t and trades at t's close — the model of an order placed minutes before the close
  (the seed's ``rebalance_time`` 15:45). Nothing later than t is ever read for t's weights.

A child's trailing statistics are those of the child *as it is weighted on that rebalance
date*, held at constant weights over the window (for a ticker: just its own returns). That
makes ``select_top`` over groups well defined without a second simulation.

Products go through ``np.einsum`` (its own single-threaded loops) rather than ``@`` (BLAS):
BLAS threads in each sweep worker fought each other on a 2-core machine (2 workers scaled
1.05x with BLAS, 1.6x without; BENCHMARKS.md), and results no longer depend on which BLAS a
machine has.

Fees and slippage are charged on traded value, in basis points; the trade is sized from the
equity after the charge (one-step approximation of the exact fixed point, off by c² of
turnover). With zero costs no value is created or lost at a rebalance — tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from arenad.strategies import perf
from arenad.strategies.definition import (
    Equal,
    GroupNode,
    InverseVolatility,
    Root,
    SelectTopNode,
    Specified,
    TickerNode,
    effective_weighting,
)
from arenad.strategies.prices import PriceError, PriceTable

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Rebalance = Literal["daily", "weekly", "monthly"]

_VOL_FLOOR = 1e-12  # a flat series gets a huge, finite inverse-volatility weight
_CHUNK = 256  # rebalance dates per einsum block when a child's weights vary by date


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    start: date | None = None
    end: date | None = None
    rebalance: Rebalance = "monthly"
    initial_capital: float = 100_000.0
    fee_bps: float = 0.0
    slippage_bps: float = 0.0
    benchmark: str | None = None

    def __post_init__(self) -> None:
        if not (self.initial_capital > 0 and np.isfinite(self.initial_capital)):
            raise ValueError("initial capital must be a positive number")
        for name in ("fee_bps", "slippage_bps"):
            v = getattr(self, name)
            if not (0 <= v <= 1_000):
                raise ValueError(f"{name} must be between 0 and 1000")
        if self.start and self.end and self.start > self.end:
            raise ValueError("start is after end")


@dataclass(frozen=True, slots=True)
class Span:
    """Rows of the price table a backtest uses: history from ``history``, trading
    from ``first`` through ``last`` (inclusive)."""

    history: int
    first: int
    last: int


@dataclass(slots=True)
class BacktestResult:
    dates: npt.NDArray[np.datetime64]
    equity: FloatArray
    symbols: tuple[str, ...]
    rebalance_dates: npt.NDArray[np.datetime64]
    weights: FloatArray
    """Target weights after each rebalance, (rebalances × symbols); rows sum to 1."""
    trades: int
    """Orders a rebalance would place: (rebalance, symbol) pairs whose holding changed."""
    turnover: float
    """One-sided turnover summed over rebalances after the first (1.0 = the whole book
    replaced once)."""
    traded_value: float
    costs_paid: float
    metrics: dict[str, float | None]
    benchmark: str | None = None
    benchmark_equity: FloatArray | None = None

    @property
    def start(self) -> str:
        return str(self.dates[0])

    @property
    def end(self) -> str:
        return str(self.dates[-1])

    def equity_curve(self) -> list[dict[str, Any]]:
        """Seed shape: ``[{"date": "2020-01-01", "value": 100000}, ...]``."""
        return [
            {"date": str(d), "value": round(float(v), 6)}
            for d, v in zip(self.dates, self.equity, strict=True)
        ]

    def positions(self) -> list[dict[str, Any]]:
        """Seed shape: ``[{"date": ..., "ticker": "SPY", "weight": 0.5}, ...]`` per rebalance."""
        out = []
        for d, row in zip(self.rebalance_dates, self.weights, strict=True):
            for sym, w in zip(self.symbols, row, strict=True):
                if w > 1e-12:
                    out.append({"date": str(d), "ticker": sym, "weight": round(float(w), 10)})
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "days": len(self.dates),
            "rebalances": len(self.rebalance_dates),
            "trades": self.trades,
            "turnover": self.turnover,
            "traded_value": self.traded_value,
            "costs_paid": self.costs_paid,
            "final_equity": float(self.equity[-1]),
            "benchmark": self.benchmark,
        }


# --- span ------------------------------------------------------------------------------


def resolve_span(
    prices: PriceTable,
    symbols: Sequence[str],
    lookback: int,
    start: date | None,
    end: date | None,
) -> Span:
    """Pick the rows a backtest may use, or say precisely why there are none.

    Without a start, the backtest starts as soon as every symbol has ``lookback`` closes of
    history; with one, too little history is an error naming the earliest possible start.
    """
    table = prices.select(symbols)
    n = len(table.dates)
    if n == 0:
        raise PriceError("the price data has no rows")
    cover = f"the prices cover {table.dates[0]} to {table.dates[-1]}"
    lo = 0 if start is None else int(np.searchsorted(table.dates, np.datetime64(start, "D")))
    hi = (
        n - 1
        if end is None
        else int(np.searchsorted(table.dates, np.datetime64(end, "D"), side="right") - 1)
    )
    if lo > hi or lo >= n or hi < 0:
        raise PriceError(
            f"no trading days between {start or 'the first date'} and "
            f"{end or 'the last date'} ({cover})"
        )
    have = ~np.isnan(table.closes[: hi + 1])
    # First row from which each symbol is listed (has a close) — before that it cannot be held.
    listed = np.where(have.any(axis=0), have.argmax(axis=0), hi + 1)
    late = int(listed.max()) if len(symbols) else 0
    if late > hi:
        sym = table.symbols[int(listed.argmax())]
        raise PriceError(f"{sym} has no close on or before {table.dates[hi]} ({cover})")
    earliest = late + lookback
    if earliest > hi:
        raise PriceError(
            f"the strategy needs {lookback} trading days of history before its first "
            f"rebalance, and the price data has only {hi - late} before "
            f"{table.dates[hi]} for every symbol"
        )
    if start is None:
        lo = max(lo, earliest)
    elif lo < earliest:
        raise PriceError(
            f"the strategy needs {lookback} trading days of history before its first "
            f"rebalance; the earliest start these prices allow is {table.dates[earliest]}"
        )
    history = lo - lookback
    gaps = np.isnan(table.closes[history : hi + 1])
    if gaps.any():
        r, c = np.argwhere(gaps)[0]
        raise PriceError(
            f"{table.symbols[c]} has no close on {table.dates[history + r]} (every symbol "
            f"needs a close on every trading day from {table.dates[history]} to "
            f"{table.dates[hi]})"
        )
    return Span(history, lo, hi)


def rebalance_rows(dates: npt.NDArray[np.datetime64], frequency: Rebalance) -> IntArray:
    """Row 0 and the first trading day of every later day/week/month."""
    n = len(dates)
    if frequency == "daily" or n <= 1:
        return np.arange(n, dtype=np.int64)
    days = dates.astype("datetime64[D]").astype(np.int64)
    # 1970-01-01 was a Thursday: (days + 3) // 7 ticks over on Mondays.
    period = (
        (days + 3) // 7 if frequency == "weekly" else dates.astype("datetime64[M]").astype(np.int64)
    )
    change = np.flatnonzero(period[1:] != period[:-1]) + 1
    return np.concatenate(([0], change)).astype(np.int64)


# --- weights ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ctx:
    rets: FloatArray  # (T, N) simple daily returns; row 0 is 0
    rows: IntArray  # (R,) rebalance rows into rets
    col: dict[str, int]


def target_weights(
    root: Root, rets: FloatArray, rows: IntArray, symbols: Sequence[str]
) -> FloatArray:
    """(R × N) weights of the whole tree at every rebalance row."""
    ctx = _Ctx(rets, rows, {s: j for j, s in enumerate(symbols)})
    w = _combine(root.weighting, list(root.elements), ctx)
    return np.array(np.broadcast_to(w, (len(rows), len(symbols))))


# A node's weights are an (N,) vector when they are the same at every rebalance (tickers,
# groups of them with fixed weightings) and an (R × N) matrix otherwise. Keeping the constant
# case small matters: with a daily rebalance a matrix per ticker is 20 × 400 KB of fresh
# memory per run, and allocating it dominated the run time in sweep workers.


def _node(node: TickerNode | GroupNode | SelectTopNode, ctx: _Ctx) -> FloatArray:
    if isinstance(node, TickerNode):
        w = np.zeros(len(ctx.col))
        w[ctx.col[node.ticker]] = 1.0
        return w
    if isinstance(node, GroupNode):
        return _combine(node.weighting, list(node.children), ctx)
    kids = [_node(c, ctx) for c in node.children]
    stat = _window_stat(kids, ctx, node.window, "momentum" if node.metric == "momentum" else "vol")
    # Best first; ties go to the earlier child (stable sort), so picks are deterministic.
    order = np.argsort(-stat if node.metric == "momentum" else stat, axis=1, kind="stable")
    mask = np.zeros(stat.shape, dtype=bool)
    np.put_along_axis(mask, order[:, : node.n], True, axis=1)
    return _mix(node.weighting, list(node.children), kids, mask, ctx)


def _combine(
    weighting: Equal | Specified | InverseVolatility | None,
    children: list[TickerNode | GroupNode | SelectTopNode],
    ctx: _Ctx,
) -> FloatArray:
    kids = [_node(c, ctx) for c in children]
    return _mix(effective_weighting(weighting, children), children, kids, None, ctx)


def _mix(
    weighting: Equal | Specified | InverseVolatility | None,
    children: Sequence[TickerNode | GroupNode | SelectTopNode],
    kids: list[FloatArray],
    mask: npt.NDArray[np.bool_] | None,
    ctx: _Ctx,
) -> FloatArray:
    """Children's weights combined by ``weighting`` among those in ``mask`` (R × C)."""
    if isinstance(weighting, Specified):
        m = np.array([float(c.weight or 0) for c in children])
    else:
        m = np.ones(len(children))
    if isinstance(weighting, InverseVolatility):
        vol = _window_stat(kids, ctx, weighting.window, "vol")
        m = m[None, :] / np.maximum(vol, _VOL_FLOOR)
    if mask is not None:
        m = m * mask
    m = m / m.sum(axis=-1, keepdims=True)
    if m.ndim == 1 and all(k.ndim == 1 for k in kids):
        const: FloatArray = m @ np.stack(kids)
        return const
    m2 = np.broadcast_to(m, (len(ctx.rows), len(children)))
    if all(k.ndim == 1 for k in kids):
        out: FloatArray = np.einsum("rc,cn->rn", m2, np.stack(kids))
        return out
    out = np.zeros((len(ctx.rows), len(ctx.col)))
    for c, k in enumerate(kids):
        out += m2[:, c, None] * k
    return out


def _window_stat(
    kids: list[FloatArray], ctx: _Ctx, window: int, kind: Literal["momentum", "vol"]
) -> FloatArray:
    """(R × C): trailing ``window``-day momentum or volatility of each child at each row.

    A child held at constant weights (every ticker, every static group) is one return series,
    and its windows come from running sums in O(T); a child whose weights change between
    rebalances (a select_top inside) gets its windows gathered row by row.
    """
    out = np.empty((len(ctx.rows), len(kids)))
    for c, w in enumerate(kids):
        if w.ndim == 1:
            nonzero = np.flatnonzero(w)
            series = (
                ctx.rets[:, nonzero[0]]
                if len(nonzero) == 1 and w[nonzero[0]] == 1.0
                else np.einsum("tn,n->t", ctx.rets, w)
            )
            out[:, c] = _rolling(series, ctx.rows, window, kind)
            continue
        idx = ctx.rows[:, None] + np.arange(-window + 1, 1)[None, :]  # (R, w)
        win = np.empty(idx.shape)
        for s in range(0, len(idx), _CHUNK):
            blk = slice(s, s + _CHUNK)
            win[blk] = np.einsum("rwn,rn->rw", ctx.rets[idx[blk]], w[blk])
        if kind == "momentum":
            out[:, c] = np.expm1(np.log1p(win).sum(axis=1))
        else:
            out[:, c] = win.std(axis=1, ddof=1)
    return out


def _rolling(
    series: FloatArray, rows: IntArray, window: int, kind: Literal["momentum", "vol"]
) -> FloatArray:
    """Momentum or volatility of the ``window`` returns ending at each of ``rows``."""
    lo, hi = rows - window + 1, rows + 1
    if kind == "momentum":
        cum = np.concatenate(([0.0], np.cumsum(np.log1p(series))))
        return np.asarray(np.expm1(cum[hi] - cum[lo]))
    # Centre first: running sums of small deviations keep the variance exact to ~1e-13.
    x = series - series[1:].mean() if len(series) > 1 else series
    c1 = np.concatenate(([0.0], np.cumsum(x)))
    c2 = np.concatenate(([0.0], np.cumsum(x * x)))
    s1, s2 = c1[hi] - c1[lo], c2[hi] - c2[lo]
    var = (s2 - s1 * s1 / window) / (window - 1)
    return np.asarray(np.sqrt(np.maximum(var, 0.0)))


# --- simulation ------------------------------------------------------------------------


def simulate(
    root: Root,
    prices: PriceTable,
    span: Span,
    config: BacktestConfig,
    *,
    with_benchmark: bool = True,
) -> BacktestResult:
    """Run ``root`` over ``span`` of ``prices`` (already checked by :func:`resolve_span`)."""
    symbols = root.symbols()
    table = prices.select(symbols)
    closes = table.closes[span.history : span.last + 1]
    rets = np.zeros_like(closes)
    rets[1:] = closes[1:] / closes[:-1] - 1.0
    offset = span.first - span.history
    dates = table.dates[span.first : span.last + 1]
    local_rows = rebalance_rows(dates, config.rebalance)
    weights = target_weights(root, rets, local_rows + offset, symbols)
    prices_bt = closes[offset:]

    # The whole path at once. Between rebalances the shares are fixed, so each segment
    # grows the book by g_k = Σ w_k·P(next)/P(now); the fraction of the book traded at a
    # rebalance, τ_k = Σ|w_k − drifted w_{k−1}|, does not depend on its value, so the costs
    # (c·τ_k of the value) and the value after each rebalance are one cumulative product.
    c = (config.fee_bps + config.slippage_bps) / 10_000.0
    n_rb, n_sym = weights.shape
    p_rb = prices_bt[local_rows]
    ratio = p_rb[1:] / p_rb[:-1]
    growth = np.einsum("kn,kn->k", weights[:-1], ratio)
    before = np.zeros((n_rb, n_sym))
    before[1:] = weights[:-1] * ratio / growth[:, None]
    tau = np.abs(weights - before).sum(axis=1)
    keep = 1.0 - c * tau
    v_pre = config.initial_capital * np.concatenate(([1.0], np.cumprod(keep[:-1] * growth)))
    v_post = v_pre * keep
    delta = v_pre[:, None] * np.abs(weights * keep[:, None] - before)
    trades = int(np.count_nonzero(delta > v_post[:, None] * 1e-9))
    traded_total = float(delta.sum())
    costs = float(np.sum(v_pre * c * tau))
    turnover = float(tau[1:].sum() / 2.0)
    segment = np.searchsorted(local_rows, np.arange(len(dates)), side="right") - 1
    shares = (weights / p_rb) * v_post[:, None]
    equity = np.einsum("tn,tn->t", shares[segment], prices_bt)

    bench_sym = config.benchmark if with_benchmark else None
    bench_eq = None
    if bench_sym is not None:
        b = prices.closes[span.first : span.last + 1, prices.index_of(bench_sym)]
        if np.isnan(b).any():
            d = dates[int(np.argmax(np.isnan(b)))]
            raise PriceError(f"benchmark {bench_sym} has no close on {d}")
        bench_eq = config.initial_capital * b / b[0]
    metrics = perf.summarize(equity, config.initial_capital, bench_eq)
    return BacktestResult(
        dates=dates,
        equity=equity,
        symbols=tuple(symbols),
        rebalance_dates=dates[local_rows],
        weights=weights,
        trades=trades,
        turnover=turnover,
        traded_value=traded_total,
        costs_paid=costs,
        metrics=metrics,
        benchmark=bench_sym,
        benchmark_equity=bench_eq,
    )


def run_backtest(root: Root, prices: PriceTable, config: BacktestConfig) -> BacktestResult:
    """Resolve the span (errors name what is missing) and simulate."""
    span = resolve_span(prices, root.symbols(), root.lookback(), config.start, config.end)
    if config.benchmark is not None:
        prices.index_of(config.benchmark)
    return simulate(root, prices, span, config)


def latest_weights(root: Root, prices: PriceTable) -> dict[str, float]:
    """The tree's target weights if it rebalanced at the last row of ``prices`` (the live
    rebalancer's question); the last ``lookback + 1`` rows must have every close."""
    symbols = root.symbols()
    table = prices.select(symbols)
    need = root.lookback() + 1
    if len(table.dates) < need:
        raise PriceError(
            f"the strategy needs {need} daily closes, the venue returned {len(table.dates)}"
        )
    closes = table.closes[-need:]
    if np.isnan(closes).any():
        r, c = np.argwhere(np.isnan(closes))[0]
        raise PriceError(
            f"{table.symbols[c]} has no close on {table.dates[len(table.dates) - need + r]}"
        )
    rets = np.zeros_like(closes)
    rets[1:] = closes[1:] / closes[:-1] - 1.0
    w = target_weights(root, rets, np.array([need - 1], dtype=np.int64), symbols)[0]
    return {s: float(x) for s, x in zip(symbols, w, strict=True) if x > 0}
