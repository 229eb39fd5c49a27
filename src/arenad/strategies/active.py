"""Daemon component: rebalance active strategies on Alpaca, track their orders, snapshot them.

One loop (``strategies-rebalancer``, a trading task) does, every ``check_interval_s``:

1. **Reconcile orders.** Every order row not in a final state is looked up by its
   client_order_id: an intent committed but never answered (crash, timeout) is either found
   at the venue and recorded, or — if the venue has never seen it and its rebalance day is
   still today — sent again under the *same* id, which makes the resend safe; otherwise it is
   marked ``lost``. Open orders get their fills recorded.
2. **Rebalance what is due** (:func:`arenad.strategies.rebalance.is_due`): daily closes from
   the venue (today's running bar is the latest close), the tree's weights at that close
   (the backtest engine's own code), the strategy's ledger from its fills, then orders —
   each one committed as an intent before it is sent (write-ahead), each one judged by the
   trading guard first (kill switch: only sells; halted: nothing).
3. **Snapshot** each active strategy's equity once per market day (updated through the day,
   final after the close) and publish it on the bus.

Market time (is the session open, which day is it in New York) comes from the venue's clock,
not ours: the simulator runs its own clock, and Alpaca's is the one orders are judged by.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import structlog
from alpaca.trading.models import Order

from arenad.books.layer import BooksLayer, Position
from arenad.books.tables import EquityPoint, RoundTrip, activate_book, record_round_trips
from arenad.clock import Clock
from arenad.control.protocol import InvalidArgs
from arenad.daemon.events import EventLog
from arenad.errors import (
    OperationalError,
    OrderRejected,
    SkipError,
    TemporaryError,
)
from arenad.guards.trading import GuardVerdict
from arenad.store.db import open_reader, utc_iso
from arenad.store.writer import StoreWriter
from arenad.strategies.definition import Root, StrategyError, compile_root
from arenad.strategies.engine import latest_weights
from arenad.strategies.prices import PriceError, PriceTable
from arenad.strategies.rebalance import (
    NY,
    BookedFill,
    ClosedTrip,
    Fill,
    Ledger,
    OrderPlan,
    client_order_id,
    is_due,
    ledger_from_fills,
    plan_orders,
    snapshot_returns,
    trips_and_costs,
)
from arenad.strategies.settings import StrategiesSettings
from arenad.venues.alpaca.rest import AlpacaREST, DuplicateClientOrderId, OrderSpec

log = structlog.get_logger("arenad.strategies")

FINAL = ("filled", "canceled", "expired", "rejected", "lost", "done_for_day")
CENTS = Decimal("0.01")
SIM_KEY = ("arenad-strategies", "arenad-strategies")  # any pair opens a simulator account


def is_live_url(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host == "api.alpaca.markets"


def is_loopback_url(url: str) -> bool:
    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class Active:
    id: int
    strategy_id: int
    name: str
    mode: str
    initial_capital: Decimal
    rebalance_frequency: str
    rebalance_time: time
    last_rebalance: date | None
    template: dict[str, Any]
    variables: dict[str, str]

    def compile(self) -> Root:
        return compile_root(self.template, self.variables)


class Rebalancer:
    def __init__(
        self,
        *,
        writer: StoreWriter,
        db_path: Path,
        clock: Clock,
        events: EventLog,
        guard: Callable[[bool], GuardVerdict],
        settings: Callable[[], StrategiesSettings],
        rest_factory: Callable[[], AlpacaREST],
        allow_live: bool = False,
        publish: Callable[[str, dict[str, Any]], None] | None = None,
        mark_order: Callable[[], Any] | None = None,
        books: BooksLayer | None = None,
    ) -> None:
        self.books = books
        """The books layer: each strategy book's equity point (every step, coalesced; forced
        at a rebalance), its round trips and its positions."""
        self.rebalanced: set[int] = set()  # active ids rebalanced since their last snapshot
        self.writer = writer
        self.db_path = db_path
        self.clock = clock
        self.events = events
        self.guard = guard
        self.settings = settings
        self._rest_factory = rest_factory
        self._rest: AlpacaREST | None = None
        self.allow_live = allow_live
        self.publish = publish or (lambda topic, data: None)
        self.mark_order = mark_order
        self.trades_live = is_live_url(settings().alpaca_trading_url)

    @property
    def rest(self) -> AlpacaREST:
        if self._rest is None:
            self._rest = self._rest_factory()
        return self._rest

    async def close(self) -> None:
        if self._rest is not None:
            await self._rest.close()
            self._rest = None

    # --- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        """The supervisor task. Venue trouble never crashes it: a crash loop of a trading task
        engages the kill switch for *every* trading loop, and missing or refused Alpaca keys
        for strategies are no reason to stop the fade or the arena. Refused keys are an error
        event (once per distinct reason) and the strategies wait; bugs still crash."""
        last_error = ""
        try:
            while True:
                try:
                    await self.step()
                    last_error = ""
                except TemporaryError as e:
                    await self.events.emit(
                        "warning", "trading", f"strategies: venue unavailable, retrying: {e}"
                    )
                except OperationalError as e:
                    if str(e) != last_error:
                        await self.events.emit("error", "trading", f"strategies cannot trade: {e}")
                    last_error = str(e)
                    await self.close()  # a fixed key (environment, restart) gets a new client
                await self.clock.sleep(self.settings().check_interval_s)
        finally:
            await self.close()

    async def step(self) -> None:
        actives = await self.load_active()
        if not actives and not await self._has_open_orders():
            return
        venue_clock = await self.rest.clock()
        market_now = venue_clock.timestamp.astimezone(UTC)
        today = market_now.astimezone(NY).date()
        await self.reconcile(today)
        for a in actives:
            if not self._mode_allowed(a):
                continue
            if is_due(
                market_now,
                frequency=a.rebalance_frequency,  # type: ignore[arg-type]
                at=a.rebalance_time,
                last_rebalance=a.last_rebalance,
                market_open=venue_clock.is_open,
            ):
                await self.rebalance(a, market_now)
                self.rebalanced.add(a.id)
        if actives:
            await self.snapshot(actives, today)

    def _mode_allowed(self, a: Active) -> bool:
        # Live rows trade only on the live venue with --live; paper rows never go there.
        if self.trades_live:
            return a.mode == "live" and self.allow_live
        return a.mode == "paper"

    # --- reads ---------------------------------------------------------------------------

    async def load_active(self) -> list[Active]:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT a.*, s.name, s.elements, s.weighting FROM active_strategies a "
                "JOIN strategies s ON s.id = a.strategy_id WHERE a.status = 'active' "
                "ORDER BY a.id"
            )
            rows = await cur.fetchall()
        out = []
        for r in rows:
            template: dict[str, Any] = {"elements": json.loads(r["elements"])}
            if r["weighting"]:
                template["weighting"] = json.loads(r["weighting"])
            last = r["last_rebalance_at"]
            out.append(
                Active(
                    id=r["id"],
                    strategy_id=r["strategy_id"],
                    name=r["name"],
                    mode=r["mode"],
                    initial_capital=Decimal(r["initial_capital"]),
                    rebalance_frequency=r["rebalance_frequency"] or "monthly",
                    rebalance_time=time.fromisoformat(r["rebalance_time"] or "15:45:00"),
                    last_rebalance=(
                        datetime.fromisoformat(last.replace("Z", "+00:00")).astimezone(NY).date()
                        if last
                        else None
                    ),
                    template=template,
                    variables=json.loads(r["variables"] or "{}"),
                )
            )
        return out

    async def _has_open_orders(self) -> bool:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                f"SELECT 1 FROM execution_orders WHERE status IS NULL OR status NOT IN "  # noqa: S608
                f"({','.join('?' * len(FINAL))}) LIMIT 1",
                FINAL,
            )
            return await cur.fetchone() is not None

    async def ledger(self, active_id: int, initial: Decimal) -> Ledger:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT symbol, side, filled_quantity, filled_price FROM execution_orders "
                "WHERE active_strategy_id = ? AND filled_quantity IS NOT NULL ORDER BY id",
                (active_id,),
            )
            rows = await cur.fetchall()
        return ledger_from_fills(
            initial,
            [
                Fill(r[0], r[1], Decimal(r[2]), Decimal(r[3]))
                for r in rows
                if r[3] is not None and Decimal(r[2]) != 0
            ],
        )

    # --- orders ----------------------------------------------------------------------------

    async def reconcile(self, today: date) -> None:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                f"SELECT * FROM execution_orders WHERE status IS NULL OR status NOT IN "  # noqa: S608
                f"({','.join('?' * len(FINAL))}) ORDER BY id",
                FINAL,
            )
            rows = await cur.fetchall()
        for r in rows:
            order = await self.rest.order_by_client_id(r["client_order_id"])
            if order is not None:
                await self._record(r["client_order_id"], order)
            elif r["status"] == "pending" and r["rebalance_date"] == today.isoformat():
                spec = OrderSpec(
                    r["symbol"], Decimal(r["quantity"]), r["side"], r["client_order_id"]
                )
                await self._send(spec, reduces=r["side"] == "sell")
            elif r["status"] == "pending":
                await self._update(
                    r["client_order_id"],
                    status="lost",
                    error_message=("never reached the venue, and its rebalance day is over"),
                )
            else:
                await self._update(
                    r["client_order_id"],
                    status="lost",
                    error_message=("the venue no longer knows this order"),
                )

    async def _record(self, cid: str, o: Order) -> None:
        status = getattr(o.status, "value", o.status)
        await self._update(
            cid,
            alpaca_order_id=str(o.id),
            status=str(status),
            order_type=str(getattr(o.order_type, "value", o.order_type) or "market"),
            filled_quantity=str(o.filled_qty) if o.filled_qty is not None else None,
            filled_price=str(o.filled_avg_price) if o.filled_avg_price is not None else None,
            filled_at=utc_iso(o.filled_at) if o.filled_at else None,
        )

    async def _update(self, cid: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        await self.writer.execute(
            f"UPDATE execution_orders SET {sets} WHERE client_order_id = ?",  # noqa: S608 - fixed names
            (*fields.values(), cid),
        )

    async def _send(self, spec: OrderSpec, *, reduces: bool) -> bool:
        verdict = self.guard(reduces)
        if not verdict.allowed:
            await self._update(
                spec.client_order_id, status="rejected", error_message=f"guard: {verdict.reason}"
            )
            await self.events.emit(
                "warning",
                "trading",
                f"strategies: {spec.side} {spec.symbol} held back: {verdict.reason}",
                {"client_order_id": spec.client_order_id},
            )
            return False
        try:
            order: Order | None = await self.rest.submit_order(spec)
        except DuplicateClientOrderId:
            # The venue has it already (a resend after a lost answer): record that one.
            order = await self.rest.order_by_client_id(spec.client_order_id)
        except OrderRejected as e:
            await self._update(spec.client_order_id, status="rejected", error_message=str(e))
            await self.events.emit(
                "warning",
                "trading",
                f"strategies: order rejected: {e}",
                {"client_order_id": spec.client_order_id},
            )
            return False
        if order is None:
            raise TemporaryError(
                f"{spec.client_order_id}: duplicate client_order_id but no such order"
            )
        await self._record(spec.client_order_id, order)
        if self.mark_order is not None:
            await self.mark_order()
        return True

    # --- rebalancing -----------------------------------------------------------------------

    async def rebalance(self, a: Active, market_now: datetime) -> None:
        day = market_now.astimezone(NY).date()
        try:
            root = a.compile()
            prices = await self.daily_closes(root, market_now)
            weights = latest_weights(root, prices)
        except (StrategyError, PriceError, SkipError) as e:
            await self._pause(a, f"cannot compute its weights: {e}")
            return
        ledger = await self.ledger(a.id, a.initial_capital)
        last = {s: Decimal(repr(float(prices.closes[-1, j]))) for j, s in enumerate(prices.symbols)}
        missing = [s for s in ledger.holdings if s not in last]
        if missing:
            extra = await self.daily_closes_of(missing, market_now, days=10)
            last |= {
                s: Decimal(repr(float(extra.closes[-1, j]))) for j, s in enumerate(extra.symbols)
            }
        s = self.settings()
        plans = plan_orders(
            weights,
            ledger,
            last,
            qty_step=Decimal("0.0001") if s.fractional else Decimal(1),
            cash_buffer_bps=Decimal(repr(s.cash_buffer_bps)),
        )
        sent = 0
        for p in plans:
            sent += await self._place(a, p, day, market_now)
        await self.writer.execute(
            "UPDATE active_strategies SET last_rebalance_at = ? WHERE id = ?",
            (utc_iso(market_now), a.id),
        )
        details = {
            "active_strategy_id": a.id,
            "strategy_id": a.strategy_id,
            "date": str(day),
            "weights": {k: round(v, 6) for k, v in weights.items()},
            "orders": len(plans),
            "sent": sent,
        }
        await self.events.emit(
            "info",
            "trading",
            f"strategy {a.name!r} rebalanced: {sent} of {len(plans)} orders",
            details,
        )
        self.publish("strategies.rebalance", details)

    async def _place(self, a: Active, p: OrderPlan, day: date, market_now: datetime) -> bool:
        cid = client_order_id(a.strategy_id, a.mode, day, p.symbol)
        # Write-ahead: the intent is committed before the order leaves. A second rebalance on
        # the same day for the same symbol hits the UNIQUE id and sends nothing.
        cur_rows = await self._existing(cid)
        if cur_rows:
            return False
        await self.writer.execute(
            "INSERT INTO execution_orders (active_strategy_id, client_order_id, rebalance_date, "
            "symbol, side, quantity, order_type, status, submitted_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'market', 'pending', ?)",
            (a.id, cid, day.isoformat(), p.symbol, p.side, str(p.qty), utc_iso(self.clock.now())),
        )
        return await self._send(OrderSpec(p.symbol, p.qty, p.side, cid), reduces=p.reduces_exposure)

    async def _existing(self, cid: str) -> bool:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT 1 FROM execution_orders WHERE client_order_id = ?", (cid,)
            )
            return await cur.fetchone() is not None

    async def _pause(self, a: Active, why: str) -> None:
        await self.writer.execute(
            "UPDATE active_strategies SET status = 'paused' WHERE id = ?", (a.id,)
        )
        await self.events.emit(
            "error", "trading", f"strategy {a.name!r} paused: {why}", {"active_strategy_id": a.id}
        )

    async def daily_closes(self, root: Root, market_now: datetime) -> PriceTable:
        # Calendar days of history to ask for: trading days × 7/5 plus holidays and margin.
        days = int(root.lookback() * 1.5) + 15
        return await self.daily_closes_of(root.symbols(), market_now, days=days)

    async def daily_closes_of(
        self, symbols: list[str], market_now: datetime, *, days: int
    ) -> PriceTable:
        bars = await self.rest.bars(
            symbols, "1Day", market_now - timedelta(days=days), feed=self.settings().alpaca_feed
        )
        return prices_from_bars(bars, symbols)

    # --- snapshots -------------------------------------------------------------------------

    async def snapshot(self, actives: list[Active], today: date) -> None:
        positions = {
            p.symbol: Decimal(str(p.current_price))
            for p in await self.rest.positions()
            if p.current_price is not None
        }
        for a in actives:
            ledger = await self.ledger(a.id, a.initial_capital)
            prices = dict(positions)
            for sym in ledger.holdings:
                if sym not in prices:
                    prices[sym] = await self._last_fill_price(a.id, sym)
            equity = ledger.equity(prices).quantize(CENTS)
            previous = await self._previous_equity(a.id, today)
            daily, cumulative = snapshot_returns(equity, previous, a.initial_capital)
            holdings = [
                {"ticker": s, "shares": str(q), "value": str((q * prices[s]).quantize(CENTS))}
                for s, q in sorted(ledger.holdings.items())
            ]
            row = (a.id, today, equity, holdings, daily, cumulative, utc_iso(self.clock.now()))

            async def txn(conn: Any, row: tuple[Any, ...] = row) -> None:
                await _upsert_snapshot(conn, *row)

            await self.writer.transaction(txn)
            await self._book(a, ledger, prices, equity)
            self.publish(
                "strategies.snapshot",
                {
                    "active_strategy_id": a.id,
                    "book_id": f"strategy:{a.strategy_id}",
                    "date": str(today),
                    "equity": str(equity),
                    "cumulative_return": str(cumulative),
                },
            )

    async def _book(
        self, a: Active, ledger: Ledger, prices: Mapping[str, Decimal], equity: Decimal
    ) -> None:
        """The strategy's book on the leaderboard: its equity point, round trips, positions."""
        if self.books is None:
            return
        book = f"strategy:{a.strategy_id}"
        trips, costs = trips_and_costs(await self.booked_fills(a.id))
        if trips:
            await self.books.transaction(
                lambda conn: record_round_trips(conn, [_round_trip(book, t) for t in trips])
            )
        value = sum((q * prices[s] for s, q in ledger.holdings.items()), Decimal(0))
        unrealized = sum(
            (q * (prices[s] - costs[s][0]) for s, q in ledger.holdings.items() if s in costs),
            Decimal(0),
        )
        await self.books.snapshot(
            [
                EquityPoint(
                    book,
                    utc_iso(self.clock.now()),
                    float(equity),
                    cash=float(ledger.cash),
                    positions_value=float(value),
                    positions_count=len(ledger.holdings),
                    realized_pnl=float(sum((t.pnl for t in trips), Decimal(0))),
                    unrealized_pnl=float(unrealized),
                )
            ],
            force=a.id in self.rebalanced,
        )
        self.rebalanced.discard(a.id)
        shown = {s for (b, s) in self.books.open_positions() if b == book}
        for sym in sorted(shown | set(ledger.holdings)):
            q = ledger.holdings.get(sym, Decimal(0))
            px = prices.get(sym)
            entry = costs.get(sym)
            self.books.position(
                Position(
                    book,
                    "strategy",
                    "alpaca",
                    sym,
                    str(q) if q else "0",
                    entry_price=None if entry is None else str(entry[0]),
                    mark_price=None if px is None else str(px),
                    notional=None if px is None else float(abs(q) * px),
                    unrealized_pnl=None
                    if px is None or entry is None
                    else float(q * (px - entry[0])),
                    opened_at=entry[1] if entry and entry[1] else None,
                )
            )

    async def booked_fills(self, active_id: int) -> list[BookedFill]:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT symbol, side, filled_quantity, filled_price, COALESCE(filled_at,"
                " submitted_at), client_order_id, status FROM execution_orders"
                " WHERE active_strategy_id = ? AND filled_quantity IS NOT NULL"
                " AND filled_price IS NOT NULL ORDER BY id",
                (active_id,),
            )
            rows = await cur.fetchall()
        return [
            BookedFill(r[0], r[1], Decimal(r[2]), Decimal(r[3]), r[4], r[5], r[6] in FINAL)
            for r in rows
            if Decimal(r[2]) != 0
        ]

    async def _previous_equity(self, active_id: int, today: date) -> Decimal | None:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT equity FROM active_strategy_snapshots WHERE active_strategy_id = ? "
                "AND snapshot_date < ? ORDER BY snapshot_date DESC LIMIT 1",
                (active_id, today.isoformat()),
            )
            row = await cur.fetchone()
        return Decimal(row[0]) if row else None

    async def _last_fill_price(self, active_id: int, symbol: str) -> Decimal:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT filled_price FROM execution_orders WHERE active_strategy_id = ? AND "
                "symbol = ? AND filled_price IS NOT NULL ORDER BY id DESC LIMIT 1",
                (active_id, symbol),
            )
            row = await cur.fetchone()
        if row is None:
            raise OperationalError(f"no price for {symbol} held by active strategy {active_id}")
        return Decimal(row[0])

    # --- control commands -------------------------------------------------------------------

    async def cmd_list(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT a.id, a.strategy_id, s.name, a.mode, a.status, a.initial_capital, "
                "a.current_capital, a.rebalance_frequency, a.rebalance_time, "
                "a.last_rebalance_at, a.started_at, a.variables, "
                "(SELECT json_object('date', snapshot_date, 'equity', equity, "
                "'cumulative_return', cumulative_return) FROM active_strategy_snapshots x "
                "WHERE x.active_strategy_id = a.id ORDER BY snapshot_date DESC LIMIT 1) AS last "
                "FROM active_strategies a JOIN strategies s ON s.id = a.strategy_id ORDER BY a.id"
            )
            rows = await cur.fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["variables"] = json.loads(d["variables"] or "{}")
            d["last_snapshot"] = json.loads(d.pop("last")) if d.get("last") else None
            d["book_id"] = f"strategy:{d['strategy_id']}"
            out.append(d)
        return out

    async def cmd_activate(self, args: dict[str, Any]) -> dict[str, Any]:
        req = parse_activation(args, self.settings())
        if req.mode == "live" and not self.allow_live:
            raise InvalidArgs('live strategies need mode = "live" in config and `--live`')
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT elements, weighting, name FROM strategies WHERE id = ?", (req.strategy_id,)
            )
            row = await cur.fetchone()
        if row is None:
            raise InvalidArgs(
                f"no strategy {req.strategy_id} (save one with `arenad backtest ... --save`)"
            )
        template: dict[str, Any] = {"elements": json.loads(row[0])}
        if row[1]:
            template["weighting"] = json.loads(row[1])
        try:
            compile_root(template, req.variables)
        except StrategyError as e:
            raise InvalidArgs(f"strategy {req.strategy_id}: {e}") from e
        now = utc_iso(self.clock.now())

        async def txn(conn: Any) -> int:
            await conn.execute(
                "INSERT INTO active_strategies (strategy_id, mode, status, initial_capital, "
                "current_capital, started_at, rebalance_frequency, rebalance_time, variables) "
                "VALUES (?, ?, 'active', ?, ?, ?, ?, ?, ?) ON CONFLICT (strategy_id, mode) DO "
                "UPDATE SET status = 'active', stopped_at = NULL, "
                "rebalance_frequency = excluded.rebalance_frequency, "
                "rebalance_time = excluded.rebalance_time, variables = excluded.variables",
                (
                    req.strategy_id,
                    req.mode,
                    str(req.capital),
                    str(req.capital),
                    now,
                    req.rebalance,
                    req.at.isoformat(),
                    json.dumps(req.variables),
                ),
            )
            await activate_book(
                conn,
                f"strategy:{req.strategy_id}",
                venue="alpaca",
                initial_capital=float(req.capital),
            )
            cur = await conn.execute(
                "SELECT id FROM active_strategies WHERE strategy_id = ? AND mode = ?",
                (req.strategy_id, req.mode),
            )
            r = await cur.fetchone()
            return int(r[0])

        aid = await self.writer.transaction(txn)
        await self.events.emit(
            "info",
            "trading",
            f"strategy {row[2]!r} activated ({req.mode})",
            {"active_strategy_id": aid, "capital": str(req.capital)},
        )
        return {"active_strategy_id": aid, "book_id": f"strategy:{req.strategy_id}"}

    async def cmd_set_status(self, args: dict[str, Any]) -> dict[str, Any]:
        aid, status = args.get("id"), args.get("status")
        if not isinstance(aid, int) or isinstance(aid, bool):
            raise InvalidArgs("id: the active strategy id (an integer)")
        if status not in ("active", "paused", "stopped"):
            raise InvalidArgs("status: one of active, paused, stopped")
        now = utc_iso(self.clock.now())
        await self.writer.execute(
            "UPDATE active_strategies SET status = ?, stopped_at = CASE WHEN ? = 'stopped' "
            "THEN ? ELSE NULL END WHERE id = ?",
            (status, status, now, aid),
        )
        await self.events.emit(
            "info", "trading", f"active strategy {aid} {status}", {"active_strategy_id": aid}
        )
        return {"id": aid, "status": status}


async def _upsert_snapshot(
    conn: Any,
    aid: int,
    day: date,
    equity: Decimal,
    holdings: list[dict[str, str]],
    daily: Decimal | None,
    cumulative: Decimal,
    now: str,
) -> None:
    await conn.execute(
        "INSERT INTO active_strategy_snapshots (active_strategy_id, snapshot_date, equity, "
        "holdings, daily_return, cumulative_return, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (active_strategy_id, snapshot_date) DO UPDATE SET equity = excluded.equity, "
        "holdings = excluded.holdings, daily_return = excluded.daily_return, "
        "cumulative_return = excluded.cumulative_return",
        (
            aid,
            day.isoformat(),
            str(equity),
            json.dumps(holdings),
            None if daily is None else str(daily),
            str(cumulative),
            now,
        ),
    )
    await conn.execute(
        "UPDATE active_strategies SET current_capital = ? WHERE id = ?", (str(equity), aid)
    )


@dataclass(frozen=True, slots=True)
class Activation:
    strategy_id: int
    mode: str
    capital: Decimal
    rebalance: str
    at: time
    variables: dict[str, str]


def _round_trip(book: str, t: ClosedTrip) -> RoundTrip:
    return RoundTrip(
        book_id=book,
        symbol=t.symbol,
        direction="long",
        quantity=str(t.qty),
        entry_time=t.opened_at,
        entry_price=str(t.entry_price),
        exit_time=t.closed_at,
        exit_price=str(t.exit_price),
        realized_pnl=float(t.pnl),
        pnl_pct=float((t.exit_price / t.entry_price - 1) * 100) if t.entry_price else None,
        exit_reason="rebalance",
        source="strategy",
        source_id=t.client_order_id,
    )


def parse_activation(args: Mapping[str, Any], s: StrategiesSettings) -> Activation:
    """Validate an `activate` request; every problem names its argument."""
    sid = args.get("strategy_id")
    if not isinstance(sid, int) or isinstance(sid, bool) or sid < 1:
        raise InvalidArgs("strategy_id: a saved strategy's id (a positive integer)")
    mode = args.get("mode", "paper")
    if mode not in ("paper", "live"):
        raise InvalidArgs("mode: paper or live")
    try:
        capital = Decimal(str(args.get("capital")))
    except ArithmeticError:
        raise InvalidArgs('capital: a positive amount, e.g. "10000"') from None
    if not capital.is_finite() or capital <= 0:
        raise InvalidArgs('capital: a positive amount, e.g. "10000"')
    rebalance = args.get("rebalance", s.rebalance)
    if rebalance not in ("daily", "weekly", "monthly"):
        raise InvalidArgs("rebalance: daily, weekly or monthly")
    at_raw = args.get("at")
    try:
        at = s.rebalance_time if at_raw is None else time.fromisoformat(str(at_raw))
    except ValueError:
        raise InvalidArgs(f"at: a New York time of day like 15:45, got {at_raw!r}") from None
    variables = args.get("variables") or {}
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise InvalidArgs('variables: an object of strings, e.g. {"n": "2"}')
    return Activation(sid, mode, capital.quantize(CENTS), rebalance, at, variables)


def prices_from_bars(bars: Mapping[str, list[dict[str, Any]]], symbols: list[str]) -> PriceTable:
    """Daily bars → closes by New York date (Alpaca stamps day bars at midnight New York)."""
    by_day: dict[str, dict[str, float]] = {}
    for sym in symbols:
        rows = bars.get(sym) or []
        if not rows:
            raise PriceError(f"the venue returned no daily bars for {sym}")
        for b in rows:
            try:
                t = datetime.fromisoformat(str(b["t"]).replace("Z", "+00:00"))
                close = float(b["c"])
            except (KeyError, TypeError, ValueError) as e:
                raise SkipError(f"malformed bar for {sym}: {b!r}") from e
            by_day.setdefault(t.astimezone(NY).date().isoformat(), {})[sym] = close
    days = sorted(by_day)
    return PriceTable.from_columns(
        days, {s: [by_day[d].get(s, float("nan")) for d in days] for s in symbols}
    )


async def setup(ctx: Any) -> None:
    """Add the rebalancer to the daemon (called from :mod:`arenad.strategies.component`)."""
    import os

    s: StrategiesSettings = ctx.current.strategies
    if not s.rebalancer_enabled:
        return
    secrets = ctx.current.secrets

    def rest_factory() -> AlpacaREST:
        cfg: StrategiesSettings = ctx.current.strategies
        key = os.environ.get(secrets.alpaca_key_id_env)
        secret = os.environ.get(secrets.alpaca_secret_key_env)
        if not (key and secret):
            if not is_loopback_url(cfg.alpaca_trading_url):
                raise OperationalError(
                    f"active strategies need Alpaca keys: set {secrets.alpaca_key_id_env} and "
                    f"{secrets.alpaca_secret_key_env}"
                )
            key, secret = SIM_KEY
        return AlpacaREST(cfg.alpaca_trading_url, cfg.alpaca_data_url, key, secret, clock=ctx.clock)

    if is_live_url(s.alpaca_trading_url) and not ctx.allow_live:
        await ctx.events.emit(
            "warning",
            "trading",
            "strategies: the Alpaca URL is live but the daemon was not started "
            "with --live; live strategies will not trade",
        )
    reb = Rebalancer(
        writer=ctx.writer,
        db_path=ctx.db_path,
        clock=ctx.clock,
        events=ctx.events,
        guard=lambda reduces: ctx.guard.allows(reduces),
        settings=lambda: ctx.current.strategies,
        rest_factory=rest_factory,
        allow_live=ctx.allow_live,
        publish=ctx.bus.publish,
        mark_order=ctx.health.mark_order,
        books=ctx.books,
    )
    ctx.supervisor.add("strategies-rebalancer", reb.run, trading=True)
    ctx.control.register(
        "strategies.active", reb.cmd_list, "active strategies with their latest snapshot"
    )
    ctx.control.register(
        "strategies.activate",
        reb.cmd_activate,
        "trade a saved strategy {strategy_id, capital, mode, rebalance, at, variables}",
    )
    ctx.control.register(
        "strategies.set_status",
        reb.cmd_set_status,
        "pause, resume or stop an active strategy {id, status}",
    )
