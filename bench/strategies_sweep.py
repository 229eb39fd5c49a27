"""Batch sweep throughput: a 1,000-run sweep over 10 years of daily closes for 20 symbols,
run with 1 worker process and with 2, in the same run (and in-process as the baseline without
pool overhead), best of 3 interleaved trials. Wall time includes starting the spawn workers
and shipping the prices to them.

The strategy is a momentum rotation with an inverse-volatility weighting of the picks, swept
over metric (2) × window (50) × n (10) = 1,000 runs, rebalanced monthly (and one daily sweep of
200 runs, the engine's heaviest case).

    .venv/bin/python -m bench.strategies_sweep [RUNS]
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from typing import Any

import numpy as np

from arenad.strategies.batch import plan_batch, run_batch
from arenad.strategies.definition import VariableSpec
from arenad.strategies.engine import BacktestConfig
from arenad.strategies.synthetic import make_prices

SYMBOLS = [f"S{i:02d}" for i in range(20)]
DAYS = 2_520  # 10 years of trading days
TRIALS = 3


def template() -> dict[str, Any]:
    return {
        "elements": [
            {
                "type": "select_top",
                "metric": "$metric",
                "window": "$window",
                "n": "$n",
                "weighting": {"method": "inverse_volatility", "window": 63},
                "children": [{"type": "ticker", "ticker": s} for s in SYMBOLS],
            }
        ]
    }


def variables(runs: int) -> list[VariableSpec]:
    windows = max(1, runs // 20)
    return [
        VariableSpec(name="metric", values=["momentum", "low_volatility"]),
        VariableSpec(name="window", values=[str(w) for w in range(21, 21 + 5 * windows, 5)]),
        VariableSpec(name="n", values=[str(n) for n in range(1, 11)]),
    ]


def measure(label: str, runs: int, rebalance: str) -> None:
    prices = make_prices(SYMBOLS, DAYS, seed=1)
    cfg = BacktestConfig(
        rebalance=rebalance,
        fee_bps=1,
        slippage_bps=2,  # type: ignore[arg-type]
        benchmark="S00",
    )
    plan = plan_batch(template(), variables(runs), prices, cfg, max_runs=runs)
    print(
        f"{label}: {plan.total} runs, {len(plan.assignments[0])} variables, "
        f"{plan.span.last - plan.span.first + 1} trading days x {len(SYMBOLS)} symbols, "
        f"{rebalance} rebalance"
    )
    reference = None
    times: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for _ in range(TRIALS):  # interleaved, so a burst of other load hits every setting
        for workers in times:
            t0 = time.perf_counter()
            result = run_batch(plan, prices, workers=workers)
            times[workers].append(time.perf_counter() - t0)
            assert result.failed == 0
            if reference is None:
                reference = result.runs
            assert result.runs == reference, "results depend on the worker count"
    best = {w: plan.total / min(ts) for w, ts in times.items()}
    for workers, ts in times.items():
        name = "in-process" if workers == 0 else f"{workers} worker{'s' * (workers > 1)}"
        print(
            f"  {name:<11} best {min(ts):6.2f} s  {best[workers]:7.1f} runs/s   "
            f"median {statistics.median(ts):6.2f} s"
        )
    print(f"  2 workers / 1 worker (best of {TRIALS}): {best[2] / best[1]:.2f}x")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1_000
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python "
        f"{platform.python_version()}, numpy {np.__version__}, load average "
        f"{os.getloadavg()[0]:.2f} at start"
    )
    measure("monthly sweep", runs, "monthly")
    measure("daily sweep", max(20, runs // 5), "daily")


if __name__ == "__main__":
    main()
