"""Performance figures of a backtest's daily equity curve (empyrical conventions).

Local stand-in until ``arenad.metrics`` ships its pure functions; the conventions are
empyrical's so the swap changes no number: simple daily returns, 252 periods a year,
standard deviations with ddof=1, Sortino over the root-mean-square of negative returns,
max drawdown as a negative fraction, zero risk-free rate. Undefined figures (a flat curve has
no Sharpe) are ``None``, never NaN, so they survive JSON.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
PERIODS_PER_YEAR = 252


def returns_of(equity: FloatArray) -> FloatArray:
    return np.asarray(equity[1:] / equity[:-1] - 1.0, dtype=np.float64)


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def max_drawdown(equity: FloatArray) -> float:
    peak = np.maximum.accumulate(equity)
    return float(np.min(equity / peak - 1.0)) if len(equity) else 0.0


def cagr(growth: float, n_returns: int, periods: int = PERIODS_PER_YEAR) -> float | None:
    if n_returns <= 0 or growth <= 0:
        return None
    return _finite(growth ** (periods / n_returns) - 1.0)


def sharpe(r: FloatArray, periods: int = PERIODS_PER_YEAR) -> float | None:
    if len(r) < 2:
        return None
    sd = float(np.std(r, ddof=1))
    if sd == 0 or not math.isfinite(sd):
        return None
    return _finite(float(np.mean(r)) / sd * math.sqrt(periods))


def sortino(r: FloatArray, periods: int = PERIODS_PER_YEAR) -> float | None:
    if len(r) < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) * math.sqrt(periods)
    if downside == 0:
        return None
    return _finite(float(np.mean(r)) * periods / downside)


def volatility(r: FloatArray, periods: int = PERIODS_PER_YEAR) -> float | None:
    if len(r) < 2:
        return None
    return _finite(float(np.std(r, ddof=1)) * math.sqrt(periods))


def alpha_beta(
    r: FloatArray, b: FloatArray, periods: int = PERIODS_PER_YEAR
) -> tuple[float | None, float | None]:
    """Annualised alpha and beta against benchmark returns (empyrical ``alpha_beta``)."""
    if len(r) < 2:
        return None, None
    var_b = float(np.var(b, ddof=1))
    if var_b == 0:
        return None, None
    cov = float(np.sum((r - r.mean()) * (b - b.mean()))) / (len(r) - 1)
    beta = cov / var_b
    alpha = (1.0 + float(np.mean(r - beta * b))) ** periods - 1.0
    return _finite(alpha), _finite(beta)


def summarize(
    equity: FloatArray,
    initial_capital: float,
    benchmark: FloatArray | None = None,
    periods: int = PERIODS_PER_YEAR,
) -> dict[str, float | None]:
    """The metrics stored with every backtest and every sweep run.

    ``total_return`` is measured from the initial capital, so the fees of the first purchase
    count; the return series starts at the first close after it.
    """
    r = returns_of(equity)
    growth = float(equity[-1]) / initial_capital
    total = growth - 1.0
    c = cagr(growth, len(r), periods)
    mdd = max_drawdown(equity)
    out: dict[str, float | None] = {
        "total_return": _finite(total),
        "cagr": c,
        "volatility": volatility(r, periods),
        "sharpe": sharpe(r, periods),
        "sortino": sortino(r, periods),
        "max_drawdown": mdd,
        "calmar": _finite(c / -mdd) if c is not None and mdd < 0 else None,
    }
    if benchmark is not None:
        br = returns_of(benchmark)
        b_total = float(benchmark[-1] / benchmark[0]) - 1.0
        alpha, beta = alpha_beta(r, br, periods)
        corr = None
        if len(r) >= 2 and np.std(r) > 0 and np.std(br) > 0:
            dr, db = r - r.mean(), br - br.mean()
            corr = _finite(float(np.sum(dr * db) / np.sqrt(np.sum(dr * dr) * np.sum(db * db))))
        out |= {
            "benchmark_total_return": _finite(b_total),
            "benchmark_cagr": cagr(b_total + 1.0, len(br), periods),
            "benchmark_max_drawdown": max_drawdown(benchmark),
            "excess_return": _finite(total - b_total),
            "alpha": alpha,
            "beta": beta,
            "correlation": corr,
        }
    return out
