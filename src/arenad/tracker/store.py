"""Writing parsed nof1 rows into 0004 and the books tables of 0002, and the reads others use.

A model that is a `[[fade.bots]]` bot (same wallet) shares that bot's book, and there the
tracker writes only what nof1 alone knows: the decisions of its chats (decision_log). Its
equity and round trips come from the fade engine, which follows the same wallet on Hyperliquid
directly (exact and live); writing nof1's copy too would count each round trip twice under two
sources. For every other model the tracker writes the book's equity, round trips and decisions.

Every write is idempotent (UNIQUE keys with INSERT OR IGNORE, or upserts), so the poller can
re-read overlapping windows and `arenad tracker import` can re-ingest a directory without
duplicates. One endpoint's response is written in one transaction: a crash leaves it either
wholly stored or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiosqlite

from arenad.books.tables import (
    BookSpec,
    DecisionEntry,
    EquityPoint,
    RoundTrip,
    mirror_decisions,
    record_round_trips,
    register_book,
    write_equity,
)
from arenad.store.writer import StoreWriter
from arenad.tracker.models import FadeBotRef, ModelIdentity, identify
from arenad.tracker.parse import (
    SIGNAL_SEED,
    AccountTotalRow,
    AnalyticsRow,
    ChatRow,
    LeaderboardRow,
    Parsed,
    PriceRow,
    SinceInceptionRow,
    TradeRow,
    decimal_text,
)
from arenad.tracker.settings import TrackerSettings

D = decimal_text


@dataclass
class IngestReport:
    """What one response changed: new rows per table, and the books that got new data."""

    endpoint: str
    rows: int = 0
    skipped: int = 0
    inserted: dict[str, int] = field(default_factory=dict)
    books: set[str] = field(default_factory=set)
    last_hourly_marker: int | None = None  # account-totals: where the next poll resumes

    def add(self, table: str, n: int) -> None:
        if n:
            self.inserted[table] = self.inserted.get(table, 0) + n

    @property
    def new_rows(self) -> int:
        return sum(self.inserted.values())


async def _changes(conn: aiosqlite.Connection) -> int:
    cur = await conn.execute("SELECT total_changes()")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


class TrackerStore:
    def __init__(
        self,
        writer: StoreWriter,
        settings: Callable[[], TrackerSettings],
        fade_bots: Callable[[], Sequence[FadeBotRef]] = lambda: (),
    ) -> None:
        self.writer = writer
        self._settings = settings
        self._fade_bots = fade_bots

    def identity(self, model_id: str) -> ModelIdentity:
        return identify(model_id, self._settings().models, self._fade_bots())

    # --- writes -------------------------------------------------------------------------------

    async def ingest(self, parsed: Parsed, fetched_at: str) -> IngestReport:
        """Write one parsed response (``fetched_at``: when it was read, ISO UTC)."""
        report = IngestReport(
            parsed.endpoint,
            rows=len(parsed.rows),
            skipped=len(parsed.errors),
            last_hourly_marker=parsed.last_hourly_marker,
        )
        ids = {m: self.identity(m) for m in sorted(models_seen(parsed.rows))}
        st = self._settings()

        async def txn(conn: aiosqlite.Connection) -> None:
            # The writer re-runs a transaction alone when its batch failed: count afresh.
            report.inserted.clear()
            report.books.clear()
            await self._ensure_season(conn, st, fetched_at)
            for ident in ids.values():
                await self._ensure_model(conn, ident, st, fetched_at, report)
            writer = _WRITERS[parsed.endpoint]
            await writer(self, conn, parsed, ids, st, fetched_at, report)

        await self.writer.transaction(txn)
        return report

    async def _ensure_season(
        self, conn: aiosqlite.Connection, st: TrackerSettings, now: str
    ) -> None:
        await conn.execute(
            "INSERT INTO nof1_seasons (season_number, name, initial_capital, status, created_at)"
            " VALUES (?, ?, ?, 'active', ?) ON CONFLICT (season_number) DO UPDATE SET"
            " name = excluded.name, updated_at = excluded.created_at"
            " WHERE name <> excluded.name",
            (st.season, st.season_name, D(Decimal(str(st.initial_capital))), now),
        )

    async def _ensure_model(
        self,
        conn: aiosqlite.Connection,
        m: ModelIdentity,
        st: TrackerSettings,
        now: str,
        report: IngestReport,
    ) -> None:
        before = await _changes(conn)
        await conn.execute(
            "INSERT INTO nof1_models (model_id, name, provider, wallet, book_id, season_number,"
            " is_active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (model_id) DO UPDATE SET name = excluded.name,"
            " provider = excluded.provider, wallet = excluded.wallet, book_id = excluded.book_id,"
            " is_active = excluded.is_active, updated_at = excluded.created_at"
            " WHERE name IS NOT excluded.name OR provider IS NOT excluded.provider"
            " OR wallet IS NOT excluded.wallet OR book_id IS NOT excluded.book_id"
            " OR is_active IS NOT excluded.is_active",
            (m.model_id, m.name, m.provider, m.wallet, m.book_id, st.season, int(m.active), now),
        )
        report.add("nof1_models", await _changes(conn) - before)
        before = await _changes(conn)
        details = {
            "nof1_model_id": m.model_id,
            "wallet": m.wallet,
            "fade_bot_id": m.fade_bot_id,
            "source": "nof1",
        }
        await register_book(
            conn,
            BookSpec(
                m.book_id,
                m.kind,
                m.name,
                provider=m.provider,
                venue="nof1",
                initial_capital=st.initial_capital,
                season=str(st.season),
                active=bool(m.active),
                details=details,
            ),
            now,
            update=(),
        )
        report.add("books", await _changes(conn) - before)

    async def _equity(
        self,
        conn: aiosqlite.Connection,
        model: ModelIdentity,
        ts: str,
        equity: Decimal,
        report: IngestReport,
        *,
        realized: Decimal | None = None,
        unrealized: Decimal | None = None,
        positions: int | None = None,
    ) -> None:
        if model.fade_bot_id is not None:  # a fade bot's book: the fade engine owns its curve
            return
        book_id = model.book_id
        cur = await conn.execute(
            "SELECT equity, realized_pnl, unrealized_pnl, positions_count FROM equity_snapshots"
            " WHERE book_id = ? AND ts = ?",
            (book_id, ts),
        )
        old = await cur.fetchone()
        new = (float(equity), _f(realized), _f(unrealized), positions)
        if old is not None and tuple(old) == new:
            return
        await write_equity(
            conn,
            [
                EquityPoint(
                    book_id,
                    ts,
                    new[0],
                    realized_pnl=new[1],
                    unrealized_pnl=new[2],
                    positions_count=positions,
                )
            ],
        )
        report.add("equity_snapshots", 1)
        report.books.add(book_id)

    async def set_state(self, key: str, value: str, now: str) -> None:
        await self.writer.execute(
            "INSERT INTO nof1_poll_state (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (key, value, now),
        )


def _f(d: Decimal | None) -> float | None:
    return None if d is None else float(d)


# --- per endpoint -----------------------------------------------------------------------------

Ids = dict[str, ModelIdentity]


async def _w_leaderboard(
    s: TrackerStore,
    conn: aiosqlite.Connection,
    p: Parsed,
    ids: Ids,
    st: TrackerSettings,
    now: str,
    report: IngestReport,
) -> None:
    """A leaderboard row is the model's equity at the poll: it also goes to equity_snapshots,
    every model at the same ts, so the bots aggregate sums line up."""
    initial = Decimal(str(st.initial_capital))
    for r in p.rows:
        assert isinstance(r, LeaderboardRow)
        before = await _changes(conn)
        pct = float(r.return_pct)
        win_rate = (
            100.0 * r.num_wins / r.num_trades if r.num_trades and r.num_wins is not None else None
        )
        await conn.execute(
            "INSERT OR IGNORE INTO nof1_leaderboard_snapshots (season_number, model_id, ts, rank,"
            " total_assets, pnl, pnl_percent, roi, win_rate, total_trades, num_wins, num_losses,"
            " win_dollars, lose_dollars, sharpe, raw, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                st.season,
                r.model_id,
                now,
                r.rank,
                D(r.equity),
                float(r.equity - initial),
                pct,
                pct / 100,
                win_rate,
                r.num_trades,
                r.num_wins,
                r.num_losses,
                D(r.win_dollars),
                D(r.lose_dollars),
                _f(r.sharpe),
                r.raw,
                now,
            ),
        )
        report.add("nof1_leaderboard_snapshots", await _changes(conn) - before)
        await s._equity(conn, ids[r.model_id], now, r.equity, report)


async def _w_trades(
    s: TrackerStore,
    conn: aiosqlite.Connection,
    p: Parsed,
    ids: Ids,
    st: TrackerSettings,
    now: str,
    report: IngestReport,
) -> None:
    for t in p.rows:
        assert isinstance(t, TradeRow)
        book = ids[t.model_id].book_id
        before = await _changes(conn)
        await conn.execute(
            "INSERT OR IGNORE INTO nof1_trades (trade_id, nof1_id, model_id, symbol, side,"
            " trade_type, quantity, entry_sz, exit_sz, leverage, confidence, entry_price,"
            " exit_price, opened_at, closed_at, entry_oid, exit_oid, entry_tid, exit_tid,"
            " entry_crossed, exit_crossed, entry_commission, exit_commission, total_commission,"
            " entry_closed_pnl, exit_closed_pnl, realized_gross_pnl, realized_net_pnl, pnl,"
            " pnl_percent, exit_plan, entry_liquidation, exit_liquidation, status, raw,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                t.trade_id,
                t.nof1_id,
                t.model_id,
                t.symbol,
                t.side,
                t.trade_type,
                D(t.quantity),
                D(t.entry_sz),
                D(t.exit_sz),
                t.leverage,
                _f(t.confidence),
                D(t.entry_price),
                D(t.exit_price),
                t.opened_at,
                t.closed_at,
                t.entry_oid,
                t.exit_oid,
                t.entry_tid,
                t.exit_tid,
                _b(t.entry_crossed),
                _b(t.exit_crossed),
                D(t.entry_commission),
                D(t.exit_commission),
                D(t.total_commission),
                D(t.entry_closed_pnl),
                D(t.exit_closed_pnl),
                D(t.realized_gross_pnl),
                D(t.realized_net_pnl),
                _f(t.realized_net_pnl),
                t.pnl_percent,
                t.exit_plan,
                t.entry_liquidation,
                t.exit_liquidation,
                t.status,
                t.raw,
                now,
            ),
        )
        report.add("nof1_trades", await _changes(conn) - before)
        if t.closed_at is None or t.exit_price is None or ids[t.model_id].fade_bot_id:
            continue  # open, or a fade bot's book (its round trips come from its own fills)
        net = t.realized_net_pnl
        if net is None and t.realized_gross_pnl is not None:
            net = t.realized_gross_pnl - (t.total_commission or Decimal(0))
        before = await _changes(conn)
        await record_round_trips(
            conn,
            [
                RoundTrip(
                    book_id=book,
                    symbol=t.symbol,
                    direction=t.side,
                    quantity=format(abs(t.quantity), "f"),
                    entry_time=t.opened_at,
                    entry_price=format(t.entry_price, "f"),
                    exit_time=t.closed_at,
                    exit_price=format(t.exit_price, "f"),
                    realized_pnl=float(net or 0),
                    pnl_pct=t.pnl_percent,
                    fees=float(t.total_commission or 0),
                    exit_reason="liquidation" if t.exit_liquidation is not None else None,
                    source="nof1",
                    source_id=t.trade_id,
                    details={
                        "model_id": t.model_id,
                        "leverage": t.leverage,
                        "confidence": _f(t.confidence),
                        "exit_plan": json.loads(t.exit_plan),
                        "nof1_id": t.nof1_id,
                    },
                )
            ],
        )
        n = await _changes(conn) - before
        report.add("trade_log", n)
        if n:
            report.books.add(book)


def _b(v: bool | None) -> int | None:
    return None if v is None else int(v)


async def _w_conversations(
    s: TrackerStore,
    conn: aiosqlite.Connection,
    p: Parsed,
    ids: Ids,
    st: TrackerSettings,
    now: str,
    report: IngestReport,
) -> None:
    for c in p.rows:
        assert isinstance(c, ChatRow)
        book = ids[c.model_id].book_id
        head = c.headline()
        before = await _changes(conn)
        await conn.execute(
            "INSERT OR IGNORE INTO nof1_chats (chat_id, model_id, cycle_id, run_id, skill, ts,"
            " inserted_at, user_prompt, content, cot_trace_summary, llm_response, decision,"
            " symbol, confidence, raw, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                c.chat_id,
                c.model_id,
                c.cycle_id,
                c.run_id,
                c.skill,
                c.ts,
                c.inserted_at,
                c.user_prompt,
                c.content,
                c.summary,
                c.llm_response,
                SIGNAL_SEED.get(head.signal) if head else None,
                head.coin if head else None,
                None if head is None or head.confidence01 is None else head.confidence01 * 100,
                c.raw,
                now,
            ),
        )
        report.add("nof1_chats", await _changes(conn) - before)
        for d in c.decisions:
            before = await _changes(conn)
            await conn.execute(
                "INSERT OR IGNORE INTO nof1_chat_decisions (chat_id, coin, signal, quantity,"
                " leverage, confidence, stop_loss, profit_target, risk_usd,"
                " invalidation_condition, justification, raw)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    c.chat_id,
                    d.coin,
                    d.signal,
                    D(d.quantity),
                    D(d.leverage),
                    d.confidence01,
                    D(d.stop_loss),
                    D(d.profit_target),
                    D(d.risk_usd),
                    d.invalidation_condition,
                    d.justification,
                    d.raw,
                ),
            )
            report.add("nof1_chat_decisions", await _changes(conn) - before)
            direction = {"buy": "long", "sell": "short"}.get(d.decision)
            before = await _changes(conn)
            await mirror_decisions(
                conn,
                [
                    DecisionEntry(
                        book_id=book,
                        ts=c.ts,
                        decision=d.decision,
                        source="nof1",
                        source_id=f"{c.chat_id}:{d.coin}",
                        model_id=c.model_id,
                        symbol=d.coin,
                        reasoning=d.justification or c.summary,
                        confidence=d.confidence01,
                        position_size=D(d.quantity),
                        stop_loss=D(d.stop_loss),
                        take_profit=D(d.profit_target),
                        direction=direction,
                        details={
                            "signal": d.signal,
                            "leverage": _f(d.leverage),
                            "risk_usd": _f(d.risk_usd),
                            "invalidation_condition": d.invalidation_condition,
                            "chat_id": c.chat_id,
                            "cycle_id": c.cycle_id,
                        },
                    )
                ],
            )
            report.add("decision_log", await _changes(conn) - before)


async def _w_account_totals(
    s: TrackerStore,
    conn: aiosqlite.Connection,
    p: Parsed,
    ids: Ids,
    st: TrackerSettings,
    now: str,
    report: IngestReport,
) -> None:
    for a in p.rows:
        assert isinstance(a, AccountTotalRow)
        before = await _changes(conn)
        await conn.execute(
            "INSERT OR IGNORE INTO nof1_account_totals (nof1_id, model_id, ts, dollar_equity,"
            " realized_pnl, total_unrealized_pnl, cum_pnl_pct, sharpe_ratio,"
            " since_inception_hourly_marker, since_inception_minute_marker, positions_count,"
            " raw, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                a.nof1_id,
                a.model_id,
                a.ts,
                D(a.dollar_equity),
                D(a.realized_pnl),
                D(a.total_unrealized_pnl),
                _f(a.cum_pnl_pct),
                _f(a.sharpe_ratio),
                a.hourly_marker,
                a.minute_marker,
                len(a.positions),
                a.raw,
                now,
            ),
        )
        report.add("nof1_account_totals", await _changes(conn) - before)
        for pos in a.positions:
            before = await _changes(conn)
            await conn.execute(
                "INSERT OR IGNORE INTO nof1_positions (model_id, ts, symbol, quantity,"
                " entry_price, current_price, leverage, margin, unrealized_pnl, closed_pnl,"
                " commission, liquidation_price, risk_usd, confidence, exit_plan, entry_time,"
                " entry_oid, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    a.model_id,
                    a.ts,
                    pos.symbol,
                    D(pos.quantity),
                    D(pos.entry_price),
                    D(pos.current_price),
                    D(pos.leverage),
                    D(pos.margin),
                    D(pos.unrealized_pnl),
                    D(pos.closed_pnl),
                    D(pos.commission),
                    D(pos.liquidation_price),
                    D(pos.risk_usd),
                    _f(pos.confidence),
                    pos.exit_plan,
                    pos.entry_time,
                    pos.entry_oid,
                    pos.raw,
                ),
            )
            report.add("nof1_positions", await _changes(conn) - before)
        await s._equity(
            conn,
            ids[a.model_id],
            a.ts,
            a.dollar_equity,
            report,
            realized=a.realized_pnl,
            unrealized=a.total_unrealized_pnl,
            positions=len(a.positions),
        )


async def _w_since_inception(
    s: TrackerStore,
    conn: aiosqlite.Connection,
    p: Parsed,
    ids: Ids,
    st: TrackerSettings,
    now: str,
    report: IngestReport,
) -> None:
    """Inception NAV and date: the first point of each model's curve, the model's initial
    capital, and the season's start (the earliest inception)."""
    for r in p.rows:
        assert isinstance(r, SinceInceptionRow)
        before = await _changes(conn)
        await conn.execute(
            "INSERT INTO nof1_since_inception (nof1_id, model_id, nav_since_inception,"
            " inception_date, num_invocations, raw, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (nof1_id) DO UPDATE SET"
            " nav_since_inception = excluded.nav_since_inception,"
            " num_invocations = excluded.num_invocations, raw = excluded.raw,"
            " fetched_at = excluded.fetched_at WHERE raw IS NOT excluded.raw",
            (r.nof1_id, r.model_id, D(r.nav), r.inception_date, r.num_invocations, r.raw, now),
        )
        report.add("nof1_since_inception", await _changes(conn) - before)
        await conn.execute(
            "UPDATE nof1_models SET inception_date = ?, initial_capital = ? WHERE model_id = ?"
            " AND (inception_date IS NOT ? OR initial_capital IS NOT ?)",
            (r.inception_date, D(r.nav), r.model_id, r.inception_date, D(r.nav)),
        )
        await conn.execute(
            "UPDATE nof1_seasons SET start_date = ? WHERE season_number = ?"
            " AND (start_date IS NULL OR start_date > ?)",
            (r.inception_date, st.season, r.inception_date),
        )
        await s._equity(conn, ids[r.model_id], r.inception_date, r.nav, report)


async def _w_analytics(
    s: TrackerStore,
    conn: aiosqlite.Connection,
    p: Parsed,
    ids: Ids,
    st: TrackerSettings,
    now: str,
    report: IngestReport,
) -> None:
    for r in p.rows:
        assert isinstance(r, AnalyticsRow)
        before = await _changes(conn)
        await conn.execute(
            "INSERT OR IGNORE INTO nof1_analytics (model_id, updated_at, total_trades, win_rate,"
            " overall_pnl_with_fees, total_fees_paid, raw) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                r.model_id,
                r.updated_at,
                r.total_trades,
                _f(r.win_rate),
                _f(r.pnl_with_fees),
                _f(r.fees_paid),
                r.raw,
            ),
        )
        report.add("nof1_analytics", await _changes(conn) - before)


async def _w_prices(
    s: TrackerStore,
    conn: aiosqlite.Connection,
    p: Parsed,
    ids: Ids,
    st: TrackerSettings,
    now: str,
    report: IngestReport,
) -> None:
    for r in p.rows:
        assert isinstance(r, PriceRow)
        before = await _changes(conn)
        await conn.execute(
            "INSERT OR IGNORE INTO nof1_crypto_prices (symbol, ts, price, raw) VALUES (?, ?, ?, ?)",
            (r.symbol, r.ts, D(r.price), r.raw),
        )
        report.add("nof1_crypto_prices", await _changes(conn) - before)


_WRITERS: dict[str, Any] = {
    "leaderboard": _w_leaderboard,
    "trades": _w_trades,
    "conversations": _w_conversations,
    "account-totals": _w_account_totals,
    "since-inception-values": _w_since_inception,
    "analytics": _w_analytics,
    "crypto-prices": _w_prices,
}


# --- reads ------------------------------------------------------------------------------------


async def get_state(conn: aiosqlite.Connection, key: str) -> str | None:
    cur = await conn.execute("SELECT value FROM nof1_poll_state WHERE key = ?", (key,))
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def latest_chat_before(
    conn: aiosqlite.Connection, who: str, before: str | None = None, symbol: str | None = None
) -> dict[str, Any] | None:
    """The newest chat of a model at or before ``before`` (ISO UTC; None: the newest of all).

    ``who`` is, in this order of precedence, a book id (``bot:gpt-5`` for a fade bot whose
    wallet matches, or ``bot:nof1-gpt-5``), a fade bot id (``gpt-5``: the model whose book is
    ``bot:gpt-5``), a nof1 model id (``gpt-5``), or a wallet (0x…, case-insensitive, against
    the `[[tracker.models]]` wallets). ``before`` must be in the database's format
    (``utc_iso``) for the text comparison to be a time comparison.
    Returns ``{ts, model, model_id, name, book_id, chat_id, summary, text, decisions}`` — the
    FadeDecision ``chat`` shape plus context — or None when the tracker has no such chat.
    ``decisions`` are the chat's per-coin decisions (only ``symbol``'s when given)."""
    w = who.strip()
    cur = await conn.execute(
        "SELECT model_id, name, book_id FROM nof1_models WHERE book_id = ? OR book_id = ?"
        " OR model_id = ? OR lower(wallet) = lower(?)"
        " ORDER BY CASE WHEN book_id = ? THEN 0 WHEN book_id = ? THEN 1"
        " WHEN model_id = ? THEN 2 ELSE 3 END LIMIT 1",
        (w, f"bot:{w}", w, w, w, f"bot:{w}", w),
    )
    m = await cur.fetchone()
    if m is None:
        return None
    model_id, name, book_id = m[0], m[1], m[2]
    if before is None:
        cur = await conn.execute(
            "SELECT chat_id, ts, cot_trace_summary, content FROM nof1_chats WHERE model_id = ?"
            " ORDER BY ts DESC LIMIT 1",
            (model_id,),
        )
    else:
        cur = await conn.execute(
            "SELECT chat_id, ts, cot_trace_summary, content FROM nof1_chats WHERE model_id = ?"
            " AND ts <= ? ORDER BY ts DESC LIMIT 1",
            (model_id, before),
        )
    c = await cur.fetchone()
    if c is None:
        return None
    q = (
        "SELECT coin, signal, quantity, leverage, confidence, stop_loss, profit_target,"
        " invalidation_condition, justification FROM nof1_chat_decisions WHERE chat_id = ?"
    )
    args: tuple[Any, ...] = (c[0],)
    if symbol:
        q += " AND coin = ?"
        args += (symbol,)
    cur = await conn.execute(q + " ORDER BY coin", args)
    decisions = [
        {
            "coin": r[0],
            "signal": r[1],
            "quantity": r[2],
            "leverage": r[3],
            "confidence": r[4],
            "stop_loss": r[5],
            "profit_target": r[6],
            "invalidation_condition": r[7],
            "justification": r[8],
        }
        for r in await cur.fetchall()
    ]
    return {
        "ts": c[1],
        "model": model_id,
        "model_id": model_id,
        "name": name,
        "book_id": book_id,
        "chat_id": c[0],
        "summary": c[2],
        "text": c[3],
        "decisions": decisions,
    }


async def list_models(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    """Tracked models with their books and latest figures (the `tracker.models` command)."""
    cur = await conn.execute(
        "SELECT m.model_id, m.name, m.provider, m.wallet, m.book_id, m.season_number,"
        " m.is_active, m.inception_date, m.initial_capital,"
        " (SELECT l.total_assets FROM nof1_leaderboard_snapshots l WHERE l.model_id = m.model_id"
        "  ORDER BY l.ts DESC LIMIT 1),"
        " (SELECT l.rank FROM nof1_leaderboard_snapshots l WHERE l.model_id = m.model_id"
        "  ORDER BY l.ts DESC LIMIT 1),"
        " (SELECT count(*) FROM nof1_trades t WHERE t.model_id = m.model_id),"
        " (SELECT max(c.ts) FROM nof1_chats c WHERE c.model_id = m.model_id)"
        " FROM nof1_models m ORDER BY m.model_id"
    )
    return [
        {
            "model_id": r[0],
            "name": r[1],
            "provider": r[2],
            "wallet": r[3],
            "book_id": r[4],
            "season": r[5],
            "active": bool(r[6]),
            "inception_date": r[7],
            "initial_capital": r[8],
            "equity": r[9],
            "rank": r[10],
            "trades": r[11],
            "last_chat_ts": r[12],
        }
        for r in await cur.fetchall()
    ]


def models_seen(rows: Iterable[Any]) -> set[str]:
    return {m for r in rows if isinstance(m := getattr(r, "model_id", None), str)}
