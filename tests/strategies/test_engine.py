"""The backtest engine against hand computations, a loop-by-loop reference, and invariants."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies_ref import NearTie, ref_simulate, ref_weights

from arenad.strategies.definition import compile_root
from arenad.strategies.engine import (
    BacktestConfig,
    rebalance_rows,
    resolve_span,
    run_backtest,
    simulate,
)
from arenad.strategies.prices import PriceError, PriceTable
from arenad.strategies.synthetic import make_prices, weekdays


def table(cols: dict[str, list[float]], start: date = date(2024, 1, 1)) -> PriceTable:
    n = len(next(iter(cols.values())))
    return PriceTable.from_columns(weekdays(start, n), cols)


def tick(sym: str, weight: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "ticker", "ticker": sym}
    if weight is not None:
        node["weight"] = weight
    return node


PRICES = make_prices(["AAA", "BBB", "CCC", "DDD"], 300, seed=11)


def test_buy_and_hold_equals_the_price_ratio() -> None:
    root = compile_root({"elements": [tick("BBB", "1")]})
    res = run_backtest(root, PRICES, BacktestConfig(initial_capital=10_000, rebalance="daily"))
    p = PRICES.closes[:, 1]
    assert res.metrics["total_return"] == pytest.approx(p[-1] / p[0] - 1, rel=1e-12)
    np.testing.assert_allclose(res.equity, 10_000 * p / p[0], rtol=1e-12)
    assert res.trades == 1  # daily rebalance of a single holding never trades again
    assert res.turnover == pytest.approx(0.0, abs=1e-12)


def test_buy_and_hold_with_costs_pays_them_once() -> None:
    root = compile_root({"elements": [tick("AAA")]})
    cfg = BacktestConfig(initial_capital=1_000, fee_bps=10, slippage_bps=5, rebalance="monthly")
    res = run_backtest(root, PRICES, cfg)
    p = PRICES.closes[:, 0]
    assert res.equity[-1] == pytest.approx(1_000 * (1 - 0.0015) * p[-1] / p[0], rel=1e-12)
    assert res.costs_paid == pytest.approx(1.5, rel=1e-12)


def test_fifty_fifty_monthly_rebalance_matches_a_hand_computation() -> None:
    # Two series over 70 weekdays from 2024-01-01, computed here day by day without the engine.
    a = [100.0, 102, 101, 105, 110, 108, 107, 111, 115, 120] * 7
    b = [50.0, 49, 51, 50, 48, 47, 49, 52, 53, 51] * 7
    a = [x * (1 + 0.001 * i) for i, x in enumerate(a)]
    b = [x * (1 - 0.0005 * i) for i, x in enumerate(b)]
    prices = table({"A": a, "B": b})
    root = compile_root({"elements": [tick("A", "1"), tick("B", "1")]})
    res = run_backtest(root, prices, BacktestConfig(initial_capital=1_000, rebalance="monthly"))

    months = [str(d)[:7] for d in prices.dates]
    cash = 1_000.0
    sa = sb = 0.0
    expected = []
    for i in range(len(a)):
        if i == 0 or months[i] != months[i - 1]:
            value = cash if i == 0 else sa * a[i] + sb * b[i]
            sa, sb = value / 2 / a[i], value / 2 / b[i]
        expected.append(sa * a[i] + sb * b[i])
    np.testing.assert_allclose(res.equity, expected, rtol=1e-12)
    assert [str(d) for d in res.rebalance_dates] == [
        "2024-01-01",
        "2024-02-01",
        "2024-03-01",
        "2024-04-01",
    ]
    assert res.metrics["total_return"] == pytest.approx(expected[-1] / 1_000 - 1, rel=1e-12)
    assert res.positions()[:2] == [
        {"date": "2024-01-01", "ticker": "A", "weight": 0.5},
        {"date": "2024-01-01", "ticker": "B", "weight": 0.5},
    ]


def test_rebalance_rows_first_trading_day_of_each_period() -> None:
    dates = np.array(weekdays(date(2024, 1, 24), 12), dtype="datetime64[D]")
    # 2024-01-24 is a Wednesday; Mondays are 01-29 and 02-05; February starts on a Thursday.
    pick = lambda f: [str(dates[i]) for i in rebalance_rows(dates, f)]  # noqa: E731
    assert pick("weekly") == ["2024-01-24", "2024-01-29", "2024-02-05"]
    assert pick("monthly") == ["2024-01-24", "2024-02-01"]
    assert len(pick("daily")) == 12


def test_select_top_momentum_follows_the_leader() -> None:
    n = 80
    up = [100 * 1.01**i for i in range(n)]
    flat = [100.0] * n
    late = [100.0] * 40 + [100 * 1.03 ** (i - 39) for i in range(40, n)]
    prices = table({"UP": up, "FLAT": flat, "LATE": late})
    root = compile_root(
        {
            "elements": [
                {
                    "type": "select_top",
                    "metric": "momentum",
                    "window": 10,
                    "n": 1,
                    "children": [tick("UP"), tick("FLAT"), tick("LATE")],
                }
            ]
        }
    )
    res = run_backtest(root, prices, BacktestConfig(rebalance="daily"))
    held = [res.symbols[int(np.argmax(w))] for w in res.weights]
    assert held[0] == "UP"
    assert held[-1] == "LATE"
    assert set(held) == {"UP", "LATE"}


def test_low_volatility_and_inverse_volatility_weights() -> None:
    rng = np.random.default_rng(5)
    n = 120
    calm = 100 * np.exp(np.cumsum(rng.normal(0, 0.005, n)))
    wild = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    prices = table({"CALM": list(calm), "WILD": list(wild)})
    low = compile_root(
        {
            "elements": [
                {
                    "type": "select_top",
                    "metric": "low_volatility",
                    "window": 30,
                    "n": 1,
                    "children": [tick("WILD"), tick("CALM")],
                }
            ]
        }
    )
    res = run_backtest(low, prices, BacktestConfig(rebalance="monthly"))
    assert np.all(res.weights[:, res.symbols.index("CALM")] == 1.0)

    inv = compile_root(
        {
            "elements": [tick("CALM"), tick("WILD")],
            "weighting": {"method": "inverse_volatility", "window": 30},
        }
    )
    res = run_backtest(inv, prices, BacktestConfig(rebalance="monthly"))
    t = int(np.searchsorted(prices.dates, res.rebalance_dates[-1]))
    vol = [np.std(np.diff(x[t - 30 : t + 1]) / x[t - 30 : t], ddof=1) for x in (calm, wild)]
    expected = np.array([1 / vol[0], 1 / vol[1]]) / (1 / vol[0] + 1 / vol[1])
    np.testing.assert_allclose(res.weights[-1], expected, rtol=1e-9)


def test_metrics_match_empyrical() -> None:
    empyrical = pytest.importorskip("empyrical")
    root = compile_root({"elements": [tick("AAA", "2"), tick("CCC", "1")]})
    res = run_backtest(root, PRICES, BacktestConfig(rebalance="weekly", benchmark="DDD"))
    r = res.equity[1:] / res.equity[:-1] - 1
    b = res.benchmark_equity[1:] / res.benchmark_equity[:-1] - 1  # type: ignore[index]
    m = res.metrics
    assert m["sharpe"] == pytest.approx(empyrical.sharpe_ratio(r), rel=1e-9)
    assert m["sortino"] == pytest.approx(empyrical.sortino_ratio(r), rel=1e-9)
    assert m["volatility"] == pytest.approx(empyrical.annual_volatility(r), rel=1e-9)
    assert m["max_drawdown"] == pytest.approx(empyrical.max_drawdown(r), rel=1e-9)
    assert m["cagr"] == pytest.approx(empyrical.annual_return(r), rel=1e-9)
    assert m["calmar"] == pytest.approx(empyrical.calmar_ratio(r), rel=1e-9)
    alpha, beta = empyrical.alpha_beta(r, b)
    assert m["alpha"] == pytest.approx(alpha, rel=1e-9)
    assert m["beta"] == pytest.approx(beta, rel=1e-9)


# --- input errors ---------------------------------------------------------------------


def test_span_errors_name_what_is_missing() -> None:
    root = compile_root(
        {
            "elements": [
                {
                    "type": "select_top",
                    "metric": "momentum",
                    "window": 20,
                    "n": 1,
                    "children": [tick("AAA"), tick("BBB")],
                }
            ]
        }
    )
    with pytest.raises(PriceError, match=r"no trading days between 2030-01-01"):
        run_backtest(root, PRICES, BacktestConfig(start=date(2030, 1, 1)))
    with pytest.raises(
        PriceError,
        match=r"needs 20 trading days of history.*earliest start "
        r"these prices allow is 2015-01-30",
    ):
        run_backtest(root, PRICES, BacktestConfig(start=date(2015, 1, 5)))
    with pytest.raises(PriceError, match=r"symbol ZZZ is not in the price data \(it has AAA, BBB"):
        run_backtest(compile_root({"elements": [tick("ZZZ")]}), PRICES, BacktestConfig())
    closes = PRICES.closes.copy()
    closes[100, 1] = np.nan
    gappy = PriceTable(PRICES.dates, PRICES.symbols, closes)
    with pytest.raises(PriceError, match=rf"BBB has no close on {PRICES.dates[100]}"):
        run_backtest(root, gappy, BacktestConfig())
    # Without a start, a symbol listed late moves the start: it cannot be held before.
    closes = PRICES.closes.copy()
    closes[:50, 0] = np.nan
    late = PriceTable(PRICES.dates, PRICES.symbols, closes)
    span = resolve_span(late, ["AAA", "BBB"], 20, None, None)
    assert span.first == 70 and span.history == 50


# --- properties -----------------------------------------------------------------------

SYMS = ["S0", "S1", "S2", "S3"]


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(SYMS).map(lambda s: {"type": "ticker", "ticker": s})


def weighting() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just("equal"),
        st.integers(2, 15).map(lambda w: {"method": "inverse_volatility", "window": w}),
    )


def nodes(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    kids = st.lists(children, min_size=1, max_size=4)
    group = st.tuples(kids, weighting(), st.booleans()).map(
        lambda t: (
            {"type": "group", "children": t[0], "weighting": t[1]}
            if t[2]
            else {"type": "group", "children": t[0]}
        )
    )
    specified = kids.flatmap(
        lambda ks: st.lists(st.integers(1, 9), min_size=len(ks), max_size=len(ks)).map(
            lambda ws: {
                "type": "group",
                "children": [{**k, "weight": str(w)} for k, w in zip(ks, ws, strict=True)],
            }
        )
    )
    select = st.tuples(
        kids,
        st.sampled_from(["momentum", "low_volatility"]),
        st.integers(2, 15),
        st.integers(1, 4),
        weighting(),
    ).map(
        lambda t: {
            "type": "select_top",
            "children": t[0],
            "metric": t[1],
            "window": t[2],
            "n": min(t[3], len(t[0])),
            "weighting": t[4],
        }
    )
    return st.one_of(group, specified, select)


TREES = st.recursive(leaf(), nodes, max_leaves=8).map(lambda n: {"elements": [n]})


def random_prices(seed: int, n: int = 70) -> PriceTable:
    rng = np.random.default_rng(seed)
    rets = rng.normal(0.0005, rng.uniform(0.003, 0.03, len(SYMS)), (n, len(SYMS)))
    closes = 50 * np.exp(np.cumsum(rets, axis=0))
    return PriceTable.from_columns(
        weekdays(date(2024, 1, 1), n), {s: list(closes[:, j]) for j, s in enumerate(SYMS)}
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tree=TREES,
    seed=st.integers(0, 2**16),
    freq=st.sampled_from(["daily", "weekly", "monthly"]),
    fee=st.sampled_from([0.0, 0.0, 3.0, 250.0]),
)
def test_engine_agrees_with_the_loop_reference(
    tree: dict[str, Any], seed: int, freq: str, fee: float
) -> None:
    root = compile_root(tree)
    prices = random_prices(seed)
    cfg = BacktestConfig(rebalance=freq, fee_bps=fee, initial_capital=5_000)  # type: ignore[arg-type]
    res = run_backtest(root, prices, cfg)
    syms = root.symbols()
    sub = prices.select(syms).closes
    first = int(np.searchsorted(prices.dates, res.dates[0]))
    rows = [int(np.searchsorted(prices.dates, d)) for d in res.rebalance_dates]
    try:
        ref = {t: ref_weights(root, sub, t, syms) for t in rows}
    except NearTie:
        assume(False)
    # Weights: long only, fully invested, equal to the reference at every rebalance.
    assert np.all(res.weights >= 0)
    np.testing.assert_allclose(res.weights.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.weights, np.array([ref[t] for t in rows]), atol=1e-9)
    # Equity: positive, and what holding those shares day by day gives.
    assert np.all(res.equity > 0)
    expected = ref_simulate(ref, sub, first, first + len(res.dates) - 1, 5_000, fee / 10_000)
    np.testing.assert_allclose(res.equity, expected, rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(tree=TREES, seed=st.integers(0, 2**16), freq=st.sampled_from(["daily", "weekly"]))
def test_zero_costs_leak_nothing_and_costs_only_take(
    tree: dict[str, Any], seed: int, freq: str
) -> None:
    root = compile_root(tree)
    prices = random_prices(seed)
    free = run_backtest(root, prices, BacktestConfig(rebalance=freq))  # type: ignore[arg-type]
    # Without costs a rebalance moves value between holdings and creates or destroys none:
    # each day's equity is the previous day's holdings marked to today's closes.
    closes = prices.select(root.symbols()).closes
    first = int(np.searchsorted(prices.dates, free.dates[0]))
    bounds = [int(np.searchsorted(free.dates, d)) for d in free.rebalance_dates]
    for k, t in enumerate(bounds[1:], start=1):
        prev = bounds[k - 1]
        shares = free.weights[k - 1] * free.equity[prev] / closes[first + prev]
        assert free.equity[t] == pytest.approx(float(shares @ closes[first + t]), rel=1e-12)
    assert free.costs_paid == 0.0
    costly = run_backtest(
        root,
        prices,
        BacktestConfig(
            rebalance=freq,
            fee_bps=5,  # type: ignore[arg-type]
            slippage_bps=5,
        ),
    )
    assert np.all(costly.equity <= free.equity * (1 + 1e-12))
    assert costly.costs_paid > 0


def test_simulate_is_deterministic() -> None:
    root = compile_root(
        {
            "elements": [
                {
                    "type": "select_top",
                    "metric": "momentum",
                    "window": 30,
                    "n": 2,
                    "weighting": {"method": "inverse_volatility", "window": 20},
                    "children": [tick(s) for s in PRICES.symbols],
                }
            ]
        }
    )
    span = resolve_span(PRICES, root.symbols(), root.lookback(), None, None)
    a = simulate(root, PRICES, span, BacktestConfig(fee_bps=2))
    b = simulate(root, PRICES, span, BacktestConfig(fee_bps=2))
    assert a.metrics == b.metrics and np.array_equal(a.equity, b.equity)
