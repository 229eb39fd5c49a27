"""Pure rules of live rebalancing: schedule, order ids, order sizing, ledgers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from arenad.strategies.rebalance import (
    Fill,
    Ledger,
    client_order_id,
    is_due,
    ledger_from_fills,
    plan_orders,
    snapshot_returns,
)

AT = time(15, 45)


def ny(day: str, hhmm: str) -> datetime:
    # January: New York is UTC-5.
    h, m = map(int, hhmm.split(":"))
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, h + 5, m, tzinfo=UTC)


def test_due_once_per_period_at_or_after_the_time() -> None:
    kw = {"at": AT, "market_open": True}
    assert not is_due(ny("2025-01-06", "15:44"), frequency="monthly", last_rebalance=None, **kw)
    assert is_due(ny("2025-01-06", "15:45"), frequency="monthly", last_rebalance=None, **kw)
    assert not is_due(
        ny("2025-01-06", "15:50"),
        frequency="monthly",
        at=AT,
        market_open=False,
        last_rebalance=None,
    )
    done = date(2025, 1, 6)
    assert not is_due(ny("2025-01-07", "15:50"), frequency="monthly", last_rebalance=done, **kw)
    assert not is_due(ny("2025-01-10", "15:50"), frequency="weekly", last_rebalance=done, **kw)
    assert is_due(ny("2025-01-13", "15:50"), frequency="weekly", last_rebalance=done, **kw)
    assert is_due(ny("2025-01-07", "15:50"), frequency="daily", last_rebalance=done, **kw)
    # A missed first session of the month is caught up on a later day of the same month.
    assert is_due(ny("2025-02-04", "15:50"), frequency="monthly", last_rebalance=done, **kw)


def test_client_order_ids_are_derived_from_the_cause() -> None:
    cid = client_order_id(7, "paper", date(2025, 1, 6), "SPY")
    assert cid == "strat-7-paper-20250106-SPY"
    assert cid == client_order_id(7, "paper", date(2025, 1, 6), "SPY")
    assert len(client_order_id(10**9, "paper", date(2025, 1, 6), "BRK.B")) <= 128


def test_ledger_from_fills() -> None:
    led = ledger_from_fills(
        Decimal("1000"),
        [
            Fill("SPY", "buy", Decimal("2"), Decimal("100")),
            Fill("TLT", "buy", Decimal("5"), Decimal("50.5")),
            Fill("SPY", "sell", Decimal("2"), Decimal("110")),
        ],
    )
    assert led.cash == Decimal("1000") - 200 - Decimal("252.5") + 220
    assert led.holdings == {"TLT": Decimal("5")}
    assert led.equity({"TLT": Decimal("60")}) == led.cash + 300


def test_plan_sells_first_and_closes_dropped_holdings() -> None:
    led = Ledger(Decimal("100"), {"OLD": Decimal("3"), "SPY": Decimal("10")})
    prices = {"OLD": Decimal("10"), "SPY": Decimal("50"), "TLT": Decimal("20")}
    plans = plan_orders(
        {"SPY": 0.5, "TLT": 0.5}, led, prices, qty_step=Decimal(1), cash_buffer_bps=Decimal(0)
    )
    assert [(p.symbol, p.side, p.qty) for p in plans] == [
        ("OLD", "sell", Decimal(3)),
        ("SPY", "sell", Decimal(4)),
        ("TLT", "buy", Decimal(15)),
    ]


def test_snapshot_returns() -> None:
    assert snapshot_returns(Decimal("110"), Decimal("100"), Decimal("100")) == (
        Decimal("0.100000"),
        Decimal("0.100000"),
    )
    assert snapshot_returns(Decimal("99"), None, Decimal("100")) == (None, Decimal("-0.010000"))


PRICE = st.decimals(min_value=Decimal("1"), max_value=Decimal("2000"), places=2)
QTY = st.decimals(min_value=Decimal("0"), max_value=Decimal("500"), places=4)


@settings(max_examples=500, deadline=None)
@given(
    raw=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=5),
    held=st.lists(QTY, min_size=5, max_size=5),
    px=st.lists(PRICE, min_size=5, max_size=5),
    cash=st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=2),
    step=st.sampled_from([Decimal("0.0001"), Decimal("1")]),
)
def test_plans_never_overspend_never_short_and_reach_the_targets(
    raw: list[float], held: list[Decimal], px: list[Decimal], cash: Decimal, step: Decimal
) -> None:
    syms = ["A", "B", "C", "D", "E"]
    prices = dict(zip(syms, px, strict=True))
    weights = {s: w / sum(raw) for s, w in zip(syms, raw, strict=False)}
    led = Ledger(cash, {s: q for s, q in zip(syms, held, strict=True) if q})
    equity = led.equity(prices)
    plans = plan_orders(weights, led, prices, qty_step=step)
    after = dict(led.holdings)
    for p in plans:
        assert p.qty > 0
        if p.side == "sell":
            assert p.qty <= after.get(p.symbol, Decimal(0))  # never sells what it lacks
        after[p.symbol] = after.get(p.symbol, Decimal(0)) + (p.qty if p.side == "buy" else -p.qty)
    assert [p.side for p in plans] == sorted((p.side for p in plans), reverse=True)  # sells first
    spent = sum((q * prices[s] for s, q in after.items()), Decimal(0))
    assert spent <= equity  # buys never need more than the ledger's equity
    for s in syms:
        target = Decimal(repr(weights.get(s, 0.0))) * equity
        got = after.get(s, Decimal(0)) * prices[s]
        # within one step of the target, the cash buffer (0.5%), its own $1 minimum, and
        # the < $1 sells of up to 5 symbols skipped as too small (the buys shrink by that)
        assert abs(got - target) <= step * prices[s] + equity * Decimal("0.005") + 1 + 5


def test_round_trips_at_average_cost() -> None:
    """Buys average in; each final sell closes its quantity at the average entry; a sell of
    an order still filling waits; a holding sold out starts afresh."""
    from arenad.strategies.rebalance import BookedFill, trips_and_costs

    D = Decimal
    fills = [
        BookedFill("SPY", "buy", D(10), D(100), "t1", "b1", True),
        BookedFill("SPY", "buy", D(10), D(110), "t2", "b2", True),
        BookedFill("SPY", "sell", D(5), D(120), "t3", "s1", True),
        BookedFill("SPY", "sell", D(5), D(90), "t4", "s2", False),  # still filling
        BookedFill("SPY", "sell", D(10), D(100), "t5", "s3", True),
        BookedFill("SPY", "buy", D(2), D(50), "t6", "b3", True),
    ]
    trips, costs = trips_and_costs(fills)
    assert [(t.client_order_id, t.qty, t.entry_price, t.pnl, t.opened_at) for t in trips] == [
        ("s1", D(5), D(105), D(75), "t1"),
        ("s3", D(10), D(105), D(-50), "t1"),
    ]
    assert costs == {"SPY": (D(50), "t6")}
