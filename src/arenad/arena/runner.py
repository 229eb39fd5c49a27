"""One arena run: every enabled model decides for every allowed symbol, concurrently, and each
decision is recorded, judged by the rails and (if allowed) executed on the model's ledger.

Order of a run, and why:

1. claim the slot (a committed row with a UNIQUE slot key) — nothing happens for a taken slot;
2. fetch bars once for all models (one market snapshot, so models are compared on equal input);
3. call all models at once; each LLM client bounds its own concurrency and retries within the
   run deadline, so a slow or failing model costs only itself;
4. per model, in symbol order: record the decision with its rail verdicts, commit the order
   intent, send it, book the fill on the ledger (sequential per model, because each order
   changes the cash and positions the next one is judged against);
5. finish the run row with models executed, trades, errors, P&L and top performer (the best
   P&L since the last run among models that traded: placed an order, or held positions).

Failures of one model (bad answers, HTTP errors, even a bug) are caught at the fan-out point,
recorded, and the model holds; the run goes on. Only cancellation propagates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import httpx
import structlog

from arenad.arena import baselines
from arenad.arena.calendar import MarketCalendar, NyseCalendar, ny_date
from arenad.arena.decision import DECISION_JSON_SCHEMA, Decision, ParseOutcome, hold, parse_decision
from arenad.arena.executor import Executor, OrderRequest, OrderResult
from arenad.arena.exits import ExitSignal, check_exit, exit_client_order_id, manual_exit
from arenad.arena.ledger import Ledger, reconcile
from arenad.arena.market import Bar, Indicators, MarketData, indicators
from arenad.arena.prompt import BookStats, system_prompt, user_prompt
from arenad.arena.rails import (
    Proposal,
    RailContext,
    Verdict,
    check_order,
    client_order_id,
    fill_breach,
    market_entry,
)
from arenad.arena.schedule import Slot
from arenad.arena.settings import ArenaModelSettings, ArenaSettings
from arenad.arena.store import ArenaStore
from arenad.clock import Clock, SystemClock
from arenad.errors import ArenadError, TemporaryError
from arenad.guards.trading import TradingState
from arenad.llm.base import ChatRequest, LLMClient
from arenad.llm.factory import make_client

log = structlog.get_logger("arenad.arena")

Trigger = Literal["schedule", "missed", "operator"]
Publish = Callable[[str, dict[str, Any]], None]
StatsFn = Callable[[str], Awaitable[BookStats]]
Alert = Callable[[str, dict[str, Any]], Awaitable[Any]]


FINAL_STATUSES = frozenset(
    {"filled", "canceled", "expired", "rejected", "duplicate", "not_sent", "replaced"}
)


@dataclass(slots=True)
class PendingOrder:
    """An arena order whose outcome is not final: what its fills must be booked as."""

    cid: str
    model_id: str
    symbol: str
    side: Literal["buy", "sell"]
    qty: Decimal
    purpose: str
    exit_reason: str | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    timeframe: str
    run_id: str | None
    booked_qty: Decimal = Decimal(0)
    booked_avg: Decimal | None = None
    decision_id: int | None = None


@dataclass(slots=True)
class ModelOutcome:
    model_id: str
    decisions: int = 0
    failed: int = 0
    orders: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    equity_before: Decimal = Decimal(0)
    equity_after: Decimal = Decimal(0)
    pnl_since_last_run: Decimal = Decimal(0)
    held: bool = False
    """It held positions when the run began (its P&L since the last run is from trading)."""

    @property
    def traded(self) -> bool:
        return self.orders > 0 or self.held


@dataclass(slots=True)
class RunSummary:
    run_id: str
    slot_key: str
    status: str
    """completed | failed | stopped | skipped (slot already taken: nothing was done)."""
    models_executed: list[str] = field(default_factory=list)
    decisions: int = 0
    trades: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    total_pnl: float | None = None
    top_performer: str | None = None
    duration_s: float = 0.0


@dataclass(slots=True)
class _Run:
    slot: Slot
    run_id: str
    deadline: float
    bars: dict[str, list[Bar]]
    marks: dict[str, Decimal]
    inds: dict[str, Indicators]
    today: Any


def _dec(x: Any) -> Decimal | None:
    return None if x is None else Decimal(str(x))


async def _no_stats(book_id: str) -> BookStats:
    return BookStats()


class ArenaRunner:
    def __init__(
        self,
        settings: ArenaSettings,
        store: ArenaStore,
        market: MarketData,
        executor: Executor,
        *,
        clock: Clock | None = None,
        calendar: MarketCalendar | None = None,
        http: httpx.AsyncClient | None = None,
        trading_state: Callable[[], TradingState] = lambda: TradingState.ACTIVE,
        stats: StatsFn = _no_stats,
        publish: Publish | None = None,
        environ: Mapping[str, str] | None = None,
        alert: Alert | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.market = market
        self.executor = executor
        self.clock = clock or SystemClock()
        self.calendar = calendar or NyseCalendar()
        # One connection pool per model unless one is given: httpcore's pool scans all its
        # connections on every request, so one shared pool of 50 connections costs more CPU
        # than the calls themselves (see BENCHMARKS.md, arena run).
        self.http = http
        self._pools: dict[str, httpx.AsyncClient] = {}
        self.trading_state = trading_state
        self.stats = stats
        self.publish = publish
        self.environ = environ
        self.alert = alert
        """Where a fill over a rail is raised (the daemon's warning events)."""
        self.ledgers: dict[str, Ledger] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._clients: dict[str, LLMClient] = {}
        self._run_lock = asyncio.Lock()
        self._pending: dict[str, PendingOrder] = {}
        self.current_run: str | None = None
        self.paused: set[str] = set()
        """Models the operator paused (skipped by runs until resumed; exits still run).
        Kept in memory: a restart resumes them, as config.toml's `enabled` is the lasting
        switch."""

    async def start(self) -> None:
        """Load the books and ledgers; mark runs a crash left 'running' as stopped."""
        models = self.settings.models
        await self.store.ensure_books(models, self.clock.now())
        self.ledgers = await self.store.load_ledgers(models)
        for m in models:
            self._locks.setdefault(m.id, asyncio.Lock())
        for r in await self.store.open_orders(FINAL_STATUSES):
            self._pending[r["client_order_id"]] = PendingOrder(
                r["client_order_id"],
                r["model_id"],
                r["symbol"],
                r["side"],
                Decimal(r["qty"]),
                r["purpose"],
                r["exit_reason"],
                _dec(r["stop_loss"]),
                _dec(r["take_profit"]),
                r["timeframe"] or "swing",
                r["run_id"],
                Decimal(r["filled_qty"]),
                _dec(r["filled_avg_price"]),
                r["decision_id"],
            )
            self._locks.setdefault(r["model_id"], asyncio.Lock())
        stopped = await self.store.stop_interrupted(self.clock.now())
        if stopped:
            log.warning("arena runs interrupted by a restart marked stopped", runs=stopped)

    async def close(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()

    def update_settings(self, settings: ArenaSettings) -> None:
        """Apply a reloaded `[arena]` (clients are rebuilt; ledgers of new models created at
        the next start)."""
        self.settings = settings
        self._clients.clear()

    def _client(self, m: ArenaModelSettings) -> LLMClient:
        c = self._clients.get(m.id)
        if c is None:
            http = self.http
            if http is None:
                http = self._pools.get(m.id)
                if http is None:
                    limits = httpx.Limits(max_connections=m.max_concurrency + 1)
                    http = self._pools[m.id] = httpx.AsyncClient(limits=limits)
            c = make_client(m, self.settings, http, clock=self.clock, environ=self.environ)
            self._clients[m.id] = c
        return c

    def _ledger(self, m: ArenaModelSettings) -> Ledger:
        if m.id not in self.ledgers:
            self.ledgers[m.id] = Ledger.new(m.book_id, m.initial_capital)
            self._locks.setdefault(m.id, asyncio.Lock())
        return self.ledgers[m.id]

    def _emit(self, topic: str, data: dict[str, Any]) -> None:
        if self.publish is not None:
            self.publish(topic, data)

    # --- a run -----------------------------------------------------------------------------

    async def run(
        self, slot: Slot, trigger: Trigger = "schedule", run_id: str | None = None
    ) -> RunSummary:
        run_id = run_id or slot.run_id
        models = [m for m in self.settings.enabled_models() if m.id not in self.paused]
        t0 = self.clock.monotonic()
        if self._run_lock.locked():
            return RunSummary(
                run_id,
                slot.key,
                "skipped",
                errors=[{"error": f"run {self.current_run} in progress"}],
            )
        async with self._run_lock:
            if not await self.store.claim_run(
                run_id, slot, trigger, self.clock.now(), [m.id for m in models]
            ):
                log.info("arena slot already taken", slot=slot.key)
                return RunSummary(
                    run_id, slot.key, "skipped", errors=[{"error": "slot already ran"}]
                )
            self.current_run = run_id
            self._emit(
                "arena_run",
                {"run_id": run_id, "slot": slot.key, "status": "running", "trigger": trigger},
            )
            try:
                summary = await self._run(slot, run_id, models)
            finally:
                self.current_run = None
            summary.duration_s = self.clock.monotonic() - t0
            return summary

    async def _run(
        self, slot: Slot, run_id: str, models: Sequence[ArenaModelSettings]
    ) -> RunSummary:
        st = self.settings
        summary = RunSummary(run_id, slot.key, "completed")
        deadline = self.clock.monotonic() + st.run_deadline_s
        symbols = st.rails.allowed_symbols
        wanted = list(symbols)
        if st.benchmark_symbol and st.benchmark_symbol not in wanted:
            wanted.append(st.benchmark_symbol)
        try:
            async with asyncio.timeout(min(30.0, st.run_deadline_s)):
                bars = await self.market.bars(wanted, st.bars_lookback)
        except (ArenadError, TimeoutError, httpx.HTTPError) as e:
            summary.status = "failed"
            summary.errors.append({"error": f"market data: {type(e).__name__}: {e}"})
            await self._finish(summary, {}, [])
            return summary
        bench = list(bars.get(st.benchmark_symbol, [])) if st.benchmark_symbol else []
        if bench:
            await self.store.benchmark_snapshot(
                st.benchmark_symbol or "", bench[-1].close, st.benchmark_capital, self.clock.now()
            )
        bars = {s: list(bars.get(s, [])) for s in symbols}
        marks = {s: b[-1].close for s, b in bars.items() if b}
        fast, slow = 5, 20
        inds = {s: indicators(b, fast, slow) for s, b in bars.items()}
        run = _Run(slot, run_id, deadline, bars, marks, inds, ny_date(self.clock.now()))
        for s in symbols:
            if s not in marks:
                summary.errors.append({"symbol": s, "error": "no bars: models hold on it"})
        outcomes: list[ModelOutcome] = []

        async def guarded(m: ArenaModelSettings) -> None:
            try:
                outcomes.append(await self._run_model(run, m))
            except asyncio.CancelledError:
                raise
            except Exception as e:  # fan-out point: one model's bug must not end the run
                log.exception("arena model failed", model=m.id, run_id=run_id)
                summary.errors.append({"model_id": m.id, "error": f"{type(e).__name__}: {e}"})

        try:
            # The clients stop at the deadline themselves; this only catches what does not.
            async with asyncio.timeout(st.run_deadline_s + 5.0), asyncio.TaskGroup() as tg:
                for m in models:
                    tg.create_task(guarded(m), name=f"arena-{m.id}")
        except TimeoutError:
            summary.status = "stopped"
            summary.errors.append({"error": f"run deadline {st.run_deadline_s}s passed"})
        if models and not outcomes:
            summary.status = "failed"
        await self._finish(summary, marks, outcomes)
        return summary

    async def _finish(
        self, summary: RunSummary, marks: Mapping[str, Decimal], outcomes: Sequence[ModelOutcome]
    ) -> None:
        summary.models_executed = sorted(o.model_id for o in outcomes)
        summary.decisions = sum(o.decisions for o in outcomes)
        summary.trades = sum(o.orders for o in outcomes)
        for o in outcomes:
            summary.errors.extend(o.errors)
        if outcomes:
            summary.total_pnl = float(sum((o.pnl_since_last_run for o in outcomes), Decimal(0)))
        # The best among models that traded: one that only held cash has nothing to show,
        # and must not win a tie at 0 on its name (no top performer when none traded).
        traded = [o for o in outcomes if o.traded]
        if traded:
            best = max(traded, key=lambda o: (o.pnl_since_last_run, o.model_id))
            summary.top_performer = best.model_id
        details = {
            o.model_id: {
                "equity": float(o.equity_after),
                "pnl_since_last_run": float(o.pnl_since_last_run),
                "decisions": o.decisions,
                "failed": o.failed,
                "orders": o.orders,
            }
            for o in outcomes
        }
        await self.store.finish_run(
            summary.run_id,
            self.clock.now(),
            status=summary.status,
            models_executed=summary.models_executed,
            decisions=summary.decisions,
            trades=summary.trades,
            errors=summary.errors,
            total_pnl=summary.total_pnl,
            top_performer=summary.top_performer,
            details=details,
        )
        self._emit("metrics.dirty", {"run_id": summary.run_id})  # new equity: re-rank now
        self._emit(
            "arena_run",
            {
                "run_id": summary.run_id,
                "slot": summary.slot_key,
                "status": summary.status,
                "models": len(summary.models_executed),
                "decisions": summary.decisions,
                "errors": summary.errors,
            },
        )

    # --- one model -----------------------------------------------------------------------

    async def _run_model(self, run: _Run, m: ArenaModelSettings) -> ModelOutcome:
        led = self._ledger(m)
        out = ModelOutcome(m.id)
        symbols = self.settings.rails.allowed_symbols
        async with self._locks[m.id]:
            led.roll_day(run.today, run.marks)
            out.equity_before = led.equity(run.marks)
            out.held = any(p.qty != 0 for p in led.positions.values())
        prev = await self.store.last_run_equity(m.book_id)
        out.pnl_since_last_run = out.equity_before - (
            Decimal(str(prev)) if prev is not None else led.initial_capital
        )
        if m.provider == "baseline":
            assert m.baseline is not None
            results: list[tuple[str, ParseOutcome, str | None, int | None]] = [
                (
                    s,
                    ParseOutcome(
                        baselines.decide(
                            m.baseline,
                            s,
                            run.bars[s],
                            led,
                            out.equity_before,
                            self.settings.rails,
                            run.slot.key,
                        ),
                        None,
                    ),
                    None,
                    None,
                )
                for s in symbols
            ]
        else:
            stats = await self.stats(m.book_id)
            system = system_prompt(m.display_name, self.settings.rails)
            sitting_out = led.sat_out_day == run.today
            results = list(
                await asyncio.gather(
                    *(self._ask(run, m, led, s, system, stats, sitting_out) for s in symbols)
                )
            )
        async with self._locks[m.id]:
            for sym, outcome, raw, call_id in results:
                await self._act(run, m, led, out, sym, outcome, raw, call_id)
            out.equity_after = led.equity(run.marks)
            await self.store.save_ledger(m.id, led, self.clock.now(), float(out.equity_after))
        return out

    async def _ask(
        self,
        run: _Run,
        m: ArenaModelSettings,
        led: Ledger,
        symbol: str,
        system: str,
        stats: BookStats,
        sitting_out: bool,
    ) -> tuple[str, ParseOutcome, str | None, int | None]:
        user = user_prompt(
            symbol=symbol,
            now=self.clock.now(),
            bars=run.bars,
            indicators=run.inds,
            ledger=led,
            marks=run.marks,
            stats=stats,
            prompt_bars=self.settings.prompt_bars,
            sitting_out=sitting_out,
        )
        res = await self._client(m).ask(
            ChatRequest(system, user, DECISION_JSON_SCHEMA), deadline=run.deadline
        )
        ids = await self.store.record_attempts(
            res.attempts, run_id=run.run_id, model=m, symbol=symbol, system=system, prompt=user
        )
        call_id = ids[-1] if ids else None
        if res.content is None:
            raw = res.attempts[-1].raw if res.attempts else None
            return symbol, ParseOutcome(None, f"call failed: {res.error}"), raw, call_id
        parsed = parse_decision(
            res.content, symbol, self.settings.rails.allowed_symbols, run.marks.get(symbol)
        )
        return symbol, parsed, res.content, call_id

    async def _act(
        self,
        run: _Run,
        m: ArenaModelSettings,
        led: Ledger,
        out: ModelOutcome,
        symbol: str,
        outcome: ParseOutcome,
        raw: str | None,
        call_id: int | None,
    ) -> None:
        now = self.clock.now()
        mark = run.marks.get(symbol)
        common: dict[str, Any] = {
            "now": now,
            "run_id": run.run_id,
            "slot_key": run.slot.key,
            "model": m,
            "symbol": symbol,
            "current_price": mark,
            "llm_call_id": call_id,
        }
        out.decisions += 1
        d = outcome.decision
        if d is None:
            out.failed += 1
            out.errors.append({"model_id": m.id, "symbol": symbol, "error": outcome.error})
            await self.store.record_decision(
                decision=hold(symbol, f"invalid answer: {outcome.error}"),
                valid=False,
                error=outcome.error,
                raw=raw,
                verdicts=[],
                rails_allowed=None,
                client_order_id=None,
                **common,
            )
            self._emit_decision(m, symbol, "HOLD", False, outcome.error)
            return
        if d.action == "HOLD":
            await self.store.record_decision(
                decision=d,
                valid=True,
                error=None,
                raw=None,
                verdicts=[],
                rails_allowed=None,
                client_order_id=None,
                **common,
            )
            self._emit_decision(m, symbol, "HOLD", True, None)
            return
        side: Literal["buy", "sell"] = "buy" if d.action == "BUY" else "sell"
        qty = Decimal(d.quantity or 0)
        rails = self.settings.rails
        limit, price = d.entry_price, d.entry_price or mark
        if (
            limit is None
            and mark is not None
            and not Proposal(symbol, side, qty, mark).reduces_exposure(led)
        ):
            # A market entry would fill across the spread, past the price it was judged at:
            # it goes out as a limit at the last price plus the allowance, judged there.
            entry = market_entry(side, mark, rails.market_allowance_bps)
            limit, price = entry.limit, entry.judged
        verdicts: list[Verdict]
        if price is None:
            allowed, verdicts = False, [Verdict("price", False, f"no price for {symbol}")]
        else:
            buys, sells = self._open_entries(m.id)
            allowed, verdicts = check_order(
                Proposal(symbol, side, qty, price),
                RailContext(led, run.marks, rails, run.today, self.trading_state(), buys, sells),
            )
        cid = client_order_id(run.slot.key, m.id, symbol) if allowed else None
        blocked = (
            None
            if allowed
            else "blocked by rails: " + "; ".join(v.reason for v in verdicts if not v.allowed)
        )
        did = await self.store.record_decision(
            decision=d,
            valid=True,
            error=blocked,
            raw=None,
            verdicts=verdicts,
            rails_allowed=allowed,
            client_order_id=cid,
            **common,
        )
        self._emit_decision(m, symbol, d.action, True, blocked)
        if not allowed or cid is None or price is None:
            return
        req = OrderRequest(cid, symbol, side, qty, mark or price, limit, d.stop_loss, d.take_profit)
        if await self._execute(req, m, run.run_id, did, "entry", d, None):
            out.orders += 1

    def _open_entries(self, model_id: str) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        """Unfilled shares of the model's open entry orders per symbol: (buys, sells)."""
        buys: dict[str, Decimal] = {}
        sells: dict[str, Decimal] = {}
        for p in self._pending.values():
            if p.model_id == model_id and p.purpose == "entry" and p.qty > p.booked_qty:
                side = buys if p.side == "buy" else sells
                side[p.symbol] = side.get(p.symbol, Decimal(0)) + p.qty - p.booked_qty
        return buys, sells

    async def _execute(
        self,
        req: OrderRequest,
        m: ArenaModelSettings,
        run_id: str | None,
        decision_id: int | None,
        purpose: str,
        d: Decision | None,
        exit_reason: str | None,
    ) -> bool:
        """Commit the intent, send, book what filled. True when the venue took the order.
        The caller holds the model's lock."""
        p = PendingOrder(
            req.client_order_id,
            m.id,
            req.symbol,
            req.side,
            req.qty,
            purpose,
            exit_reason,
            d.stop_loss if d else None,
            d.take_profit if d else None,
            d.timeframe if d else "swing",
            run_id,
            decision_id=decision_id,
        )
        fresh = await self.store.write_intent(
            cid=p.cid,
            now=self.clock.now(),
            run_id=run_id,
            decision_id=decision_id,
            model_id=m.id,
            book_id=m.book_id,
            symbol=req.symbol,
            side=req.side,
            qty=req.qty,
            limit_price=req.limit_price,
            purpose=purpose,
            exit_reason=exit_reason,
            stop_loss=p.stop_loss,
            take_profit=p.take_profit,
            timeframe=p.timeframe,
        )
        if not fresh:
            log.warning("arena order already exists; not sent again", cid=p.cid)
            return False
        self._pending[p.cid] = p
        try:
            res = await self.executor.submit(req)
        except asyncio.CancelledError:
            raise
        except TemporaryError as e:
            # It may or may not have reached the venue: reconciled by client order id.
            res = OrderResult("unknown", error=f"{type(e).__name__}: {e}")
        except ArenadError as e:
            res = OrderResult("rejected", error=f"{type(e).__name__}: {e}")
        await self._apply(p, res)
        return res.status not in ("rejected", "duplicate", "not_sent")

    async def _apply(self, p: PendingOrder, res: OrderResult) -> None:
        """Book an order's state on its model's ledger. Fills are cumulative (the venue's
        filled_qty and average price), so a state seen twice — the REST answer and the stream,
        or a replay after a reconnect — books only what is new. The caller holds the lock."""
        led = self.ledgers[p.model_id]
        now = self.clock.now()
        if res.filled_avg_price is not None and res.filled_qty > p.booked_qty:
            delta = res.filled_qty - p.booked_qty
            cost_before = (p.booked_avg or Decimal(0)) * p.booked_qty
            price = (res.filled_avg_price * res.filled_qty - cost_before) / delta
            held_before = led.qty(p.symbol)
            trade = led.apply_fill(
                p.symbol,
                p.side,
                delta,
                price,
                res.filled_at or now,
                client_order_id=p.cid,
                stop_loss=p.stop_loss,
                take_profit=p.take_profit,
                timeframe=p.timeframe,
                exit_reason=p.exit_reason or "signal",
            )
            p.booked_qty, p.booked_avg = res.filled_qty, res.filled_avg_price
            if trade is not None:
                await self.store.record_trade(trade, p.model_id, p.run_id, p.timeframe)
            await self.store.save_ledger(
                p.model_id, led, now, snapshot_equity=float(led.equity({p.symbol: price}))
            )
            if trade is not None:
                self._emit("metrics.dirty", {"book_id": led.book_id})
            held = led.qty(p.symbol)
            if p.purpose == "entry" and abs(held) > abs(held_before):
                breach = fill_breach(held, price, self.settings.rails)
                if breach is not None:
                    await self._fill_breach(p, breach)
        await self.store.update_order(
            p.cid,
            now,
            status=res.status,
            venue_order_id=res.venue_order_id,
            filled_qty=p.booked_qty,
            filled_avg_price=p.booked_avg,
            filled_at=res.filled_at,
            error=res.error,
        )
        if res.status in FINAL_STATUSES:
            self._pending.pop(p.cid, None)

    async def _fill_breach(self, p: PendingOrder, v: Verdict) -> None:
        """A fill took a position past the rail (a venue filling beyond the limit, a short
        sale, a rail lowered while an order rested): the fill stands — it happened — but it is
        recorded as a failed verdict on its decision and raised as a warning."""
        log.warning("arena fill over the position rail", cid=p.cid, model=p.model_id, why=v.reason)
        if p.decision_id is not None:
            await self.store.record_verdict(p.decision_id, v)
        details = {
            "model_id": p.model_id,
            "symbol": p.symbol,
            "client_order_id": p.cid,
            "decision_id": p.decision_id,
            **v.wire(),
        }
        self._emit("arena_rail", details)
        if self.alert is not None:
            await self.alert(f"arena {p.model_id} {p.symbol}: {v.reason}", details)

    async def on_order_update(self, cid: str, res: OrderResult) -> bool:
        """An order state from the venue (trade-updates stream or a REST lookup). False when
        the order is not an open arena order (another system's, or already final)."""
        p = self._pending.get(cid)
        if p is None:
            return False
        async with self._locks[p.model_id]:
            if cid in self._pending:
                await self._apply(p, res)
        return True

    async def reconcile_orders(self, lookup: Callable[[str], Awaitable[OrderResult | None]]) -> int:
        """At start (and after a stream reconnect): ask the venue about every order whose
        outcome we do not know. An intent the venue never saw is ``not_sent`` and is never
        sent again (its slot is over). Returns how many orders were resolved."""
        n = 0
        for p in list(self._pending.values()):
            try:
                res = await lookup(p.cid)
            except TemporaryError as e:
                log.warning("arena order reconcile failed; will retry", cid=p.cid, error=str(e))
                continue
            if res is None:
                res = OrderResult("not_sent", error="the venue has no such order")
            await self.on_order_update(p.cid, res)
            n += 1
        return n

    async def account_drift(self, account: Mapping[str, Decimal]) -> dict[str, Decimal]:
        """The shared account's positions minus the sum of the ledgers (empty: reconciled).
        Drift is reported as an event by the caller."""
        return reconcile(self.ledgers.values(), account)

    def _emit_decision(
        self, m: ArenaModelSettings, symbol: str, action: str, valid: bool, error: str | None
    ) -> None:
        self._emit(
            "decision",
            {
                "source": "arena",
                "book_id": m.book_id,
                "model_id": m.id,
                "symbol": symbol,
                "action": action,
                "valid": valid,
                "error": error,
            },
        )

    # --- exits -----------------------------------------------------------------------------

    async def on_price(self, symbol: str, price: Decimal) -> list[ExitSignal]:
        """Check every book's position in ``symbol`` against a new price (market-data stream)
        and close what must close. Returns the exits taken."""
        taken = []
        now = self.clock.now()
        for m in self.settings.models:
            led = self.ledgers.get(m.id)
            if led is None or symbol not in led.positions:
                continue
            async with self._locks[m.id]:
                pos = led.positions.get(symbol)
                if pos is None:
                    continue
                sig = check_exit(pos, price, now, self.settings.exits, self.calendar)
                if sig is None:
                    continue
                if await self._exit(m, led, sig):
                    taken.append(sig)
        return taken

    async def close_position(
        self, model_id: str, symbol: str, price: Decimal, who: str = "operator"
    ) -> ExitSignal | None:
        m = self.settings.model(model_id)
        led = self.ledgers.get(model_id)
        if m is None or led is None:
            return None
        async with self._locks[model_id]:
            pos = led.positions.get(symbol)
            if pos is None:
                return None
            sig = manual_exit(pos, price, who)
            return sig if await self._exit(m, led, sig) else None

    async def _exit(self, m: ArenaModelSettings, led: Ledger, sig: ExitSignal) -> bool:
        # One exit at a time per position: a stop and a time limit firing together (or a
        # stop re-firing before the first exit fills) must not sell twice.
        if any(
            p.model_id == m.id and p.symbol == sig.symbol and p.purpose == "exit"
            for p in self._pending.values()
        ):
            return False
        pos = led.positions[sig.symbol]
        cid = exit_client_order_id(pos, m.id, sig.reason)
        req = OrderRequest(cid, sig.symbol, sig.side, sig.qty, sig.price)
        ok = await self._execute(req, m, None, None, "exit", None, sig.reason)
        if ok:
            log.info(
                "arena exit", model=m.id, symbol=sig.symbol, reason=sig.reason, price=str(sig.price)
            )
        return ok

    async def check_time_limits(self, marks: Mapping[str, Decimal]) -> list[ExitSignal]:
        """Close positions past their timeframe's limit (called periodically: a time limit
        passes without any tick)."""
        taken = []
        for sym, price in marks.items():
            taken += await self.on_price(sym, price)
        return taken
