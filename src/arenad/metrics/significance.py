"""How likely a book's lead is to be luck: PSR, DSR, minimum track record, bootstrap intervals,
alpha/beta against a benchmark, a verdict, and the Brier score of stated confidence (pure
numpy/scipy; the stationary bootstrap is arch's).

Every figure rests on the *per-period simple returns* of the timeframe (the board's resampled
returns): SR is mean / std (ddof=1), never annualized; γ₃ is the sample skewness and γ₄ the
sample kurtosis, non-excess (``scipy.stats.skew(bias=True)``, ``kurtosis(fisher=False,
bias=True)``).

- PSR (Bailey & López de Prado 2012): Φ((SR − SR*)·√(n−1) / √(1 − γ₃·SR + (γ₄−1)/4·SR²)),
  n the number of returns.
- DSR (Bailey & López de Prado 2014): the PSR against SR₀ = √V[SR]·((1−γ)Φ⁻¹(1−1/N) +
  γΦ⁻¹(1−1/(N·e))), γ the Euler–Mascheroni constant, N the books competing and V[SR] the
  cross-sectional variance (ddof=1) of their per-period Sharpe ratios. One competitor (or no
  spread) deflates nothing: SR₀ = 0 and DSR = PSR.
- Minimum track record length: 1 + (1 − γ₃·SR + (γ₄−1)/4·SR²)·(Φ⁻¹(p)/(SR − SR*))², the
  number of returns for PSR ≥ p; undefined (None, flagged) when SR ≤ SR*, which no track
  record of the same statistics ever proves.

A figure that cannot be a number is ``None`` and its reason is named in ``flags``; nothing
here returns NaN or ±inf.

The bootstrap: arch's ``StationaryBootstrap`` with its Politis–White optimal block length
(``optimal_block_length``, the stationary column), seeded, ≥ 1,000 resamples, percentile
intervals. A leaderboard of a hundred books cannot afford a Python call per resample per
book, so the resample *indices* — which depend only on the sample size, the block length and
the seed — are drawn from arch once per (n, block length rounded to 0.5) and reused for every
book with the same pair. Mean, variance and compounded return of a resample depend only on
how often it drew each observation, so the indices are kept as a count matrix and every
resample's statistics are one matrix product. Books of one length and block length share
their resampling draws, as they would with any fixed seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
EULER_GAMMA = 0.5772156649015329
SKILL_DSR = 0.95
"""DSR at or above which a book's verdict is ``skill``."""
DEFAULT_REPS = 1000
DEFAULT_SEED = 20120701
"""Seed of every bootstrap (the 2012 paper's date): the same curve gives the same interval."""
VERDICTS = ("skill", "unproven", "insufficient")


_NORMAL = NormalDist()


def _fin(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def norm_cdf(x: float) -> float:
    """Φ(x) (as scipy.stats.norm.cdf, without its per-call overhead: the board calls it for
    every book of every timeframe)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def norm_ppf(p: float) -> float:
    """Φ⁻¹(p) (Wichura's AS241, as scipy's ndtri, to double precision)."""
    return _NORMAL.inv_cdf(p)


@lru_cache(maxsize=4096)
def _t_ppf(q: float, df: int) -> float:
    return float(stats.t.ppf(q, df))


@dataclass(frozen=True, slots=True)
class Moments:
    n: int
    sr: float
    skew: float
    kurt: float
    """Non-excess kurtosis (3 for a normal)."""


def moments(returns: Sequence[float] | FloatArray) -> Moments | None:
    """SR, γ₃, γ₄ of per-period returns; None with fewer than 3 returns, a non-finite return,
    or zero variance (no Sharpe)."""
    r = np.asarray(returns, dtype=np.float64)
    n = len(r)
    if n < 3 or not np.all(np.isfinite(r)):
        return None
    # The central moments scipy's skew(bias=True) / kurtosis(fisher=False, bias=True) use,
    # in one pass of numpy (scipy's wrappers cost more than the arithmetic here).
    mean = float(r.mean())
    d = r - mean
    d2 = d * d
    m2 = float(d2.mean())
    if not m2 > 0 or not math.isfinite(m2):
        return None
    # A constant series in floating point leaves m2 at rounding noise: no Sharpe then.
    if m2 <= (abs(mean) * 1e-14) ** 2 + 1e-300:
        return None
    m3 = float((d2 * d).mean())
    m4 = float((d2 * d2).mean())
    sd = math.sqrt(m2 * n / (n - 1))
    sr, skew, kurt = mean / sd, m3 / m2**1.5, m4 / (m2 * m2)
    if not (math.isfinite(sr) and math.isfinite(skew) and math.isfinite(kurt)):
        return None
    return Moments(n, sr, skew, kurt)


def _sr_var_term(sr: float, skew: float, kurt: float) -> float:
    return 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr


def psr_from_stats(
    sr: float, n: int, skew: float, kurt: float, sr_star: float = 0.0
) -> float | None:
    """PSR from the statistics (the papers' worked examples are given this way)."""
    v = _sr_var_term(sr, skew, kurt)
    if n < 2 or not v > 0:
        return None
    return _fin(norm_cdf((sr - sr_star) * math.sqrt(n - 1) / math.sqrt(v)))


def psr(returns: Sequence[float] | FloatArray, sr_star: float = 0.0) -> float | None:
    """Probability that the true per-period Sharpe exceeds ``sr_star`` (default 0)."""
    m = moments(returns)
    return None if m is None else psr_from_stats(m.sr, m.n, m.skew, m.kurt, sr_star)


def sharpe(returns: Sequence[float] | FloatArray) -> float | None:
    m = moments(returns)
    return None if m is None else m.sr


def psr_vs_benchmark(
    returns: Sequence[float] | FloatArray, benchmark_returns: Sequence[float] | FloatArray
) -> float | None:
    """PSR with SR* the benchmark's per-period Sharpe over the same window (the caller
    aligns the two series)."""
    b = sharpe(benchmark_returns)
    return None if b is None else psr(returns, b)


def expected_max_sharpe(n_trials: int, var_sr: float) -> float:
    """SR₀ of the DSR: the expected maximum per-period Sharpe of ``n_trials`` skill-less
    competitors whose Sharpe ratios spread with variance ``var_sr``."""
    if n_trials < 2 or not var_sr > 0:
        return 0.0
    return math.sqrt(var_sr) * (
        (1.0 - EULER_GAMMA) * norm_ppf(1.0 - 1.0 / n_trials)
        + EULER_GAMMA * norm_ppf(1.0 - 1.0 / (n_trials * math.e))
    )


def dsr_from_stats(
    sr: float, n: int, skew: float, kurt: float, n_trials: int, var_sr: float
) -> float | None:
    return psr_from_stats(sr, n, skew, kurt, expected_max_sharpe(n_trials, var_sr))


def dsr(returns: Sequence[float] | FloatArray, n_trials: int, var_sr: float) -> float | None:
    """Deflated Sharpe ratio of one book among ``n_trials`` competitors (itself included)."""
    m = moments(returns)
    if m is None:
        return None
    return dsr_from_stats(m.sr, m.n, m.skew, m.kurt, n_trials, var_sr)


def min_trl_from_stats(
    sr: float, skew: float, kurt: float, sr_star: float = 0.0, prob: float = 0.95
) -> float | None:
    v = _sr_var_term(sr, skew, kurt)
    if not sr > sr_star or not v > 0:
        return None
    return _fin(1.0 + v * (norm_ppf(prob) / (sr - sr_star)) ** 2)


def min_track_record_length(
    returns: Sequence[float] | FloatArray, sr_star: float = 0.0, prob: float = 0.95
) -> float | None:
    """Returns needed (of the same statistics) for PSR(``sr_star``) ≥ ``prob``; None when the
    Sharpe is not above ``sr_star``."""
    m = moments(returns)
    return None if m is None else min_trl_from_stats(m.sr, m.skew, m.kurt, sr_star, prob)


# --- bootstrap ------------------------------------------------------------------------------


def optimal_block(returns: FloatArray) -> float:
    """Politis–White (with Patton's correction) optimal mean block length of the stationary
    bootstrap, from arch; at least 1."""
    return optimal_blocks([returns])[0]


def optimal_blocks(series: Sequence[FloatArray]) -> list[float]:
    """``optimal_block`` of many series, one arch call per length (arch computes each column
    alone; the call's DataFrame is the cost, so equal-length series share one)."""
    from arch.bootstrap import optimal_block_length

    out: list[float] = [1.0] * len(series)
    by_len: dict[int, list[int]] = {}
    for i, r in enumerate(series):
        by_len.setdefault(len(r), []).append(i)
    for _, idx in by_len.items():
        table = optimal_block_length(np.column_stack([series[i] for i in idx]))
        for i, b in zip(idx, table["stationary"].to_numpy(dtype=np.float64).tolist(), strict=True):
            out[i] = b if math.isfinite(b) and b >= 1.0 else 1.0
    return out


def _quantize(block: float) -> float:
    return max(1.0, round(block * 2.0) / 2.0)


@lru_cache(maxsize=16)
def _counts(n: int, block: float, reps: int, seed: int) -> FloatArray:
    """``reps`` × ``n``: how often each observation appears in each of arch's
    stationary-bootstrap resamples. Mean, variance and compounded return of a resample are
    functions of these counts alone, so one matrix product evaluates every resample."""
    idx = _indices(n, block, reps, seed)
    rows = np.repeat(np.arange(reps, dtype=np.int64), n)
    c = np.bincount(rows * n + idx.ravel(), minlength=reps * n).astype(np.float64)
    out = c.reshape(reps, n)
    out.setflags(write=False)
    return out


def _indices(n: int, block: float, reps: int, seed: int) -> npt.NDArray[np.int64]:
    """``reps`` × ``n`` stationary-bootstrap resample indices drawn by arch."""
    from arch.bootstrap import StationaryBootstrap

    # arch annotates block_size as int, but it is the *mean* block length (p = 1/block) and
    # the optimal one is real: a float is what the stationary bootstrap is defined with.
    bs = StationaryBootstrap(block, np.zeros(n), seed=np.random.default_rng(seed))  # type: ignore[arg-type]
    out = np.empty((reps, n), dtype=np.int64)
    for i in range(reps):
        out[i] = bs.update_indices()
    return out


def bootstrap_indices(
    n: int, block: float, reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED
) -> npt.NDArray[np.int64]:
    return _indices(n, _quantize(block), reps, seed)


@dataclass
class Intervals:
    sharpe_ci: list[float] | None = None
    """95 % interval of the per-period Sharpe, [lo, hi]."""
    return_ci: list[float] | None = None
    """95 % interval of the compounded return over the window, [lo, hi] (fractions)."""
    block_length: float | None = None
    reps: int = 0


def _percentile(x: FloatArray, level: float) -> list[float] | None:
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return None
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(x, [a, 1.0 - a])
    return [float(lo), float(hi)]


def intervals(
    returns: Sequence[float] | FloatArray,
    *,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
    block: float | None = None,
    rf: float = 0.0,
) -> Intervals:
    """Stationary-bootstrap percentile intervals of the per-period Sharpe (of the returns
    less ``rf`` per period) and of the compounded return."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 3 or not np.all(np.isfinite(r)) or np.any(r <= -1.0):
        return Intervals()
    b = _quantize(optimal_block(r) if block is None else block)
    n = len(r)
    c = _counts(n, b, reps, seed)
    # Centre on the sample mean first: the resample variance is then a difference of
    # small numbers only as large as the spread itself.
    mu = float(r.mean())
    d = r - mu
    # Three matrix-vector products (gemv): OpenBLAS's threaded gemm on a 3-column matrix is
    # ten times slower on a loaded machine.
    s1, s2, lg = c @ d, c @ (d * d), c @ np.log1p(r)
    m = s1 / n
    var = (s2 - n * m * m) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = np.where(var > 0, (m + mu - rf) / np.sqrt(np.maximum(var, 0.0)), np.nan)
    return Intervals(
        sharpe_ci=_percentile(sr, level),
        return_ci=_percentile(np.expm1(lg), level),
        block_length=b,
        reps=reps,
    )


def sharpe_ci(
    returns: Sequence[float] | FloatArray, *, reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED
) -> list[float] | None:
    return intervals(returns, reps=reps, seed=seed).sharpe_ci


def return_ci(
    returns: Sequence[float] | FloatArray, *, reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED
) -> list[float] | None:
    return intervals(returns, reps=reps, seed=seed).return_ci


# --- alpha / beta -----------------------------------------------------------------------------


@dataclass
class AlphaBeta:
    alpha: float | None = None
    """Per-period intercept of the book's returns on the benchmark's."""
    alpha_ci: list[float] | None = None
    beta: float | None = None
    beta_ci: list[float] | None = None


def alpha_beta(
    returns: Sequence[float] | FloatArray,
    benchmark_returns: Sequence[float] | FloatArray,
    level: float = 0.95,
) -> AlphaBeta:
    """OLS of the book's per-period returns on the benchmark's over the same periods, with
    Student-t intervals (n − 2 degrees of freedom)."""
    y = np.asarray(returns, dtype=np.float64)
    x = np.asarray(benchmark_returns, dtype=np.float64)
    if len(y) != len(x):
        raise ValueError("returns and benchmark returns differ in length")
    n = len(y)
    if n < 3 or not (np.all(np.isfinite(y)) and np.all(np.isfinite(x))) or np.ptp(x) == 0:
        return AlphaBeta()
    xm, ym = float(x.mean()), float(y.mean())
    dx, dy = x - xm, y - ym
    sxx = float(dx @ dx)
    b = float(dx @ dy) / sxx
    a = ym - b * xm
    resid = dy - b * dx
    s2 = float(resid @ resid) / (n - 2)
    sb = math.sqrt(s2 / sxx)
    sa = math.sqrt(s2 * (1.0 / n + xm * xm / sxx))
    t = _t_ppf(0.5 + level / 2.0, n - 2)

    def ci(v: float, s: float) -> list[float] | None:
        lo, hi = _fin(v - t * s), _fin(v + t * s)
        return None if lo is None or hi is None else [lo, hi]

    return AlphaBeta(_fin(a), ci(a, sa), _fin(b), ci(b, sb))


# --- verdict ----------------------------------------------------------------------------------


def verdict(dsr_value: float | None, n: int, min_points: int) -> str:
    """``skill`` (DSR ≥ 0.95), ``unproven``, or ``insufficient`` (fewer than ``min_points``
    returns, or no DSR at all)."""
    if n < min_points or dsr_value is None:
        return "insufficient"
    return "skill" if dsr_value >= SKILL_DSR else "unproven"


# --- one book among its competitors -----------------------------------------------------------


@dataclass
class Significance:
    psr: float | None = None
    psr_vs_benchmark: float | None = None
    dsr: float | None = None
    dsr_trials: int = 0
    """N of the DSR: the books competing (or a sweep's runs)."""
    min_track_record_length: float | None = None
    """Returns (of the timeframe's period) needed for PSR ≥ 0.95."""
    sharpe_ci: list[float] | None = None
    return_ci: list[float] | None = None
    block_length: float | None = None
    bootstrap_reps: int = 0
    alpha: float | None = None
    alpha_ci: list[float] | None = None
    beta: float | None = None
    beta_ci: list[float] | None = None
    benchmark: str | None = None
    verdict: str = "insufficient"
    flags: dict[str, str] = field(default_factory=dict)
    """Figure → why it is None (``sample_too_small``, ``no_variance``, ``sharpe_not_positive``,
    ``no_benchmark``, ...)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cross_section(sharpes: Sequence[float | None]) -> tuple[int, float]:
    """N and V[SR] (ddof=1) of the competitors' per-period Sharpe ratios (defined ones)."""
    xs = np.asarray([s for s in sharpes if s is not None and math.isfinite(s)], np.float64)
    if len(xs) < 2:
        return len(xs), 0.0
    return len(xs), float(np.var(xs, ddof=1))


@dataclass
class VsBenchmark:
    psr: float | None = None
    alpha: float | None = None
    alpha_ci: list[float] | None = None
    beta: float | None = None
    beta_ci: list[float] | None = None
    why: str | None = None
    """Why the figures are None, when they are."""


def vs_benchmark(
    returns: FloatArray,
    benchmark_returns: FloatArray,
    min_points: int,
    m: Moments | None = None,
    b: Moments | None = None,
) -> VsBenchmark:
    """PSR against the benchmark's Sharpe and alpha/beta, over periods both cover (aligned
    by the caller, excess returns when there is a risk-free rate). ``m``/``b``: the two
    series' moments when the caller has them."""
    if len(returns) < max(min_points, 3):
        return VsBenchmark(why="sample_too_small")
    m = m or moments(returns)
    b = b or moments(benchmark_returns)
    if b is None:
        return VsBenchmark(why="benchmark_no_variance")
    if m is None:
        return VsBenchmark(why="no_variance")
    ab = alpha_beta(returns, benchmark_returns)
    return VsBenchmark(
        psr_from_stats(m.sr, m.n, m.skew, m.kurt, b.sr), ab.alpha, ab.alpha_ci, ab.beta, ab.beta_ci
    )


def significance(
    returns: FloatArray,
    *,
    n_trials: int,
    var_sr: float,
    min_points: int,
    rf: float = 0.0,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    intervals_fn: Callable[[FloatArray], Intervals] | None = None,
    m: Moments | None = None,
) -> Significance:
    """PSR, DSR, minimum track record, intervals and verdict of one book's per-period
    ``returns`` (Sharpe on the returns less ``rf`` per period). Against a benchmark:
    ``vs_benchmark``. ``intervals_fn`` replaces the bootstrap call (a cache)."""
    out = Significance(dsr_trials=n_trials)
    flags = out.flags
    n = len(returns)
    if m is None and n >= min_points:
        m = moments(returns - rf)
    if m is None or n < min_points:
        why = "sample_too_small" if n < max(min_points, 3) else "no_variance"
        for k in ("psr", "dsr", "min_track_record_length", "sharpe_ci", "return_ci"):
            flags[k] = why
        out.verdict = verdict(None, n, min_points)
        return out
    out.psr = psr_from_stats(m.sr, m.n, m.skew, m.kurt)
    out.dsr = dsr_from_stats(m.sr, m.n, m.skew, m.kurt, n_trials, var_sr)
    out.min_track_record_length = min_trl_from_stats(m.sr, m.skew, m.kurt)
    if out.min_track_record_length is None:
        flags["min_track_record_length"] = "sharpe_not_positive"
    iv = intervals_fn(returns) if intervals_fn else intervals(returns, reps=reps, seed=seed, rf=rf)
    out.sharpe_ci, out.return_ci = iv.sharpe_ci, iv.return_ci
    out.block_length, out.bootstrap_reps = iv.block_length, iv.reps
    for k in ("psr", "dsr", "sharpe_ci", "return_ci"):
        if getattr(out, k) is None:
            flags[k] = "undefined"
    out.verdict = verdict(out.dsr, n, min_points)
    return out


# --- calibration ------------------------------------------------------------------------------


def brier(confidence: Sequence[float], outcome: Sequence[bool | int]) -> float | None:
    """Mean squared difference between stated confidence (0..1) and outcome (1 profitable,
    0 not); None with no pair."""
    c = np.asarray(confidence, dtype=np.float64)
    o = np.asarray(outcome, dtype=np.float64)
    if len(c) != len(o):
        raise ValueError("confidence and outcome differ in length")
    if not len(c):
        return None
    if np.any((c < 0) | (c > 1)) or not np.all(np.isfinite(c)):
        raise ValueError("confidence must lie in [0, 1]")
    return float(np.mean((c - o) ** 2))


def reliability_table(
    confidence: Sequence[float], outcome: Sequence[bool | int], bins: int = 10
) -> list[dict[str, Any]]:
    """Confidence deciles (``bins`` equal-width bins of [0, 1], the last closed) → count,
    mean confidence and hit rate; empty bins are listed with count 0 and null rates."""
    c = np.asarray(confidence, dtype=np.float64)
    o = np.asarray(outcome, dtype=np.float64)
    if len(c) != len(o):
        raise ValueError("confidence and outcome differ in length")
    # A confidence on an edge (0.7) belongs to the bin it opens, whatever 0.7 * 10 rounds to.
    which = np.minimum(np.floor(c * bins + 1e-9).astype(np.int64), bins - 1)
    rows = []
    for k in range(bins):
        sel = which == k
        cnt = int(sel.sum())
        rows.append(
            {
                "bin": [k / bins, (k + 1) / bins],
                "count": cnt,
                "mean_confidence": float(c[sel].mean()) if cnt else None,
                "hit_rate": float(o[sel].mean()) if cnt else None,
            }
        )
    return rows
