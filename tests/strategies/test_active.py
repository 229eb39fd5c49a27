"""The active-strategy rebalancer against the simulator's Alpaca venue (real HTTP on loopback,
the project's AlpacaREST client), on a real migrated database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from arenad.books.layer import BooksLayer
from arenad.clock import FakeClock
from arenad.control.protocol import InvalidArgs
from arenad.daemon.bus import Bus
from arenad.daemon.events import EventLog
from arenad.errors import OperationalError
from arenad.guards.trading import GuardVerdict, TradingState, judge
from arenad.sim.alpaca.app import ALPACA_SIM_KEY
from arenad.sim.server import SimServer
from arenad.store.db import connect_sync
from arenad.strategies import store as db
from arenad.strategies.active import Rebalancer, parse_activation, prices_from_bars
from arenad.strategies.definition import parse_strategy
from arenad.strategies.prices import PriceError
from arenad.strategies.settings import StrategiesSettings
from arenad.venues.alpaca.rest import AlpacaREST, OrderSpec
from conftest import Store
from fixtures_sim import poll_until, sim_settings

MONDAY_10AM_NY = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)
KEY = ("PKSTRAT", "secret")
SIXTY_FORTY = {
    "name": "60/40",
    "elements": [
        {"type": "ticker", "ticker": "SPY", "weight": "0.6"},
        {"type": "ticker", "ticker": "TLT", "weight": "0.4"},
    ],
}
MOMENTUM = {
    "name": "mom",
    "elements": [
        {
            "type": "select_top",
            "metric": "momentum",
            "window": "$w",
            "n": 1,
            "children": [{"type": "ticker", "ticker": s} for s in ("SPY", "QQQ", "GLD")],
        }
    ],
}


@dataclass
class Rig:
    store: Store
    sim: SimServer
    reb: Rebalancer
    rest: AlpacaREST
    state: list[TradingState] = field(default_factory=lambda: [TradingState.ACTIVE])
    bus: Bus = field(default_factory=Bus)

    @property
    def venue(self) -> Any:
        assert self.sim.alpaca_app is not None
        return self.sim.alpaca_app[ALPACA_SIM_KEY]

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        conn = connect_sync(self.store.path, readonly=True)
        try:
            return list(conn.execute(sql, params))
        finally:
            conn.close()

    async def activate(self, strategy: dict[str, Any], **args: Any) -> tuple[int, int]:
        sid = await db.save_strategy(
            self.store.writer, parse_strategy(strategy), now=MONDAY_10AM_NY
        )
        res = await self.reb.cmd_activate(
            {"strategy_id": sid, "capital": "10000", "at": "09:45", **args}
        )
        return sid, res["active_strategy_id"]

    def market(self, seconds: float) -> None:
        """Move the simulated market (and the rebalancer's clock with it) forward and let it
        fill what is due."""
        self.venue.step(seconds)
        clock = self.reb.clock
        assert isinstance(clock, FakeClock)
        clock.advance(seconds)


@pytest.fixture
async def rig(store: Store) -> AsyncIterator[Rig]:
    sim = SimServer(
        sim_settings(bots_enabled=False, always_open=False), clock=FakeClock(MONDAY_10AM_NY)
    )
    await sim.start()
    url = sim.alpaca_url
    assert url is not None
    settings = StrategiesSettings(alpaca_trading_url=url, alpaca_data_url=url)
    state = [TradingState.ACTIVE]

    def guard(reduces: bool) -> GuardVerdict:
        return judge(state[0], reduces)

    clock = FakeClock(MONDAY_10AM_NY)
    bus = Bus()
    reb = Rebalancer(
        writer=store.writer,
        db_path=store.path,
        clock=clock,
        events=EventLog(store.writer),
        guard=guard,
        settings=lambda: settings,
        rest_factory=lambda: AlpacaREST(url, url, *KEY),
        books=BooksLayer(store.writer, bus, clock, min_interval_s=lambda: 0.0),
    )
    rest = AlpacaREST(url, url, *KEY)
    try:
        yield Rig(store, sim, reb, rest, state, bus=bus)
    finally:
        await reb.close()
        await rest.close()
        await sim.stop()


async def test_rebalance_places_orders_records_fills_and_snapshots(rig: Rig) -> None:
    sid, aid = await rig.activate(SIXTY_FORTY)
    await rig.reb.step()
    orders = rig.rows("SELECT * FROM execution_orders ORDER BY symbol")
    assert [o["client_order_id"] for o in orders] == [
        f"strat-{sid}-paper-20250106-SPY",
        f"strat-{sid}-paper-20250106-TLT",
    ]
    assert all(o["side"] == "buy" and o["alpaca_order_id"] for o in orders)
    (a,) = rig.rows("SELECT * FROM active_strategies")
    assert a["last_rebalance_at"].startswith("2025-01-06T15:00")

    rig.market(60)
    await rig.reb.step()  # same month: records fills, does not rebalance again
    orders = rig.rows("SELECT * FROM execution_orders ORDER BY symbol")
    assert len(orders) == 2
    assert [o["status"] for o in orders] == ["filled", "filled"]
    venue_orders = {o.client_order_id: o for o in await rig.rest.orders(status="all")}
    spend = Decimal(0)
    for o in orders:
        v = venue_orders[o["client_order_id"]]
        assert Decimal(o["filled_quantity"]) == Decimal(str(v.filled_qty))
        assert Decimal(o["filled_price"]) == Decimal(str(v.filled_avg_price))
        spend += Decimal(o["filled_quantity"]) * Decimal(o["filled_price"])
    # 60/40 of the 10,000 less the 0.5% cash buffer, within the spread.
    values = {
        o["symbol"]: Decimal(o["filled_quantity"]) * Decimal(o["filled_price"]) for o in orders
    }
    assert values["SPY"] / spend == pytest.approx(Decimal("0.6"), abs=Decimal("0.002"))
    assert Decimal(9900) < spend <= Decimal(10000)

    (snap,) = rig.rows("SELECT * FROM active_strategy_snapshots")
    assert (snap["active_strategy_id"], snap["snapshot_date"]) == (aid, "2025-01-06")
    assert Decimal(snap["equity"]) == pytest.approx(Decimal(10000), rel=Decimal("0.01"))
    holdings = {h["ticker"]: Decimal(h["shares"]) for h in json.loads(snap["holdings"])}
    assert holdings == {o["symbol"]: Decimal(o["filled_quantity"]) for o in orders}
    assert rig.rows("SELECT current_capital FROM active_strategies")[0][0] == snap["equity"]
    listed = await rig.reb.cmd_list({})
    assert listed[0]["book_id"] == f"strategy:{sid}"
    assert listed[0]["last_snapshot"]["equity"] == snap["equity"]
    (book,) = rig.rows("SELECT venue, initial_capital FROM books")
    assert tuple(book) == ("alpaca", 10000.0)


async def test_the_strategy_book_has_a_curve_round_trips_and_positions(rig: Rig) -> None:
    """Issue #13: the strategy's book gets an equity point at each step (one right after a
    rebalance), a round trip for each sell at its average entry, and position messages."""
    positions = rig.bus.subscribe(["position"])
    sid, _ = await rig.activate(SIXTY_FORTY, rebalance="monthly")
    book = f"strategy:{sid}"
    await rig.reb.step()
    rig.market(60)
    await rig.reb.step()
    curve = rig.rows("SELECT ts, equity FROM equity_snapshots WHERE book_id = ?", (book,))
    assert len(curve) >= 1
    assert curve[-1]["equity"] == pytest.approx(10000, rel=0.01)
    assert not rig.rows("SELECT * FROM trade_log")
    buys = {
        r["symbol"]: r for r in rig.rows("SELECT * FROM execution_orders WHERE status = 'filled'")
    }
    # February: the strategy now holds SPY only, so all of TLT is sold.
    await db.save_strategy(
        rig.store.writer,
        parse_strategy(
            {"name": "60/40", "elements": [{"type": "ticker", "ticker": "SPY", "weight": "1"}]}
        ),
        now=MONDAY_10AM_NY,
    )
    rig.market((datetime(2025, 2, 3, 15, 0, tzinfo=UTC) - rig.venue.now()).total_seconds())
    await rig.reb.step()
    rig.market(60)
    await rig.reb.step()
    (sell,) = rig.rows(
        "SELECT * FROM execution_orders WHERE symbol = 'TLT' AND side = 'sell'"
        " AND status = 'filled'"
    )
    (trip,) = rig.rows("SELECT * FROM trade_log WHERE book_id = ?", (book,))
    tlt = buys["TLT"]
    assert (trip["symbol"], trip["direction"], trip["source"]) == ("TLT", "long", "strategy")
    assert Decimal(trip["quantity"]) == Decimal(tlt["filled_quantity"])
    assert Decimal(trip["entry_price"]) == Decimal(tlt["filled_price"])
    assert Decimal(trip["exit_price"]) == Decimal(sell["filled_price"])
    want = Decimal(tlt["filled_quantity"]) * (
        Decimal(sell["filled_price"]) - Decimal(tlt["filled_price"])
    )
    assert trip["realized_pnl"] == pytest.approx(float(want))
    assert len(rig.rows("SELECT * FROM equity_snapshots WHERE book_id = ?", (book,))) > len(curve)
    await rig.reb.step()  # recording again adds no second round trip
    assert len(rig.rows("SELECT * FROM trade_log")) == 1
    seen: dict[str, str] = {}
    while positions._items:
        m = (await positions.get()).data
        assert m["book_id"] == book and m["kind"] == "strategy"
        seen[m["symbol"]] = m["size"]
    assert seen["TLT"] == "0" and Decimal(seen["SPY"]) > 0


async def test_next_month_rebalances_again_with_new_ids(rig: Rig) -> None:
    sid, _ = await rig.activate(SIXTY_FORTY, rebalance="monthly")
    await rig.reb.step()
    rig.market(60)
    await rig.reb.step()
    # Jump to Monday 2025-02-03 10:00 New York (the first session of February).
    rig.market((datetime(2025, 2, 3, 15, 0, tzinfo=UTC) - rig.venue.now()).total_seconds())
    await rig.reb.step()
    dates = {r[0] for r in rig.rows("SELECT rebalance_date FROM execution_orders")}
    assert dates <= {"2025-01-06", "2025-02-03"} and "2025-02-03" in dates
    feb = rig.rows(
        "SELECT client_order_id FROM execution_orders WHERE rebalance_date = '2025-02-03'"
    )
    assert all(r[0].startswith(f"strat-{sid}-paper-20250203-") for r in feb)


async def test_a_lost_answer_is_reconciled_without_a_second_order(rig: Rig) -> None:
    sid, aid = await rig.activate(SIXTY_FORTY)
    # A crash after the intent was committed and the order sent, before the answer:
    cid = f"strat-{sid}-paper-20250106-SPY"
    await rig.rest.submit_order(OrderSpec("SPY", Decimal("5"), "buy", cid))
    # ... and one whose send never happened.
    cid2 = f"strat-{sid}-paper-20250106-TLT"
    for c, sym in ((cid, "SPY"), (cid2, "TLT")):
        await rig.store.writer.execute(
            "INSERT INTO execution_orders (active_strategy_id, client_order_id, rebalance_date, "
            "symbol, side, quantity, status, submitted_at) VALUES (?, ?, '2025-01-06', ?, "
            "'buy', '5', 'pending', 'x')",
            (aid, c, sym),
        )
    await rig.reb.step()
    venue = [o for o in await rig.rest.orders(status="all") if o.client_order_id in (cid, cid2)]
    assert sorted(o.client_order_id for o in venue) == sorted([cid, cid2])  # one each
    rows = {r["client_order_id"]: r for r in rig.rows("SELECT * FROM execution_orders")}
    assert rows[cid]["alpaca_order_id"] == str(
        next(o.id for o in venue if o.client_order_id == cid)
    )
    assert rows[cid2]["alpaca_order_id"] is not None
    # The rebalance of that day found both symbols already ordered and sent nothing more.
    assert len(rows) == 2
    # Sending a known id again is answered with the venue's order, not a second one.
    assert await rig.reb._send(OrderSpec("SPY", Decimal("5"), "buy", cid), reduces=False)
    assert len([o for o in await rig.rest.orders(status="all") if o.client_order_id == cid]) == 1


async def test_the_kill_switch_holds_back_buys(rig: Rig) -> None:
    await rig.activate(SIXTY_FORTY)
    rig.state[0] = TradingState.HALTED
    await rig.reb.step()
    orders = rig.rows("SELECT status, error_message FROM execution_orders")
    assert orders and all(o[0] == "rejected" and o[1].startswith("guard:") for o in orders)
    assert await rig.rest.orders(status="all") == []
    events = rig.rows("SELECT message FROM system_events WHERE level = 'warning'")
    assert any("held back" in e[0] for e in events)


async def test_an_unusable_strategy_is_paused_with_the_reason(rig: Rig) -> None:
    # A symbol the venue does not list: valid as a definition, fails only at the venue.
    await rig.activate(
        {
            "name": "odd",
            "elements": [
                {"type": "ticker", "ticker": "SPY"},
                {"type": "ticker", "ticker": "NOPEX"},
            ],
        }
    )
    await rig.reb.step()
    (a,) = rig.rows("SELECT status FROM active_strategies")
    assert a[0] == "paused"
    (e,) = rig.rows("SELECT message FROM system_events WHERE level = 'error'")
    assert "'odd' paused: cannot compute its weights" in e[0] and "NOPEX" in e[0]
    assert rig.rows("SELECT count(*) FROM execution_orders")[0][0] == 0


async def test_momentum_strategy_trades_its_pick(rig: Rig) -> None:
    await rig.activate(MOMENTUM, variables={"w": "10"})
    await rig.reb.step()
    orders = rig.rows("SELECT symbol, side FROM execution_orders")
    assert len(orders) == 1 and orders[0][1] == "buy"
    assert orders[0][0] in ("SPY", "QQQ", "GLD")


async def test_live_rows_never_trade_on_a_paper_venue(rig: Rig) -> None:
    rig.reb.allow_live = True
    await rig.activate(SIXTY_FORTY, mode="live")
    await rig.reb.step()
    assert rig.rows("SELECT count(*) FROM execution_orders")[0][0] == 0


async def test_activation_arguments_are_checked(rig: Rig) -> None:
    s = StrategiesSettings()
    for args, msg in [
        ({}, "strategy_id"),
        ({"strategy_id": 1, "capital": "-5"}, "capital"),
        ({"strategy_id": 1, "capital": "abc"}, "capital"),
        ({"strategy_id": 1, "capital": "1", "mode": "demo"}, "mode"),
        ({"strategy_id": 1, "capital": "1", "rebalance": "hourly"}, "rebalance"),
        ({"strategy_id": 1, "capital": "1", "at": "25:00"}, "at"),
        ({"strategy_id": 1, "capital": "1", "variables": {"n": 2}}, "variables"),
    ]:
        with pytest.raises(InvalidArgs, match=msg):
            parse_activation(args, s)
    with pytest.raises(InvalidArgs, match="no strategy 99"):
        await rig.reb.cmd_activate({"strategy_id": 99, "capital": "100"})
    with pytest.raises(InvalidArgs, match=r"live strategies need"):
        await rig.activate(SIXTY_FORTY, mode="live")
    with pytest.raises(InvalidArgs, match=r"variable \$w has no value"):
        await rig.activate(MOMENTUM)
    _, aid = await rig.activate(SIXTY_FORTY)
    assert (await rig.reb.cmd_set_status({"id": aid, "status": "paused"}))["status"] == "paused"
    await rig.reb.step()
    assert rig.rows("SELECT count(*) FROM execution_orders")[0][0] == 0
    with pytest.raises(InvalidArgs, match="status"):
        await rig.reb.cmd_set_status({"id": aid, "status": "gone"})


def test_prices_from_bars_by_new_york_day() -> None:
    bars = {
        "SPY": [{"t": "2025-01-03T05:00:00Z", "c": 1.0}, {"t": "2025-01-06T05:00:00Z", "c": 2.0}],
        "TLT": [{"t": "2025-01-06T05:00:00Z", "c": 3.0}],
    }
    t = prices_from_bars(bars, ["SPY", "TLT"])
    assert [str(d) for d in t.dates] == ["2025-01-03", "2025-01-06"]
    assert t.closes[1].tolist() == [2.0, 3.0]
    with pytest.raises(PriceError, match="no daily bars for GLD"):
        prices_from_bars(bars, ["GLD"])


async def test_an_unreachable_venue_is_a_warning_and_the_loop_goes_on(store: Store) -> None:
    sid = await db.save_strategy(store.writer, parse_strategy(SIXTY_FORTY), now=MONDAY_10AM_NY)
    clock = FakeClock(MONDAY_10AM_NY)
    settings = StrategiesSettings(
        alpaca_trading_url="http://127.0.0.1:9",
        alpaca_data_url="http://127.0.0.1:9",
        check_interval_s=60,
    )
    reb = Rebalancer(
        writer=store.writer,
        db_path=store.path,
        clock=clock,
        events=EventLog(store.writer),
        guard=lambda reduces: judge(TradingState.ACTIVE, reduces),
        settings=lambda: settings,
        rest_factory=lambda: AlpacaREST(
            "http://127.0.0.1:9", "http://127.0.0.1:9", *KEY, max_retries=0
        ),
    )
    await reb.cmd_activate({"strategy_id": sid, "capital": "1000"})
    task = asyncio.create_task(reb.run())

    def warnings() -> int:
        conn = connect_sync(store.path, readonly=True)
        try:
            return int(
                conn.execute(
                    "SELECT count(*) FROM system_events WHERE level = "
                    "'warning' AND message LIKE 'strategies: venue%'"
                ).fetchone()[0]
            )
        finally:
            conn.close()

    try:
        await poll_until(lambda: warnings() == 1 and clock.sleepers == 1, what="first warning")
        clock.advance(60)  # the next check happens after check_interval_s
        await poll_until(lambda: warnings() == 2, what="second warning")
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_strategies_sharing_an_account_keep_separate_ledgers(rig: Rig) -> None:
    _, a1 = await rig.activate(SIXTY_FORTY)
    _, a2 = await rig.activate(
        {"name": "all spy", "elements": [{"type": "ticker", "ticker": "SPY"}]}, capital="5000"
    )
    await rig.reb.step()
    rig.market(60)
    await rig.reb.step()
    spy = {
        r[0]: Decimal(r[1])
        for r in rig.rows(
            "SELECT active_strategy_id, filled_quantity FROM execution_orders WHERE symbol = 'SPY'"
        )
    }
    assert set(spy) == {a1, a2}
    (position,) = [p for p in await rig.rest.positions() if p.symbol == "SPY"]
    assert Decimal(str(position.qty)) == spy[a1] + spy[a2]  # the account holds the sum
    snaps = {
        r[0]: Decimal(r[1])
        for r in rig.rows("SELECT active_strategy_id, equity FROM active_strategy_snapshots")
    }
    assert snaps[a1] == pytest.approx(Decimal(10000), rel=Decimal("0.01"))
    assert snaps[a2] == pytest.approx(Decimal(5000), rel=Decimal("0.01"))
    holdings = json.loads(
        rig.rows(
            "SELECT holdings FROM active_strategy_snapshots WHERE active_strategy_id = ?", (a2,)
        )[0][0]
    )
    assert [h["ticker"] for h in holdings] == ["SPY"]


async def test_refused_keys_are_one_error_event_not_a_crash(store: Store) -> None:
    sid = await db.save_strategy(store.writer, parse_strategy(SIXTY_FORTY), now=MONDAY_10AM_NY)
    clock = FakeClock(MONDAY_10AM_NY)
    settings = StrategiesSettings(alpaca_trading_url="https://paper-api.alpaca.markets")

    def no_keys() -> AlpacaREST:
        raise OperationalError("active strategies need Alpaca keys: set APCA_API_KEY_ID")

    reb = Rebalancer(
        writer=store.writer,
        db_path=store.path,
        clock=clock,
        events=EventLog(store.writer),
        guard=lambda reduces: judge(TradingState.ACTIVE, reduces),
        settings=lambda: settings,
        rest_factory=no_keys,
    )
    await reb.cmd_activate({"strategy_id": sid, "capital": "1000"})
    task = asyncio.create_task(reb.run())

    def errors() -> int:
        conn = connect_sync(store.path, readonly=True)
        try:
            return int(
                conn.execute(
                    "SELECT count(*) FROM system_events WHERE level = 'error' "
                    "AND message LIKE 'strategies cannot trade:%'"
                ).fetchone()[0]
            )
        finally:
            conn.close()

    try:
        await poll_until(lambda: errors() == 1 and clock.sleepers == 1, what="the error")
        clock.advance(60)
        await poll_until(lambda: clock.sleepers == 1, what="the next sleep")
        await asyncio.sleep(0.05)
        assert errors() == 1 and not task.done()  # reported once, still running
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
