"""Rails, virtual ledgers and exits (pure): each rail blocks what it should, properties hold for
any sequence of orders and prices, ledgers reconcile, exits fire on the right tick."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from arenad.arena.calendar import NEW_YORK, NyseCalendar
from arenad.arena.exits import check_exit, deadline, exit_client_order_id, manual_exit
from arenad.arena.ledger import Ledger, Position, reconcile, total_positions
from arenad.arena.rails import (
    Proposal,
    RailContext,
    check_order,
    client_order_id,
    fill_breach,
    market_entry,
)
from arenad.arena.settings import ExitSettings, RailsSettings
from arenad.guards.trading import TradingState

D = Decimal
T0 = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
TODAY = date(2025, 3, 10)
RAILS = RailsSettings(
    max_position_size=D(10000),
    max_daily_loss=D(1000),
    max_open_positions=2,
    allowed_symbols=["AAPL", "NVDA", "TSLA"],
)


def ctx(
    led: Ledger,
    marks: dict[str, Decimal] | None = None,
    state: TradingState = TradingState.ACTIVE,
    rails: RailsSettings = RAILS,
) -> RailContext:
    return RailContext(led, marks or {}, rails, TODAY, state)


def blocked_by(p: Proposal, c: RailContext) -> set[str]:
    ok, verdicts = check_order(p, c)
    assert ok == all(v.allowed for v in verdicts)
    return {v.rail for v in verdicts if not v.allowed}


def fresh() -> Ledger:
    led = Ledger.new("arena:t", D(100000))
    led.roll_day(TODAY, {})
    return led


def test_each_rail_blocks_what_it_should() -> None:
    led = fresh()
    assert blocked_by(Proposal("AAPL", "buy", D(10), D(100)), ctx(led)) == set()
    assert blocked_by(Proposal("AMZN", "buy", D(1), D(100)), ctx(led)) == {"allowed_symbols"}
    assert blocked_by(Proposal("AAPL", "buy", D(101), D(100)), ctx(led)) == {"max_position_size"}
    assert blocked_by(Proposal("AAPL", "sell", D(1), D(100)), ctx(led)) == {"short_selling"}
    assert blocked_by(
        Proposal("AAPL", "buy", D(1), D(100)), ctx(led, state=TradingState.HALTED)
    ) == {"kill_switch"}
    poor = Ledger.new("arena:p", D(500))
    assert blocked_by(Proposal("AAPL", "buy", D(10), D(100)), ctx(poor)) == {"cash"}
    led.apply_fill("AAPL", "buy", D(10), D(100), T0)
    led.apply_fill("NVDA", "buy", D(10), D(100), T0)
    assert blocked_by(Proposal("TSLA", "buy", D(1), D(100)), ctx(led)) == {"max_open_positions"}
    assert blocked_by(Proposal("AAPL", "buy", D(1), D(100)), ctx(led)) == set()  # same symbol
    # halted: exits still pass; adding does not
    assert (
        blocked_by(Proposal("AAPL", "sell", D(10), D(100)), ctx(led, state=TradingState.HALTED))
        == set()
    )
    assert blocked_by(Proposal("AAPL", "sell", D(11), D(100)), ctx(led)) == {"short_selling"}
    # the daily loss: down 1,000 on the day → sits out; exits still allowed
    marks = {"AAPL": D("50.01"), "NVDA": D(50)}  # down 999.90: still trading
    assert blocked_by(Proposal("AAPL", "buy", D(1), D(50)), ctx(led, marks)) == set()
    marks = {"AAPL": D(50), "NVDA": D(50)}  # down 1,000.00
    assert blocked_by(Proposal("AAPL", "buy", D(1), D(50)), ctx(led, marks)) == {"max_daily_loss"}
    assert led.sat_out_day == TODAY
    assert blocked_by(Proposal("AAPL", "sell", D(5), D(50)), ctx(led, marks)) == set()
    assert blocked_by(Proposal("AAPL", "buy", D(0), D(50)), ctx(led, marks)) == {"order"}


def test_market_entries_are_limits_that_cannot_fill_past_the_judged_price() -> None:
    # 50 bps over 187.37 is 188.30685: a buy's limit rounds down to the cent, and the rails
    # judge the buy at that limit (the most it can fill at).
    buy = market_entry("buy", D("187.37"), D(50))
    assert buy.limit == buy.judged == D("188.30")
    # a short sale's limit rounds up (it never sells below the allowance), judged padded up
    sell = market_entry("sell", D("187.37"), D(50))
    assert sell.limit == D("186.44") and sell.judged == D("188.30")
    assert market_entry("buy", D("0.5123"), D(100)).limit == D("0.5174")  # sub-dollar tick
    assert market_entry("buy", D(100), D(0)).limit == D(100)
    # shares that fit at the last price do not fit with the allowance
    led = fresh()
    assert blocked_by(Proposal("AAPL", "buy", D(100), D(100)), ctx(led)) == set()
    padded = market_entry("buy", D(100), D(50)).judged
    assert blocked_by(Proposal("AAPL", "buy", D(100), padded), ctx(led)) == {"max_position_size"}


def test_open_orders_on_the_same_side_count_into_the_position_rail() -> None:
    led = fresh()
    led.apply_fill("AAPL", "buy", D(40), D(100), T0)
    p = Proposal("AAPL", "buy", D(30), D(100))
    assert blocked_by(p, ctx(led)) == set()  # 70 x 100 = 7,000
    c = RailContext(led, {}, RAILS, TODAY, open_buys={"AAPL": D(40)})
    ok, verdicts = check_order(p, c)  # 40 held + 40 resting + 30 = 11,000
    assert not ok
    (v,) = [v for v in verdicts if v.rail == "max_position_size"]
    assert "11000.00 USD with 40 in open orders" in v.reason
    # resting sells do not count into a buy, nor resting buys of another symbol
    assert check_order(p, RailContext(led, {}, RAILS, TODAY, open_sells={"AAPL": D(40)}))[0]
    assert check_order(p, RailContext(led, {}, RAILS, TODAY, open_buys={"NVDA": D(90)}))[0]


def test_fill_breach_checks_the_position_at_the_fill_price() -> None:
    assert fill_breach(D(100), D(100), RAILS) is None  # exactly at the rail
    v = fill_breach(D(100), D("100.04"), RAILS)
    assert v is not None and not v.allowed and v.rail == "max_position_size_fill"
    assert "10004.00 USD, over 10000" in v.reason
    assert fill_breach(D(-101), D(100), RAILS) is not None  # shorts too


def test_client_order_ids_derive_from_the_cause() -> None:
    a = client_order_id("daily:2025-03-10T19:45Z", "claude", "NVDA")
    assert a == client_order_id("daily:2025-03-10T19:45Z", "claude", "NVDA")
    assert a != client_order_id("daily:2025-03-11T19:45Z", "claude", "NVDA")
    assert a != client_order_id("daily:2025-03-10T19:45Z", "gpt", "NVDA")
    assert len(a) <= 128 and a.startswith("ar-claude-NVDA-")


orders = st.lists(
    st.tuples(
        st.sampled_from(["AAPL", "NVDA", "TSLA", "AMZN"]),
        st.sampled_from(["buy", "sell"]),
        st.integers(min_value=1, max_value=400),
        st.decimals(min_value=D("1.00"), max_value=D("900.00"), places=2),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(orders=orders, short=st.booleans())
def test_no_order_ever_exceeds_max_position_size(orders: list, short: bool) -> None:  # type: ignore[type-arg]
    rails = RAILS.model_copy(update={"allow_short": short})
    led = fresh()
    for sym, side, qty, price in orders:
        marks = {sym: price}
        held = led.qty(sym)
        ok, _ = check_order(Proposal(sym, side, D(qty), price), ctx(led, marks, rails=rails))
        if not ok:
            continue
        led.apply_fill(sym, side, D(qty), price, T0)
        after = led.qty(sym)
        assert abs(after) * price <= rails.max_position_size or abs(after) < abs(held)
        assert sum(1 for p in led.positions.values()) <= rails.max_open_positions
        assert sym in rails.allowed_symbols
        assert short or after >= 0
        assert led.cash >= 0 or short


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["AAPL", "NVDA"]),
            st.sampled_from(["buy", "sell"]),
            st.integers(1, 60),
            st.decimals(D("20"), D("200"), places=2),
        ),
        min_size=1,
        max_size=40,
    )
)
@example(
    steps=[
        ("AAPL", "buy", 50, D(200)),
        ("AAPL", "buy", 1, D(20)),
        ("NVDA", "buy", 1, D(100)),
        ("AAPL", "buy", 1, D(200)),
        ("AAPL", "sell", 50, D(200)),
    ]
)
def test_past_max_daily_loss_nothing_more_that_day(steps: list) -> None:  # type: ignore[type-arg]
    led = fresh()
    marks = {"AAPL": D(100), "NVDA": D(100)}
    past_limit = False
    for sym, side, qty, price in steps:
        marks[sym] = price
        p = Proposal(sym, side, D(qty), price)
        reduces = p.reduces_exposure(led)
        loss_now = -led.day_pnl(marks) >= RAILS.max_daily_loss
        ok, verdicts = check_order(p, ctx(led, marks))
        if loss_now and not reduces:
            past_limit = True
        if past_limit and not reduces:
            # once past the limit, even a recovery later that day does not reopen trading
            assert not ok and "max_daily_loss" in {v.rail for v in verdicts if not v.allowed}
        if ok:
            led.apply_fill(sym, side, D(qty), price, T0)
    if past_limit:
        led.roll_day(date(2025, 3, 11), marks)
        assert led.sat_out_day is None  # a new day, a new chance


def test_ledger_round_trips_and_reconciliation() -> None:
    a, b = Ledger.new("arena:a", D(10000)), Ledger.new("arena:b", D(10000))
    a.apply_fill("AAPL", "buy", D(10), D(100), T0, client_order_id="e1", stop_loss=D(90))
    a.apply_fill("AAPL", "buy", D(10), D(110), T0)
    assert a.positions["AAPL"].avg_price == D(105) and a.positions["AAPL"].stop_loss == D(90)
    t = a.apply_fill(
        "AAPL",
        "sell",
        D(5),
        D(120),
        T0 + timedelta(hours=1),
        client_order_id="x1",
        exit_reason="take_profit",
    )
    assert t is not None and t.pnl == D(75) and t.exit_reason == "take_profit"
    assert t.pnl_pct == pytest.approx(75 / 525 * 100)
    assert a.realized_pnl == D(75) and a.qty("AAPL") == D(15)
    b.apply_fill("AAPL", "buy", D(3), D(100), T0)
    assert total_positions([a, b]) == {"AAPL": D(18)}
    assert reconcile([a, b], {"AAPL": D(18)}) == {}
    assert reconcile([a, b], {"AAPL": D(20), "NVDA": D(1)}) == {"AAPL": D(2), "NVDA": D(1)}
    assert a.equity({"AAPL": D(120)}) == a.cash + 15 * D(120)
    # crossing zero closes the long and opens a short with the remainder
    t2 = a.apply_fill("AAPL", "sell", D(20), D(100), T0)
    assert t2 is not None and t2.qty == D(15) and a.qty("AAPL") == D(-5)
    assert a.positions["AAPL"].avg_price == D(100)
    with pytest.raises(ValueError):
        a.apply_fill("AAPL", "buy", D(0), D(1), T0)


def _pos(tf: str, opened: datetime, qty: int = 10) -> Position:
    return Position("AAPL", D(qty), D(100), opened, D(95), D(110), tf, "e1")


def test_exits_stop_target_and_time_limits() -> None:
    ex, cal = ExitSettings(), NyseCalendar()
    opened = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)  # Mon 10:00 New York
    p = _pos("swing", opened)
    now = opened + timedelta(hours=1)
    assert check_exit(p, D(100), now, ex, cal) is None
    s = check_exit(p, D("94.99"), now, ex, cal)
    assert s is not None and s.reason == "stop_loss" and s.side == "sell" and s.qty == D(10)
    s = check_exit(p, D(110), now, ex, cal)
    assert s is not None and s.reason == "take_profit"
    short = Position("AAPL", D(-10), D(100), opened, D(105), D(90), "swing")
    assert check_exit(short, D(106), now, ex, cal).reason == "stop_loss"  # type: ignore[union-attr]
    assert check_exit(short, D(89), now, ex, cal).side == "buy"  # type: ignore[union-attr]
    # day positions close 10 minutes before that session's close
    day = _pos("day", opened)
    assert deadline(day, ex, cal) == datetime(2025, 3, 10, 15, 50, tzinfo=NEW_YORK)
    assert check_exit(day, D(100), datetime(2025, 3, 10, 19, 49, tzinfo=UTC), ex, cal) is None
    assert (
        check_exit(day, D(100), datetime(2025, 3, 10, 19, 50, tzinfo=UTC), ex, cal).reason
        == "time_limit"
    )  # type: ignore[union-attr]
    # a day position opened after the close belongs to the next session (half day: 13:00)
    late = _pos("day", datetime(2025, 11, 26, 22, 0, tzinfo=UTC))  # Wed evening; Thu holiday
    assert deadline(late, ex, cal) == datetime(2025, 11, 28, 12, 50, tzinfo=NEW_YORK)
    # swing: 5 trading days after the opening day (Good Friday skipped)
    sw = _pos("swing", datetime(2025, 4, 14, 14, 0, tzinfo=UTC))
    assert deadline(sw, ex, cal) == datetime(2025, 4, 22, 15, 50, tzinfo=NEW_YORK)
    assert deadline(_pos("long-term", opened), ex, cal) is None
    m = manual_exit(p, D(101))
    assert m.reason == "manual" and m.side == "sell"
    assert exit_client_order_id(p, "x", "stop_loss") != exit_client_order_id(p, "x", "manual")
