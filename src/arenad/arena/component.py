"""The arena inside ``arenad run``: scheduled runs, run-now, fills from the trade-updates
stream, exits from the market-data stream, upkeep, and the ``arena.*`` control commands.

Loops (supervised, trading): ``arena-schedule`` waits for slots; ``arena-run-now`` runs the
operator's requests one at a time; ``arena-trade-updates`` books fills by client order id and
reconciles open orders after every (re)connect; ``arena-market-data`` feeds each trade price to
the exits; ``arena-upkeep`` checks time limits, reconciles open orders and compares the ledgers
with the account (drift is a warning event). Adding the first model, or changing the venue,
needs a restart; every other `[arena]` edit applies at once.
"""

from __future__ import annotations

import asyncio
import json
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import structlog

from arenad.arena.alpaca import (
    AlpacaExecutor,
    AlpacaMarketData,
    order_result,
    venue_calendar,
    venue_urls,
)
from arenad.arena.calendar import MarketCalendar, NyseCalendar, ny_date
from arenad.arena.prompt import BookStats
from arenad.arena.runner import ArenaRunner, RunSummary
from arenad.arena.schedule import Schedule, Slot, manual_slot
from arenad.arena.scheduler import run_schedule
from arenad.arena.settings import ArenaSettings
from arenad.arena.store import ArenaStore, RunRow, list_runs
from arenad.config.settings import Settings
from arenad.control.protocol import InvalidArgs, ProtocolError
from arenad.daemon.context import DaemonContext
from arenad.errors import ArenadError, TemporaryError
from arenad.store.db import open_reader, utc_iso
from arenad.venues.alpaca.rest import AlpacaREST
from arenad.venues.alpaca.streams import MarketDataStream, TradeUpdatesStream

log = structlog.get_logger("arenad.arena")

SIM_KEY = ("arenad-arena", "arenad-arena-secret")  # the simulator opens an account for any pair


def protocol_status(r: RunRow) -> str:
    """The control protocol's run status (docs/control-protocol.md) from the stored one."""
    if r.status == "completed":
        return "partial" if r.errors else "ok"
    return r.status


def run_wire(r: RunRow) -> dict[str, Any]:
    return {
        **r.wire(),
        "status": protocol_status(r),
        "db_status": r.status,
        "finished_at": r.completed_at,
        "models": len(r.models_executed),
    }


class ArenaComponent:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        st = ctx.current
        self.unavailable: str | None = None
        urls = venue_urls(st.arena, st.sim.host, st.sim.alpaca_port)
        self.urls = urls
        key = os.environ.get(st.secrets.alpaca_key_id_env, "")
        secret = os.environ.get(st.secrets.alpaca_secret_key_env, "")
        if not (key and secret):
            if st.arena.venue == "simulator":
                key, secret = SIM_KEY
            else:
                self.unavailable = (
                    f"arena venue alpaca_paper needs {st.secrets.alpaca_key_id_env} and "
                    f"{st.secrets.alpaca_secret_key_env} in the environment"
                )
        self.key, self.secret = key, secret
        own = [m.id for m in st.arena.models if m.alpaca_key_id_env]
        if own:
            log.warning(
                "arena: per-model Alpaca accounts are not supported yet; these models "
                "use the shared account",
                models=own,
            )
        self.rest = AlpacaREST(urls.trading, urls.data, key, secret, clock=ctx.clock)
        self.executor = AlpacaExecutor(self.rest)
        self.market = AlpacaMarketData(
            self.rest, st.arena.bars_timeframe, feed=st.arena.data_feed, clock=ctx.clock
        )
        self.calendar: MarketCalendar = NyseCalendar()
        self.runner = ArenaRunner(
            st.arena,
            ArenaStore(ctx.writer),
            self.market,
            self.executor,
            clock=ctx.clock,
            calendar=self.calendar,
            trading_state=lambda: ctx.guard.state,
            publish=ctx.bus.publish,
            stats=self.book_stats,
            alert=lambda msg, details: ctx.events.emit("warning", "arena", msg, details),
        )
        self.marks: dict[str, Decimal] = {}
        self.requests: asyncio.Queue[Slot] = asyncio.Queue(maxsize=1)
        self._last_drift: dict[str, Decimal] = {}

    async def book_stats(self, book_id: str) -> BookStats:
        """The book's all-time standing for the prompt (metrics component's current_standings);
        a figure resting on too small a sample is left out rather than shown as meaningful."""
        async with open_reader(self.ctx.db_path) as conn:
            cur = await conn.execute(
                "SELECT sharpe, max_drawdown, trades, win_rate, insufficient FROM"
                " current_standings WHERE book_id = ?",
                (book_id,),
            )
            row = await cur.fetchone()
        if row is None:
            return BookStats()
        try:
            few = set(json.loads(row["insufficient"] or "[]"))
        except ValueError:
            few = set()
        return BookStats(
            sharpe=None if "sharpe" in few else row["sharpe"],
            max_drawdown_pct=None if row["max_drawdown"] is None else row["max_drawdown"] * 100,
            trades=row["trades"],
            win_rate=None if "win_rate" in few else row["win_rate"],
        )

    @property
    def settings(self) -> ArenaSettings:
        return self.ctx.current.arena

    # --- set-up -------------------------------------------------------------------------

    async def start(self) -> None:
        await self.runner.start()
        c = self.ctx.control
        c.register("arena.runs", self.cmd_runs, "arena runs, newest first {limit=20}")
        c.register("arena.run_now", self.cmd_run_now, "start an arena run now")
        c.register("arena.models", self.cmd_models, "arena models with their books")
        c.register("arena.pause", self.cmd_pause, "skip a model in runs {model_id}")
        c.register("arena.resume", self.cmd_resume, "let a paused model run again {model_id}")
        c.register(
            "arena.close_position",
            self.cmd_close,
            "close an arena model's position at the market {model_id, symbol}",
        )
        c.register(
            "arena.positions", self.cmd_positions, "open positions of the arena books {book_id?}"
        )
        c.register(
            "arena.orders",
            self.cmd_orders,
            "arena orders, newest first {book_id?, symbol?, limit=200}",
        )
        c.register(
            "arena.decisions",
            self.cmd_decisions,
            "arena decisions, newest first {book_id?, limit=50}",
        )
        self.ctx.settings.on_change(self._on_settings)
        if self.unavailable is not None:
            await self.ctx.events.emit("error", "arena", self.unavailable)
            return
        if not (self.settings.enabled and self.settings.models):
            return
        sup = self.ctx.supervisor
        sup.add("arena-schedule", self.schedule_loop, trading=True)
        sup.add("arena-run-now", self.run_now_loop, trading=True)
        sup.add("arena-trade-updates", self.trade_updates_loop, trading=True)
        sup.add("arena-market-data", self.market_data_loop, trading=True)
        sup.add("arena-upkeep", self.upkeep_loop, trading=True)

    async def _on_settings(self, old: Settings, new: Settings) -> None:
        if old.arena != new.arena:
            self.runner.update_settings(new.arena)

    # --- runs -----------------------------------------------------------------------------

    def _schedule(self) -> Schedule:
        return Schedule(self.settings.schedule, self.calendar)

    async def _refresh_calendar(self) -> None:
        try:
            self.calendar = await venue_calendar(self.rest, ny_date(self.ctx.clock.now()))
        except ArenadError as e:
            log.warning("arena: venue calendar unavailable; using the built-in table", error=str(e))
            return
        self.runner.calendar = self.calendar

    async def _run_slot(self, slot: Slot, trigger: str) -> RunSummary:
        if not self.settings.enabled:
            log.info("arena disabled; slot not run", slot=slot.key)
            return RunSummary(slot.run_id, slot.key, "skipped")
        s = await self.runner.run(slot, trigger)  # type: ignore[arg-type]
        if s.status != "skipped":
            level: Literal["info", "warning"] = (
                "info" if s.status == "completed" and not s.errors else "warning"
            )
            await self.ctx.events.emit(
                level,
                "arena",
                f"arena run {s.run_id} {s.status}: {len(s.models_executed)} "
                f"models, {s.decisions} decisions, {s.trades} orders, {len(s.errors)} errors",
                {"run_id": s.run_id, "slot": s.slot_key, "errors": s.errors[:20]},
            )
        return s

    async def schedule_loop(self) -> None:
        await self._refresh_calendar()
        await run_schedule(self._schedule, self.ctx.clock, self._run_slot)

    async def run_now_loop(self) -> None:
        while True:
            slot = await self.requests.get()
            await self._run_slot(slot, "operator")

    # --- streams and upkeep ---------------------------------------------------------------

    async def trade_updates_loop(self) -> None:
        stream = TradeUpdatesStream(
            self.urls.trade_stream,
            self.key,
            self.secret,
            self._on_trade_update,
            on_state=self._on_trade_state,
            clock=self.ctx.clock,
        )
        await stream.run()

    async def _on_trade_update(self, msg: dict[str, Any]) -> None:
        order = msg.get("order") or {}
        cid = order.get("client_order_id")
        if isinstance(cid, str) and await self.runner.on_order_update(cid, order_result(order)):
            await self.ctx.health.mark_order()

    async def _on_trade_state(self, up: bool, detail: str) -> None:
        await self.ctx.health.set_connection("alpaca", up, stream="trade_updates", detail=detail)
        if up:  # what happened while we were away is only in REST
            await self._reconcile_orders()

    async def _reconcile_orders(self) -> None:
        try:
            await self.runner.reconcile_orders(self.executor.lookup)
        except TemporaryError as e:
            log.warning("arena: order reconciliation postponed", error=str(e))

    async def market_data_loop(self) -> None:
        stream = MarketDataStream(
            self.urls.data_stream,
            self.key,
            self.secret,
            self._on_market,
            trades=self.settings.rails.allowed_symbols,
            clock=self.ctx.clock,
        )
        await stream.run()

    async def _on_market(self, m: dict[str, Any]) -> None:
        kind, sym = m.get("T"), m.get("S")
        raw = m.get("p") if kind == "t" else m.get("c") if kind in ("b", "d") else None
        if not isinstance(sym, str) or raw is None:
            return
        try:
            price = Decimal(str(raw))
        except InvalidOperation:
            return
        if price <= 0:
            return
        self.marks[sym] = price
        await self.runner.on_price(sym, price)

    async def upkeep_loop(self) -> None:
        last_calendar = ny_date(self.ctx.clock.now())
        while True:
            await self.ctx.clock.sleep(self.settings.upkeep_interval_s)
            today = ny_date(self.ctx.clock.now())
            if today != last_calendar:
                await self._refresh_calendar()
                last_calendar = today
            await self.runner.check_time_limits(dict(self.marks))
            await self._reconcile_orders()
            try:
                drift = await self.runner.account_drift(await self.executor.positions())
            except TemporaryError as e:
                log.warning("arena: positions unavailable for reconciliation", error=str(e))
                continue
            if drift != self._last_drift:
                self._last_drift = drift
                if drift:
                    await self.ctx.events.emit(
                        "warning",
                        "arena",
                        "arena ledgers do not match the account positions",
                        {"drift": {k: str(v) for k, v in drift.items()}},
                    )

    # --- control commands -----------------------------------------------------------------

    async def cmd_runs(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        limit = _limit(args, 20)
        rows = await asyncio.to_thread(list_runs, self.ctx.db_path, limit)
        return [run_wire(r) for r in rows]

    async def cmd_run_now(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.unavailable is not None:
            raise ProtocolError("unavailable", self.unavailable)
        if not (self.settings.enabled and self.settings.enabled_models()):
            raise ProtocolError("unavailable", "the arena is disabled or has no enabled model")
        if self.runner.current_run is not None:
            raise ProtocolError("unavailable", f"arena run {self.runner.current_run} in progress")
        slot = manual_slot(self.ctx.clock.now())
        if await self.runner.store.slot_taken(slot.key):
            # Manual slots are keyed to the second (the key feeds the client order ids): a
            # second press within it would otherwise be silently folded into the first run.
            raise ProtocolError(
                "unavailable", f"an arena run was already started at {slot.key}; try again"
            )
        try:
            self.requests.put_nowait(slot)
        except asyncio.QueueFull:
            raise ProtocolError("unavailable", "an arena run is already queued") from None
        return {"run_id": slot.run_id, "slot": slot.key, "status": "running"}

    async def cmd_models(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for m in self.settings.models:
            led = self.runner.ledgers.get(m.id)
            out.append(
                {
                    "model_id": m.id,
                    "book_id": m.book_id,
                    "name": m.display_name,
                    "provider": m.provider,
                    "model": m.model or (m.baseline.kind if m.baseline else ""),
                    "enabled": m.enabled,
                    "paused": m.id in self.runner.paused,
                    "cash": str(led.cash) if led else None,
                    "equity": float(led.equity(self.marks)) if led else None,
                    "positions": len(led.positions) if led else 0,
                }
            )
        return out

    def _model_arg(self, args: dict[str, Any]) -> str:
        mid = args.get("model_id")
        if not isinstance(mid, str) or self.settings.model(mid) is None:
            known = ", ".join(m.id for m in self.settings.models) or "none"
            raise InvalidArgs(f"model_id must name an arena model (known: {known})")
        return mid

    async def _model_row(self, mid: str) -> dict[str, Any]:
        return next(r for r in await self.cmd_models({}) if r["model_id"] == mid)

    async def cmd_pause(self, args: dict[str, Any]) -> dict[str, Any]:
        mid = self._model_arg(args)
        self.runner.paused.add(mid)
        await self.ctx.events.emit("info", "arena", f"arena model {mid} paused by the operator")
        return await self._model_row(mid)

    async def cmd_resume(self, args: dict[str, Any]) -> dict[str, Any]:
        mid = self._model_arg(args)
        self.runner.paused.discard(mid)
        await self.ctx.events.emit("info", "arena", f"arena model {mid} resumed by the operator")
        return await self._model_row(mid)

    async def cmd_close(self, args: dict[str, Any]) -> dict[str, Any]:
        mid = self._model_arg(args)
        symbol = args.get("symbol")
        led = self.runner.ledgers.get(mid)
        if not isinstance(symbol, str) or led is None or symbol not in led.positions:
            raise InvalidArgs(f"model {mid} has no open position in {symbol!r}")
        price = self.marks.get(symbol)
        if price is None:
            bars = await self.market.bars([symbol], 1)
            price = bars[symbol][-1].close if bars.get(symbol) else led.positions[symbol].avg_price
        sig = await self.runner.close_position(mid, symbol, price)
        if sig is None:
            raise ProtocolError("failed", f"the exit of {mid} {symbol} was not sent (one pending?)")
        return {
            "book_id": f"arena:{mid}",
            "symbol": symbol,
            "qty": str(sig.qty),
            "price": str(price),
            "reason": sig.reason,
        }

    async def cmd_positions(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """The control protocol's Position for each open position of each arena ledger, at the
        newest market price seen (or its cost while none has been)."""
        book = args.get("book_id")
        if book is not None and not isinstance(book, str):
            raise InvalidArgs("book_id must be a string")
        out: list[dict[str, Any]] = []
        for led in self.runner.ledgers.values():
            if book and led.book_id != book:
                continue
            for p in led.positions.values():
                mark = self.marks.get(p.symbol)
                px = mark if mark is not None else p.avg_price
                out.append(
                    {
                        "book_id": led.book_id,
                        "kind": "arena_model",
                        "venue": "alpaca",
                        "symbol": p.symbol,
                        "size": str(p.qty),
                        "entry_price": str(p.avg_price),
                        "mark_price": str(mark) if mark is not None else None,
                        "notional": float(abs(p.qty) * px),
                        "unrealized_pnl": float((px - p.avg_price) * p.qty),
                        "opened_at": utc_iso(p.opened_at),
                    }
                )
        return out

    async def cmd_orders(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        limit = _limit(args, 200)
        where, params = ["1 = 1"], []
        for key in ("book_id", "symbol"):
            v = args.get(key)
            if v is not None and not isinstance(v, str):
                raise InvalidArgs(f"{key} must be a string")
            if v:
                where.append(f"{key} = ?")
                params.append(v)
        async with open_reader(self.ctx.db_path) as conn:
            rows = await (
                await conn.execute(
                    # The WHERE clause is built from fixed fragments; values are bound parameters.
                    f"SELECT * FROM arena_orders WHERE {' AND '.join(where)} "  # noqa: S608
                    "ORDER BY created_at DESC LIMIT ?",
                    (*params, limit),
                )
            ).fetchall()
        status = {
            "intent": "intent",
            "unknown": "submitted",
            "new": "submitted",
            "accepted": "open",
            "canceled": "cancelled",
            "not_sent": "rejected",
        }
        return [
            {
                "ts": r["created_at"],
                "book_id": r["book_id"],
                "symbol": r["symbol"],
                "side": r["side"],
                "size": r["qty"],
                "price": r["filled_avg_price"] or r["limit_price"],
                "type": r["type"],
                "reduce_only": r["purpose"] == "exit",
                "status": status.get(r["status"], r["status"]),
                "client_order_id": r["client_order_id"],
                "venue_order_id": r["venue_order_id"],
                "error": r["error"],
            }
            for r in rows
        ]

    async def cmd_decisions(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        limit = _limit(args, 50)
        book = args.get("book_id")
        if book is not None and not isinstance(book, str):
            raise InvalidArgs("book_id must be a string")
        return await decision_rows(self.ctx.db_path, book, limit)


async def decision_rows(db_path: Path, book: str | None, limit: int) -> list[dict[str, Any]]:
    """Newest decisions first, with their order's fill (``arena.decisions``)."""
    sql = (
        "SELECT d.*, o.filled_avg_price, o.filled_at FROM arena_decisions d"
        " LEFT JOIN arena_orders o ON o.client_order_id = d.client_order_id"
    )
    params: tuple[Any, ...] = ()
    if book:
        sql += " WHERE d.book_id = ?"
        params = (book,)
    sql += " ORDER BY d.id DESC LIMIT ?"
    async with open_reader(db_path) as conn:
        rows = await (await conn.execute(sql, (*params, limit))).fetchall()
    return [decision_wire(dict(r)) for r in rows]


def decision_wire(r: dict[str, Any]) -> dict[str, Any]:
    """``entry_price`` is the decision's limit, or for a market order its fill's average price
    once filled (``filled_price`` is the fill's in both cases)."""
    return {
        "id": r["id"],
        "ts": r["ts"],
        "run_id": r["run_id"],
        "book_id": r["book_id"],
        "model_id": r["model_id"],
        "symbol": r["symbol"],
        "action": r["action"],
        "quantity": r["quantity"],
        "entry_price": r["entry_price"] or r.get("filled_avg_price"),
        "filled_price": r.get("filled_avg_price"),
        "filled_at": r.get("filled_at"),
        "stop_loss": r["stop_loss"],
        "take_profit": r["take_profit"],
        "confidence": r["confidence"],
        "timeframe": r["timeframe"],
        "reasoning": json.loads(r["reasoning"] or "{}"),
        "valid": bool(r["valid"]),
        "error": r["error"],
        "raw": r["raw"],
        "rails": json.loads(r["verdicts"] or "[]"),
        "order_status": r["order_status"],
        "client_order_id": r["client_order_id"],
    }


def _limit(args: dict[str, Any], default: int) -> int:
    v = args.get("limit", default)
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 10_000:
        raise InvalidArgs("limit must be a whole number from 1 to 10000")
    return v


async def setup(ctx: DaemonContext) -> None:
    await ArenaComponent(ctx).start()
