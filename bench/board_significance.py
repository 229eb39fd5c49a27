"""The whole leaderboard with its significance figures: 100 books × one year of hourly equity,
all four timeframes, every book's PSR, PSR against the benchmark, DSR, minimum track record,
alpha/beta and the 95 % stationary-bootstrap Sharpe and return intervals (1,000 resamples,
Politis–White block length). Target: under 1 s, bootstrap included.

Measured in the same run, each the median of several repetitions:
- plain: the board without significance (what ``bench.metrics_recompute`` calls compute);
- with intervals, first: the very first board of the process (arch draws the resample
  index matrices, one per sample size and block length);
- with intervals, every book changed: the steady case of the daemon after a new point per
  book — every book re-bootstrapped (no interval cache hit), index matrices already drawn;
- with intervals, nothing changed: a recompute where no curve moved (interval cache hits).

    .venv/bin/python -m bench.board_significance [BOOKS] [HOURS] [RESAMPLES]
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime

import numpy as np

from arenad.metrics.board import TIMEFRAMES, BookData, BookInfo, SignificanceOptions, leaderboard

END = datetime(2025, 10, 28, tzinfo=UTC)


def make_books(books: int, hours: int, seed: int = 1) -> list[BookData]:
    rng = np.random.default_rng(seed)
    t = np.arange(hours, dtype=np.float64) * 3600.0 + (END.timestamp() - (hours - 1) * 3600.0)
    out = []
    for b in range(books):
        kind = "fade" if b < books // 2 else "arena_model"
        venue = "hyperliquid" if kind == "fade" else "alpaca"
        bd = BookData(BookInfo(f"{kind}:m{b:03d}", kind, f"m{b:03d}", venue=venue))
        drift = rng.normal(0.00002, 0.00005)
        bd.add_points(
            t.tolist(), (10_000 * np.cumprod(1 + rng.normal(drift, 0.003, hours))).tolist()
        )
        out.append(bd)
    bench = BookData(BookInfo("benchmark:BTC", "benchmark", "BTC", venue="hyperliquid"))
    bench.add_points(t.tolist(), (10_000 * np.cumprod(1 + rng.normal(0, 0.006, hours))).tolist())
    return [*out, bench]


def board(books: list[BookData], now: float, opts: SignificanceOptions) -> int:
    n = 0
    for tf in TIMEFRAMES:
        n += len(leaderboard(books, tf, now, significance=opts))
    return n


def med(xs: list[float]) -> float:
    return statistics.median(xs) * 1000


def main(books: int = 100, hours: int = 8760, reps: int = 1000) -> None:
    bs = make_books(books, hours)
    now = END.timestamp() + 60
    plain = SignificanceOptions(enabled=False)

    t0 = time.perf_counter()
    board(bs, now, SignificanceOptions(reps=reps, cache={}))
    first = time.perf_counter() - t0

    p, changed, same = [], [], []
    for i in range(5):
        t0 = time.perf_counter()
        board(bs, now, plain)
        p.append(time.perf_counter() - t0)
        # A new point per book (the steady daemon case): every curve moved, every book is
        # re-bootstrapped.
        for b in bs:
            b.add_points([now + 3600.0 * (i + 1)], [float(b.equity[-1]) * 1.0001])
        at = now + 3600.0 * (i + 1) + 1
        cache: dict[tuple[bytes, int, int, float], object] = {}
        opts = SignificanceOptions(reps=reps, cache=cache)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        rows = board(bs, at, opts)
        changed.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        board(bs, at, opts)
        same.append(time.perf_counter() - t0)
    assert rows == 4 * len(bs)
    sample = leaderboard(bs, "all_time", at, significance=SignificanceOptions(reps=reps))
    withci = sum(1 for s in sample if s.sharpe_ci is not None)
    load = os.getloadavg()
    print(
        f"{datetime.now(UTC):%Y-%m-%d} {platform.machine()} {os.cpu_count()} cores "
        f"Python {platform.python_version()} load average {load[0]:.1f}/{load[1]:.1f}"
    )
    print(f"{len(bs)} books x {hours} hourly points, {reps} resamples; {withci} all-time intervals")
    print(f"plain board, 4 timeframes (median of 5):                 {med(p):8.1f} ms")
    print(f"with intervals, first board of the process:              {first * 1000:8.1f} ms")
    print(f"with intervals, every book changed (median of 5):        {med(changed):8.1f} ms")
    print(f"with intervals, nothing changed (median of 5):           {med(same):8.1f} ms")
    target = "met" if med(changed) < 1000 else "NOT met"
    print(f"target (whole board with intervals < 1 s): {target}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
