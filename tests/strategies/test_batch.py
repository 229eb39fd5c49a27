"""Batch sweeps: planning (order, cap, validation), the process pool, and the event loop."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import Any

import pytest

from arenad.strategies.batch import (
    PREVIEW,
    BatchResult,
    RunResult,
    parse_var_arg,
    plan_batch,
    run_batch,
    run_batch_async,
)
from arenad.strategies.definition import StrategyError, VariableSpec
from arenad.strategies.engine import BacktestConfig
from arenad.strategies.synthetic import make_prices

PRICES = make_prices(["SPY", "QQQ", "TLT", "GLD", "IWM"], 400, seed=2)
TEMPLATE: dict[str, Any] = {
    "elements": [
        {
            "type": "select_top",
            "metric": "momentum",
            "window": "$window",
            "n": "$n",
            "children": [{"type": "ticker", "ticker": s} for s in ("SPY", "QQQ", "IWM")],
        },
        {"type": "ticker", "ticker": "$bond"},
    ]
}
VARS = [
    VariableSpec(name="window", values=["20", "60", "120"]),
    VariableSpec(name="n", values=["1", "2"]),
    VariableSpec(name="bond", values=["TLT", "GLD"]),
]


def test_parse_var_arg() -> None:
    v = parse_var_arg("ticker=SPY, QQQ,IWM")
    assert (v.name, v.values) == ("ticker", ["SPY", "QQQ", "IWM"])
    assert parse_var_arg("$n=1").name == "n"
    for bad, msg in [
        ("ticker", "expected NAME=V1,V2"),
        ("=1,2", "expected NAME=V1,V2"),
        ("t=", "empty value"),
        ("t=a,,b", "empty value"),
        ("t=a,a", "listed twice"),
        ("9x=1", "should match pattern"),
    ]:
        with pytest.raises(StrategyError, match=msg):
            parse_var_arg(bad)


def test_plan_is_the_cartesian_product_in_order_and_capped() -> None:
    plan = plan_batch(TEMPLATE, VARS, PRICES, BacktestConfig(), max_runs=1000)
    assert plan.total == plan.combinations == 12 and not plan.truncated
    assert plan.assignments[:3] == (
        {"window": "20", "n": "1", "bond": "TLT"},
        {"window": "20", "n": "1", "bond": "GLD"},
        {"window": "20", "n": "2", "bond": "TLT"},
    )
    assert plan.variables_json()[0] == {"name": "window", "values": ["20", "60", "120"], "count": 3}
    # One span for every run: the deepest lookback (120) sets the common start.
    assert plan.span.first == 120
    capped = plan_batch(TEMPLATE, VARS, PRICES, BacktestConfig(), max_runs=5)
    assert capped.total == 5 and capped.combinations == 12 and capped.truncated
    assert capped.assignments == plan.assignments[:5]
    big = [
        VariableSpec(name="window", values=[str(w) for w in range(2, 40)]),
        VariableSpec(name="n", values=["1", "2"]),
        VariableSpec(name="bond", values=["TLT"]),
    ]
    assert len(plan_batch(TEMPLATE, big, PRICES, BacktestConfig(), 1000).preview()) == PREVIEW


def test_plan_validates_every_assignment_before_running() -> None:
    with pytest.raises(StrategyError, match=r"variables\.extra: \$extra is not used"):
        plan_batch(
            TEMPLATE,
            [*VARS, VariableSpec(name="extra", values=["1"])],
            PRICES,
            BacktestConfig(),
            10,
        )
    with pytest.raises(
        StrategyError,
        match=r"elements\[1\]\.ticker: variable \$bond has no "
        r"values \(add --var bond=...\)",
    ):
        plan_batch(TEMPLATE, VARS[:2], PRICES, BacktestConfig(), 10)
    bad_n = [VARS[0], VariableSpec(name="n", values=["1", "4"]), VARS[2]]
    with pytest.raises(StrategyError) as e:
        plan_batch(TEMPLATE, bad_n, PRICES, BacktestConfig(), 100)
    assert str(e.value) == (
        "run 2 (window=20, n=4, bond=TLT): elements[0].n: is 4 but there are only 3 children"
    )
    with pytest.raises(StrategyError, match=r"variables\.n: defined twice"):
        plan_batch(TEMPLATE, [*VARS, VARS[1]], PRICES, BacktestConfig(), 10)


def test_summary_best_worst_average() -> None:
    plan = plan_batch(TEMPLATE, VARS, PRICES, BacktestConfig(), 3)
    res = BatchResult(
        plan,
        [
            RunResult(0, {"a": "0"}, {"total_return": 0.1}),
            RunResult(1, {"a": "1"}, {"total_return": 0.3}),
            RunResult(2, {"a": "2"}, None, "boom"),
            RunResult(3, {"a": "3"}, {"total_return": 0.3}),
            RunResult(4, {"a": "4"}, {"total_return": -0.2}),
        ],
    )
    s = res.summary()
    assert s["best"] == {"run_index": 1, "vars": {"a": "1"}, "total_return": 0.3}
    assert s["worst"] == {"run_index": 4, "vars": {"a": "4"}, "total_return": -0.2}
    assert s["avg_return"] == pytest.approx(0.125)
    assert (s["runs"], s["failed"]) == (5, 1)


def test_pool_results_equal_in_process_results_in_run_order() -> None:
    plan = plan_batch(TEMPLATE, VARS, PRICES, BacktestConfig(fee_bps=1, benchmark="SPY"), 100)
    seen: list[tuple[int, int]] = []
    inline = run_batch(plan, PRICES, workers=0)
    pooled = run_batch(plan, PRICES, workers=2, progress=lambda d, t: seen.append((d, t)))
    assert [r.run_index for r in pooled.runs] == list(range(12))
    assert pooled.runs == inline.runs  # bit-identical metrics, whatever finished first
    assert pooled.failed == 0
    assert all(r.metrics and "sharpe" in r.metrics and "beta" in r.metrics for r in pooled.runs)
    assert seen[-1] == (12, 12) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert pooled.summary()["best"]["total_return"] == max(
        r.metrics["total_return"] for r in pooled.runs if r.metrics
    )


async def test_async_sweep_leaves_the_event_loop_free() -> None:
    many = [
        VariableSpec(name="window", values=[str(w) for w in range(20, 140, 4)]),
        VARS[1],
        VARS[2],
    ]
    plan = plan_batch(TEMPLATE, many, PRICES, BacktestConfig(rebalance="weekly"), 1000)
    progress: list[int] = []
    sweep = asyncio.create_task(
        run_batch_async(plan, PRICES, workers=2, progress=lambda d, t: progress.append(d))
    )
    ticks_while_running = 0
    worst_gap = 0.0
    last = time.monotonic()
    while not sweep.done():
        await asyncio.sleep(0.01)
        now = time.monotonic()
        worst_gap = max(worst_gap, now - last)
        last = now
        ticks_while_running += not sweep.done()
    result = await sweep
    assert len(result.runs) == plan.total == 120
    assert progress[-1] == 120
    # The loop kept turning while workers computed (a blocking call would allow no tick at
    # all until the sweep ended). The bound on the gap is loose: the machine is shared.
    assert ticks_while_running >= 5
    assert worst_gap < 2.0
    assert result.runs == run_batch(plan, PRICES, workers=0).runs


async def test_cancelling_an_async_sweep_shuts_the_pool_down() -> None:
    many = [VariableSpec(name="window", values=[str(w) for w in range(20, 140)]), VARS[1], VARS[2]]
    plan = plan_batch(TEMPLATE, many, PRICES, BacktestConfig(rebalance="daily"), 1000)
    started = asyncio.Event()
    sweep = asyncio.create_task(
        run_batch_async(plan, PRICES, workers=1, progress=lambda d, t: started.set())
    )
    await asyncio.wait_for(started.wait(), 60)
    sweep.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sweep
    assert multiprocessing.active_children() == []  # workers joined, none left behind
