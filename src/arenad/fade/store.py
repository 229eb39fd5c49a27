"""The fade engine's database layer (schemas/0003, and the books' rows in 0002).

Write order, which is what makes orders neither duplicated nor lost:
1. ``record_batch`` — in ONE transaction: the new bot events, their decisions, and the order
   intents (status ``intent``, cloid derived from the events), the books' bot positions, and
   the decisions mirrored into ``decision_log``. Only then is an order sent.
2. ``record_result`` — in one transaction: the order's result, each fade book's credited
   share, positions of the fade books and the account, closed round trips into ``trade_log``.
At start-up ``open_intents`` lists intents with no final result; the component asks the venue
about each by cloid before any new order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiosqlite

from arenad.fade.accounting import ZERO, Book, Trip
from arenad.fade.engine import Decision, FadeEngine, FillResult, OrderPlan, Outcome
from arenad.fade.settings import FadeSettings
from arenad.metrics.store import INSERT_ROUND_TRIP, benchmark_snapshot, round_trip
from arenad.store.db import open_reader, utc_iso
from arenad.store.writer import StoreWriter
from arenad.venues.hyperliquid.wire import BotFill


def fill_key(f: BotFill) -> str:
    """The fill's one dedupe key (``wire.fill_key``), as stored in ``fade_bot_events``."""
    return f.key


def ms_iso(ms: int) -> str:
    return utc_iso(datetime.fromtimestamp(ms / 1000, UTC))


@dataclass(frozen=True, slots=True)
class NewFill:
    bot_id: str
    fill: BotFill
    source: str


class FadeStore:
    def __init__(self, writer: StoreWriter, db_path: Path) -> None:
        self.writer = writer
        self.db_path = db_path

    # --- start-up ---------------------------------------------------------------------------

    async def register_books(self, settings: FadeSettings, now: datetime) -> None:
        """A `books` row for every bot (`bot:<id>`) and fade book (`fade:<id>`); names and
        capital follow the config."""
        ts = utc_iso(now)

        async def fn(conn: aiosqlite.Connection) -> None:
            for b in settings.bots:
                details = json.dumps({"wallet": b.wallet, "bot_id": b.id})
                await conn.execute(
                    "INSERT INTO books (book_id, kind, name, provider, venue, details, created_at)"
                    " VALUES (?, 'bot', ?, 'hyperliquid', 'hyperliquid', ?, ?)"
                    " ON CONFLICT (book_id) DO UPDATE SET name = excluded.name,"
                    " details = excluded.details, active = 1",
                    (b.book_id, b.display_name, details, ts),
                )
                await conn.execute(
                    "INSERT INTO books (book_id, kind, name, provider, venue, initial_capital,"
                    " details, created_at) VALUES (?, 'fade', ?, 'fade', 'hyperliquid', ?, ?, ?)"
                    " ON CONFLICT (book_id) DO UPDATE SET name = excluded.name,"
                    " details = excluded.details, active = 1",
                    (
                        b.fade_book_id,
                        f"Fade {b.display_name}",
                        float(settings.initial_capital_usd),
                        json.dumps({"bot_id": b.id, "multiplier": str(b.leverage_multiplier)}),
                        ts,
                    ),
                )

        await self.writer.transaction(fn)

    async def load_into(self, engine: FadeEngine) -> None:
        """Positions (bot books, fade books, account) and operator pauses from the database."""
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT book_id, coin, size, entry_price, opened_at, realized_pnl, fees, funding,"
                " trip FROM fade_positions"
            )
            for r in await cur.fetchall():
                book = _book(engine, r["book_id"])
                if book is None:
                    continue
                p = book.pos(r["coin"])
                p.size = Decimal(r["size"])
                p.entry = Decimal(r["entry_price"] or "0")
                p.opened_ms = (
                    int(
                        datetime.fromisoformat(r["opened_at"].replace("Z", "+00:00")).timestamp()
                        * 1000
                    )
                    if r["opened_at"]
                    else None
                )
                p.realized = Decimal(r["realized_pnl"])
                p.fees = Decimal(r["fees"])
                p.funding = Decimal(r["funding"])
                p.restore_trip(json.loads(r["trip"] or "{}"))
            cur = await conn.execute("SELECT bot_id FROM fade_bot_state WHERE paused = 1")
            engine.paused = {r[0] for r in await cur.fetchall()}

    async def last_fill_ms(self, wallet: str) -> int | None:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT max(time_ms) FROM fade_bot_events WHERE wallet = ?", (wallet.lower(),)
            )
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    async def known_keys(self, wallet: str, keys: Sequence[str]) -> set[str]:
        """Which of these fills are already stored (delivery is at-least-once)."""
        if not keys:
            return set()
        out: set[str] = set()
        async with open_reader(self.db_path) as conn:
            for i in range(0, len(keys), 500):
                chunk = list(keys[i : i + 500])
                cur = await conn.execute(
                    # Only placeholders are formatted in; the keys are bound parameters.
                    "SELECT fill_key FROM fade_bot_events WHERE wallet = ? AND fill_key IN "  # noqa: S608
                    f"({', '.join('?' * len(chunk))})",
                    (wallet.lower(), *chunk),
                )
                out |= {r[0] for r in await cur.fetchall()}
        return out

    async def open_intents(self) -> list[dict[str, Any]]:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT * FROM fade_orders WHERE status NOT IN "
                "('filled', 'partially_filled', 'rejected', 'cancelled', 'not_sent') ORDER BY id"
            )
            return [dict(r) for r in await cur.fetchall()]

    async def set_paused(self, bot_id: str, paused: bool, by: str, now: datetime) -> None:
        await self.writer.execute(
            "INSERT INTO fade_bot_state (bot_id, paused, paused_by, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (bot_id) DO UPDATE SET paused = excluded.paused,"
            " paused_by = excluded.paused_by, updated_at = excluded.updated_at",
            (bot_id, int(paused), by, utc_iso(now)),
        )

    # --- the write path ---------------------------------------------------------------------

    async def record_batch(
        self,
        fills: Sequence[NewFill],
        decisions: Sequence[Decision],
        plans: Sequence[OrderPlan],
        engine: FadeEngine,
        now: datetime,
        *,
        network: str,
        simulated: bool,
        limit_prices: Mapping[str, Decimal | None] | None = None,
    ) -> None:
        """Events, decisions and order intents in one transaction (see the module doc). Sets
        ``Decision.id``/``event_id``."""
        ts = utc_iso(now)
        by_key: dict[str, int] = {}

        async def fn(conn: aiosqlite.Connection) -> None:
            for nf in fills:
                f = nf.fill
                key = fill_key(f)
                cur = await conn.execute(
                    "INSERT OR IGNORE INTO fade_bot_events (bot_id, wallet, ts, time_ms,"
                    " event_type, coin, side, size, price, notional, previous_size,"
                    " current_size, dir,"
                    " closed_pnl, fee, fee_token, hash, tid, oid, fill_key, source, raw,"
                    " received_at) VALUES (?, ?, ?, ?, 'fill', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    " ?, ?, ?, ?, ?, ?)",
                    (
                        nf.bot_id,
                        f.wallet,
                        ms_iso(f.time_ms),
                        f.time_ms,
                        f.coin,
                        "buy" if f.is_buy else "sell",
                        str(f.sz),
                        str(f.px),
                        float(f.notional),
                        str(f.start_position),
                        str(f.new_position),
                        f.dir,
                        str(f.closed_pnl),
                        str(f.fee),
                        f.fee_token,
                        f.hash,
                        f.tid,
                        f.oid,
                        key,
                        nf.source,
                        json.dumps(f.raw, separators=(",", ":")),
                        ts,
                    ),
                )
                if cur.lastrowid and cur.rowcount:
                    by_key[key] = cur.lastrowid
            for d in decisions:
                d.event_id = by_key.get(d.event_key)
                cur = await conn.execute(
                    "INSERT INTO fade_decisions (event_id, bot_id, book_id, ts, coin, decision,"
                    " reason, skip_reason, bot_position, target_size, book_size, order_size,"
                    " mark_price, risk_checks, settings_snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
                    " ?, ?, ?, ?, ?, ?, ?)",
                    (
                        d.event_id,
                        d.bot_id,
                        d.book_id,
                        ts,
                        d.coin,
                        d.decision,
                        d.reason,
                        d.skip_reason,
                        str(d.bot_position),
                        str(d.target),
                        str(d.book_size),
                        str(d.order_size),
                        None if d.mark is None else str(d.mark),
                        json.dumps([c.wire() for c in d.checks]),
                        json.dumps(d.settings, separators=(",", ":")),
                    ),
                )
                d.id = cur.lastrowid
                await conn.execute(
                    "INSERT OR IGNORE INTO decision_log (book_id, model_id, symbol, ts, decision,"
                    " reasoning, current_price, position_size, direction, executed, source,"
                    " source_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'fade', ?, ?)",
                    (
                        d.book_id,
                        d.bot_id,
                        d.coin,
                        ts,
                        d.decision,
                        d.reason,
                        None if d.mark is None else str(d.mark),
                        str(d.order_size),
                        None if not d.order_size else ("long" if d.order_size > 0 else "short"),
                        str(d.id),
                        json.dumps({"event_id": d.event_id, "target": str(d.target)}),
                    ),
                )
            for p in plans:
                if not p.size:
                    continue
                first = p.decisions[0]
                request = {
                    "coin": p.coin,
                    "is_buy": p.is_buy,
                    "size": str(abs(p.size)),
                    "limit_price": _s((limit_prices or {}).get(p.cloid)),
                    "reduce_only": p.reduce_only,
                    "cloid": p.cloid,
                    "tif": "Ioc",
                    "asks": {b: str(a) for b, a in p.asks.items()},
                }
                cur = await conn.execute(
                    "INSERT OR IGNORE INTO fade_orders (cloid, event_id, decision_id, bot_id, ts,"
                    " coin, side, size, limit_price, reduce_only, simulated, network, status,"
                    " order_request, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    " 'intent', ?, ?)",
                    (
                        p.cloid,
                        first.event_id,
                        first.id,
                        p.bot_id,
                        ts,
                        p.coin,
                        "buy" if p.is_buy else "sell",
                        str(abs(p.size)),
                        request["limit_price"],
                        int(p.reduce_only),
                        int(simulated),
                        network,
                        json.dumps(request),
                        ts,
                    ),
                )
                oid = cur.lastrowid
                for book_id, asked in p.asks.items():
                    did = next((d.id for d in p.decisions if d.book_id == book_id), None)
                    await conn.execute(
                        "INSERT OR IGNORE INTO fade_order_books (order_id, book_id, decision_id,"
                        " asked) VALUES (?, ?, ?, ?)",
                        (oid, book_id, did, str(asked)),
                    )
            bots = {nf.bot_id for nf in fills}
            for bot_id in bots:
                await _save_book(conn, engine.bots[bot_id], ts)

        await self.writer.transaction(fn)

    async def record_result(
        self,
        plan: OrderPlan,
        result: FillResult,
        outcome: Outcome,
        engine: FadeEngine,
        now: datetime,
        raw_result: Any = None,
    ) -> None:
        ts = utc_iso(now)
        realized = sum(outcome.realized.values(), ZERO)

        async def fn(conn: aiosqlite.Connection) -> None:
            cur = await conn.execute("SELECT id FROM fade_orders WHERE cloid = ?", (plan.cloid,))
            row = await cur.fetchone()
            order_id = row[0] if row else None
            notional = (
                float(result.filled * result.avg_price) if result.avg_price is not None else None
            )
            await conn.execute(
                "UPDATE fade_orders SET status = ?, venue_oid = ?, filled_size = ?, avg_price = ?,"
                " fee = ?, notional = ?, realized_pnl = ?, order_result = ?, error = ?,"
                " updated_at = ? WHERE cloid = ?",
                (
                    result.status,
                    result.oid,
                    str(result.filled),
                    _s(result.avg_price),
                    str(result.fee),
                    notional,
                    float(realized),
                    json.dumps(raw_result if raw_result is not None else _result_json(result)),
                    result.error,
                    ts,
                    plan.cloid,
                ),
            )
            for book_id, qty in outcome.credited.items():
                if order_id is not None:
                    await conn.execute(
                        "UPDATE fade_order_books SET credited = ?, price = ?, fee = ?,"
                        " realized_pnl = ? WHERE order_id = ? AND book_id = ?",
                        (
                            str(qty),
                            _s(result.avg_price),
                            str(outcome.fees.get(book_id, ZERO)),
                            str(outcome.realized.get(book_id, ZERO)),
                            order_id,
                            book_id,
                        ),
                    )
                book = _book(engine, book_id)
                if book is not None:
                    await _save_book(conn, book, ts, [plan.coin])
            await _save_book(conn, engine.account, ts, [plan.coin])
            if order_id is not None:
                await conn.execute(
                    "UPDATE decision_log SET executed = ?, execution_price = ?,"
                    " execution_time = ?, execution_status = ? WHERE source = 'fade'"
                    " AND source_id IN (SELECT CAST(decision_id AS TEXT) FROM fade_order_books"
                    " WHERE order_id = ? AND decision_id IS NOT NULL)",
                    (int(result.filled > 0), _s(result.avg_price), ts, result.status, order_id),
                )
            await record_trips(conn, outcome.trips, plan.cloid)

        await self.writer.transaction(fn)

    async def save_books(self, engine: FadeEngine, now: datetime) -> None:
        """Every fade book's and the account's positions (after funding)."""
        ts = utc_iso(now)

        async def fn(conn: aiosqlite.Connection) -> None:
            for book in (*engine.fades.values(), engine.account):
                await _save_book(conn, book, ts)

        await self.writer.transaction(fn)

    async def record_unknown(self, cloid: str, result: FillResult, now: datetime) -> None:
        """Sent, answer lost: the venue is asked by cloid later, never sent again."""
        await self.writer.execute(
            "UPDATE fade_orders SET status = 'unknown', error = ?, updated_at = ? WHERE cloid = ?",
            (result.error, utc_iso(now), cloid),
        )

    async def has_unknown(self) -> bool:
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute("SELECT 1 FROM fade_orders WHERE status = 'unknown' LIMIT 1")
            return await cur.fetchone() is not None

    async def plan_of(self, row: Mapping[str, Any]) -> OrderPlan:
        """The plan an intent row was written for (its books' asks from fade_order_books)."""
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT book_id, asked FROM fade_order_books WHERE order_id = ?", (row["id"],)
            )
            asks = {r[0]: Decimal(r[1]) for r in await cur.fetchall()}
        size = Decimal(row["size"]) * (1 if row["side"] == "buy" else -1)
        return OrderPlan(
            row["cloid"], row["coin"], size, asks, [], bool(row["reduce_only"]), row["bot_id"]
        )

    async def record_manual_intent(
        self,
        plan: OrderPlan,
        now: datetime,
        limit: Decimal | None,
        *,
        network: str,
        simulated: bool,
    ) -> None:
        """An operator's close, written ahead like any order."""
        ts = utc_iso(now)

        async def fn(conn: aiosqlite.Connection) -> None:
            request = {
                "coin": plan.coin,
                "is_buy": plan.is_buy,
                "size": str(abs(plan.size)),
                "limit_price": _s(limit),
                "reduce_only": True,
                "cloid": plan.cloid,
                "tif": "Ioc",
                "reason": "manual",
            }
            cur = await conn.execute(
                "INSERT INTO fade_orders (cloid, bot_id, ts, coin, side, size, limit_price,"
                " reduce_only, simulated, network, status, order_request, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 'intent', ?, ?)",
                (
                    plan.cloid,
                    plan.bot_id,
                    ts,
                    plan.coin,
                    "buy" if plan.is_buy else "sell",
                    str(abs(plan.size)),
                    _s(limit),
                    int(simulated),
                    network,
                    json.dumps(request),
                    ts,
                ),
            )
            for book_id, asked in plan.asks.items():
                await conn.execute(
                    "INSERT INTO fade_order_books (order_id, book_id, asked) VALUES (?, ?, ?)",
                    (cur.lastrowid, book_id, str(asked)),
                )

        await self.writer.transaction(fn)

    async def benchmark_snapshot(
        self, symbol: str, price: Decimal, capital: Decimal, now: datetime
    ) -> None:
        ts = utc_iso(now)
        await self.writer.transaction(
            lambda conn: benchmark_snapshot(conn, symbol, price, capital, ts, "hyperliquid")
        )

    async def record_equity(
        self, engine: FadeEngine, marks: Mapping[str, Decimal], now: datetime
    ) -> dict[str, float]:
        """One equity snapshot per fade book (and per bot whose account value is known), all
        at the same instant so the aggregates line up."""
        rows, out = equity_rows(engine, marks, now)
        await self.write_equity(rows)
        return out

    async def write_equity(self, rows: list[tuple[Any, ...]]) -> None:
        await self.writer.transaction(
            lambda conn: conn.executemany(
                "INSERT OR REPLACE INTO equity_snapshots (book_id, ts, equity, cash,"
                " positions_value, positions_count, realized_pnl, unrealized_pnl, fees, funding)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        )


def equity_rows(
    engine: FadeEngine, marks: Mapping[str, Decimal], now: datetime
) -> tuple[list[tuple[Any, ...]], dict[str, float]]:
    """The snapshot rows of every fade book and known bot at ``now`` (pure: taken under the
    engine's lock, written after it)."""
    ts = utc_iso(now)
    m = dict(marks)
    rows: list[tuple[Any, ...]] = []
    out: dict[str, float] = {}
    for bot_id, book in engine.fades.items():
        eq = book.equity(m)
        out[book.book_id] = float(eq)
        rows.append(
            (
                book.book_id,
                ts,
                float(eq),
                float(book.capital + book.realized - book.fees + book.funding),
                float(book.notional(m)),
                sum(1 for p in book.positions.values() if p.size),
                float(book.realized),
                float(book.unrealized(m)),
                float(book.fees),
                float(book.funding),
            )
        )
        bot_eq = engine.bot_equity.get(bot_id)
        bot = engine.bots.get(bot_id)
        if bot_eq is not None and bot is not None:
            out[bot.book_id] = float(bot_eq)
            rows.append(
                (
                    bot.book_id,
                    ts,
                    float(bot_eq),
                    None,
                    float(bot.notional(m)),
                    sum(1 for p in bot.positions.values() if p.size),
                    float(bot.realized),
                    float(bot.unrealized(m)),
                    float(bot.fees),
                    None,
                )
            )
    return rows, out


async def record_trips(conn: aiosqlite.Connection, trips: Iterable[Trip], cloid: str) -> None:
    for t in trips:
        await conn.execute(
            INSERT_ROUND_TRIP,
            round_trip(
                book_id=t.book_id,
                symbol=t.coin,
                direction=t.direction,
                quantity=str(t.quantity),
                entry_time=ms_iso(t.entry_ms),
                entry_price=str(t.entry_price),
                exit_time=ms_iso(t.exit_ms),
                exit_price=str(t.exit_price),
                realized_pnl=float(t.net_pnl),
                pnl_pct=t.pnl_pct,
                fees=float(t.fees),
                exit_reason="signal",
                source="fade",
                source_id=f"{t.book_id}:{cloid}",
                details={"gross_pnl": str(t.gross_pnl), "cloid": cloid},
            ),
        )


async def _save_book(
    conn: aiosqlite.Connection, book: Book, ts: str, coins: Iterable[str] | None = None
) -> None:
    for coin in coins if coins is not None else list(book.positions):
        p = book.positions.get(coin)
        if p is None:
            continue
        await conn.execute(
            "INSERT OR REPLACE INTO fade_positions (book_id, coin, size, entry_price, opened_at,"
            " realized_pnl, fees, funding, trip, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                book.book_id,
                coin,
                str(p.size),
                str(p.entry) if p.size else None,
                ms_iso(p.opened_ms) if p.opened_ms is not None else None,
                str(p.realized),
                str(p.fees),
                str(p.funding),
                json.dumps(p.trip_state()),
                ts,
            ),
        )


def _book(engine: FadeEngine, book_id: str) -> Book | None:
    if book_id == "account":
        return engine.account
    kind, _, bot_id = book_id.partition(":")
    if kind == "fade":
        return engine.fade_book(book_id)
    if kind == "bot":
        return engine.bots.setdefault(bot_id, Book(book_id))
    return None


def _s(x: Decimal | None) -> str | None:
    return None if x is None else str(x)


def _result_json(r: FillResult) -> dict[str, Any]:
    return {
        "status": r.status,
        "filled": str(r.filled),
        "avg_price": _s(r.avg_price),
        "fee": str(r.fee),
        "oid": r.oid,
        "error": r.error,
    }
