"""Performance metrics of an equity curve and of round trips (pure numpy, no I/O).

Conventions are empyrical's, so figures agree with it to rounding: simple returns between
consecutive points; annual return ``(final/initial) ** (periods_per_year / n_returns) - 1``;
volatility and Sharpe with ``ddof=1``; Sortino over the root-mean-square of below-target
returns; max drawdown a negative fraction; Calmar = annual return / |max drawdown|.

What empyrical leaves to the caller, we infer: the number of periods per year is the curve's
*real* sampling frequency — observations per year over the span the timestamps cover — so a
daily stock curve (no weekends) annualizes by ≈252, an hourly crypto curve by ≈8,760, and an
irregular intraday curve by what it actually sampled. Each figure carries the sample it rests
on; a figure from fewer points or trades than the configured minimum is listed in
``insufficient`` so a leaderboard does not rank on it. Undefined figures are ``None``, never
NaN, so results survive JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
SECONDS_PER_YEAR = 365.25 * 24 * 3600


def _f(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def periods_per_year(timestamps: Sequence[datetime]) -> float | None:
    """Observations per year actually sampled: (n - 1) intervals over the span in years."""
    if len(timestamps) < 2:
        return None
    span = (timestamps[-1] - timestamps[0]).total_seconds()
    return _ppy(len(timestamps), span)


def _ppy(n: int, span_s: float) -> float | None:
    return (n - 1) / (span_s / SECONDS_PER_YEAR) if n >= 2 and span_s > 0 else None


@dataclass(frozen=True, slots=True)
class Drawdown:
    max_drawdown: float
    """Deepest fall from a running peak, as a negative fraction (0 when never below a peak)."""
    max_drawdown_usd: float
    """The same fall in account currency."""
    peak_index: int
    trough_index: int
    recovery_index: int | None
    """First point back at the peak's level; None while still under water."""


def drawdown(equity: FloatArray) -> Drawdown:
    peaks = np.maximum.accumulate(equity)
    dd = equity / peaks - 1.0
    trough = int(np.argmin(dd))
    peak = int(np.argmax(equity[: trough + 1])) if trough else 0
    after = np.nonzero(equity[trough:] >= equity[peak])[0]
    recovery = int(trough + after[0]) if dd[trough] < 0 and len(after) else None
    return Drawdown(
        float(min(dd[trough], 0.0)),
        float(min(equity[trough] - equity[peak], 0.0)),
        peak,
        trough,
        recovery,
    )


@dataclass
class CurveMetrics:
    periods: int
    """Number of returns (points − 1): the sample every figure below rests on."""
    periods_per_year: float | None
    total_return: float | None
    annual_return: float | None
    annual_volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float | None
    max_drawdown_usd: float | None
    max_drawdown_start: str | None
    max_drawdown_trough: str | None
    max_drawdown_recovery: str | None
    max_drawdown_duration_s: float | None
    """Peak to recovery (or to the last point while still under water)."""
    calmar: float | None
    start_equity: float | None
    end_equity: float | None
    insufficient: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def curve_metrics(
    timestamps: Sequence[datetime],
    equity: Sequence[float] | FloatArray,
    *,
    periods_per_year_override: float | None = None,
    risk_free: float = 0.0,
    min_points: int = 2,
) -> CurveMetrics:
    """Metrics of one equity curve. ``risk_free`` is an annual rate, converted per period."""
    if len(equity) != len(timestamps):
        raise ValueError("timestamps and equity differ in length")
    epoch = np.fromiter((t.timestamp() for t in timestamps), np.float64, len(timestamps))
    return curve_metrics_epoch(
        epoch,
        equity,
        periods_per_year_override=periods_per_year_override,
        risk_free=risk_free,
        min_points=min_points,
        label=lambda i: timestamps[i].isoformat(),
    )


def _epoch_label(t: FloatArray) -> Callable[[int], str]:
    return lambda i: datetime.fromtimestamp(float(t[i]), UTC).isoformat()


def curve_metrics_epoch(
    t: FloatArray,
    equity: Sequence[float] | FloatArray,
    *,
    periods_per_year_override: float | None = None,
    risk_free: float = 0.0,
    min_points: int = 2,
    label: Callable[[int], str] | None = None,
) -> CurveMetrics:
    """``curve_metrics`` over epoch seconds: the leaderboard's recompute path, which holds
    every book's curve as numpy arrays and must not build a datetime per point."""
    eq = np.asarray(equity, dtype=np.float64)
    if len(eq) != len(t):
        raise ValueError("timestamps and equity differ in length")
    if len(eq) and (not np.all(np.isfinite(eq)) or np.any(eq <= 0)):
        raise ValueError("equity must be positive and finite at every point")
    label = label or _epoch_label(t)
    n = max(len(eq) - 1, 0)
    ppy = periods_per_year_override or _ppy_epoch(t)
    empty = CurveMetrics(
        n,
        ppy,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        float(eq[0]) if len(eq) else None,
        float(eq[-1]) if len(eq) else None,
    )
    if n < 1:
        empty.insufficient = ["all"]
        return empty
    r = eq[1:] / eq[:-1] - 1.0
    growth = float(eq[-1] / eq[0])
    total = growth - 1.0
    annual = _annualize(growth, ppy / n) if ppy else None
    rf = (1.0 + risk_free) ** (1.0 / ppy) - 1.0 if ppy and risk_free else 0.0
    adj = r - rf
    vol = sharpe = sortino = None
    if n >= 2 and ppy:
        sd = float(np.std(r, ddof=1))
        vol = _f(sd * math.sqrt(ppy))
        sd_adj = float(np.std(adj, ddof=1))
        sharpe = _f(float(np.mean(adj)) / sd_adj * math.sqrt(ppy)) if sd_adj > 0 else None
        downside = math.sqrt(float(np.mean(np.minimum(adj, 0.0) ** 2))) * math.sqrt(ppy)
        sortino = _f(float(np.mean(adj)) * ppy / downside) if downside > 0 else None
    d = drawdown(eq)
    end_i = d.recovery_index if d.recovery_index is not None else len(eq) - 1
    underwater = d.max_drawdown < 0
    calmar = _f(annual / -d.max_drawdown) if annual is not None and underwater else None
    m = CurveMetrics(
        periods=n,
        periods_per_year=ppy,
        total_return=_f(total),
        annual_return=annual,
        annual_volatility=vol,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=d.max_drawdown,
        max_drawdown_usd=d.max_drawdown_usd,
        max_drawdown_start=label(d.peak_index) if underwater else None,
        max_drawdown_trough=label(d.trough_index) if underwater else None,
        max_drawdown_recovery=label(d.recovery_index) if d.recovery_index is not None else None,
        max_drawdown_duration_s=float(t[end_i] - t[d.peak_index]) if underwater else 0.0,
        calmar=calmar,
        start_equity=float(eq[0]),
        end_equity=float(eq[-1]),
    )
    if n < min_points:
        m.insufficient = ["annual_return", "annual_volatility", "sharpe", "sortino", "calmar"]
    return m


def _annualize(growth: float, exponent: float) -> float | None:
    """``growth ** exponent - 1``; None when it overflows (an hour's +10 % compounded over a
    year), which is what "undefined" means here."""
    try:
        return _f(growth**exponent - 1.0)
    except OverflowError:
        return None


def _ppy_epoch(t: FloatArray) -> float | None:
    return _ppy(len(t), float(t[-1] - t[0])) if len(t) >= 2 else None


@dataclass(frozen=True, slots=True)
class RoundTrip:
    entry_time: datetime
    exit_time: datetime
    pnl: float
    """Realized P&L net of fees, in account currency."""


@dataclass
class TradeMetrics:
    trades: int
    wins: int
    losses: int
    win_rate: float | None
    avg_win: float | None
    avg_loss: float | None
    profit_factor: float | None
    """Gross profit / gross loss; None with no losing trade (infinite) or no trade."""
    expectancy: float | None
    largest_win: float | None
    largest_loss: float | None
    avg_holding_s: float | None
    insufficient: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def trade_metrics(trips: Sequence[RoundTrip], *, min_trades: int = 1) -> TradeMetrics:
    pnl = np.asarray([t.pnl for t in trips], dtype=np.float64)
    n = len(pnl)
    if n == 0:
        return TradeMetrics(
            0, 0, 0, None, None, None, None, None, None, None, None, insufficient=["all"]
        )
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    gross_win, gross_loss = float(wins.sum()), float(-losses.sum())
    hold = np.asarray([(t.exit_time - t.entry_time).total_seconds() for t in trips])
    m = TradeMetrics(
        trades=n,
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / n,
        avg_win=float(wins.mean()) if len(wins) else None,
        avg_loss=float(losses.mean()) if len(losses) else None,
        profit_factor=gross_win / gross_loss if gross_loss > 0 else None,
        expectancy=float(pnl.mean()),
        largest_win=float(wins.max()) if len(wins) else None,
        largest_loss=float(losses.min()) if len(losses) else None,
        avg_holding_s=float(hold.mean()),
    )
    if n < min_trades:
        m.insufficient = ["win_rate", "profit_factor", "expectancy"]
    return m
