"""The fade component of the daemon: bot fills in, decisions and orders out.

Loops (supervised; trading loops, so a crash loop engages the kill switch):
- ``fade-ingest``: start-up first — the venue's asset list, the books, positions and pauses
  from the database, and every order intent left without a result resolved (paper: never
  executed; live: asked by cloid) BEFORE any new order — then ``FillIngest`` (one websocket
  for up to 10 wallets, polling beyond, backfill on every connect). Each batch of a bot's
  fills: known ones dropped, decisions taken, events + decisions + intents committed in one
  transaction, then the orders executed one by one and their results committed.
- ``fade-upkeep``: mids for marks, equity snapshots (every ``snapshot_interval_s`` and on
  large moves), the day's P&L to the daily loss guard, bot positions checked against
  ``clearinghouseState``, and intents whose answer was lost resolved by cloid.

Execution: ``mode = "simulation"`` fills on paper against the live ``l2Book`` (taker fee);
``"live"`` sends an IOC limit order at the mid ± ``slippage_bps`` to the configured network,
signed with the SDK's helpers (``HyperliquidExchange``). Live anywhere but the simulator
needs the daemon's live permission.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import statistics
import time
from collections import deque
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

import structlog
from eth_account import Account

from arenad.books.layer import Position
from arenad.books.tables import EquityPoint
from arenad.control.protocol import InvalidArgs, ProtocolError
from arenad.errors import ArenadError, OrderRejected, TemporaryError
from arenad.fade.accounting import ZERO
from arenad.fade.botcheck import BotCheck
from arenad.fade.engine import Decision, FadeEngine, FillResult, OrderPlan, cloid_for
from arenad.fade.ingest import FillIngest
from arenad.fade.paper import paper_fill
from arenad.fade.reconcile import AccountReconciler
from arenad.fade.settings import FadeSettings
from arenad.fade.store import Batch, FadeStore, NewFill, equity_rows, fill_key, ms_iso
from arenad.guards.trading import TradingState
from arenad.guards.venue import VenueMonitor
from arenad.store.db import open_reader, parse_iso, utc_iso
from arenad.tracker.store import latest_chat_before
from arenad.venues.hyperliquid.exchange import HyperliquidExchange, OrderIntent
from arenad.venues.hyperliquid.info import HyperliquidInfo
from arenad.venues.hyperliquid.rules import round_price
from arenad.venues.hyperliquid.wire import (
    Asset,
    BotFill,
    parse_fills,
    parse_meta,
    parse_order_reply,
)

if TYPE_CHECKING:
    from arenad.daemon.context import DaemonContext

log = structlog.get_logger("arenad.fade")
NETWORKS = {
    "testnet": ("https://api.hyperliquid-testnet.xyz", "wss://api.hyperliquid-testnet.xyz/ws"),
    "mainnet": ("https://api.hyperliquid.xyz", "wss://api.hyperliquid.xyz/ws"),
}
BPS = Decimal(10_000)
VENUE = "hyperliquid"
"""The venue the fade trades on (its hold: ``TradingGuard.state_for(VENUE)``)."""


def urls(st: FadeSettings, sim_host: str, sim_port: int) -> tuple[str, str]:
    if st.network == "sim":
        base, ws = f"http://{sim_host}:{sim_port}", f"ws://{sim_host}:{sim_port}/ws"
    else:
        base, ws = NETWORKS[st.network]
    return (st.info_url or base).rstrip("/"), st.ws_url or ws


def sim_key() -> str:
    """The fade account's key on the built-in simulator when none is configured: a
    simulator-only identity (the simulator funds any address that signs)."""
    return "0x" + hashlib.sha256(b"arenad-sim-fade-account").hexdigest()


class FadeComponent:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        root = ctx.current
        self.base_url, self.ws_url = urls(self.settings, root.sim.host, root.sim.hyperliquid_port)
        self.info = HyperliquidInfo(self.base_url)
        # Outages of the venue hold fade trading by themselves (arenad.guards.venue).
        self.venue = VenueMonitor(
            VENUE,
            ctx.guard,
            ctx.events,
            clock=ctx.clock,
            grace_s=lambda: ctx.current.risk.venue_outage_grace_s,
            max_backoff_s=lambda: ctx.current.risk.venue_retry_max_s,
        )
        self.store = FadeStore(ctx.writer, ctx.db_path)
        self.engine = FadeEngine(self.settings, daily_loss_limit=root.risk.daily_loss_limit_usd)
        self.assets: dict[str, Asset] = {}
        self.marks: dict[str, Decimal] = {}
        self.lock = asyncio.Lock()
        self.ready = asyncio.Event()
        self.ingest: FillIngest | None = None
        self.exchange: HyperliquidExchange | None = None
        self.account_address: str | None = None
        self.last_snapshot: dict[str, float] = {}
        self.last_snapshot_at = -float("inf")  # first snapshot and check at start-up
        self.botcheck = BotCheck(self.settings.clearinghouse_check_interval_s)
        self.day: str | None = None
        self.day_start_equity: Decimal | None = None
        # Bot fills handed over by the ingest → order sent (intent committed first), seconds.
        self.latencies: deque[float] = deque(maxlen=10_000)
        self.commits: deque[float] = deque(maxlen=10_000)  # of which: the write-ahead commit
        self.restored: set[str] = set()  # intents whose asks are pending again
        self.funding_hour: datetime | None = None
        self.last_fill_at: dict[str, float] = {}  # monotonic time of each bot's last batch
        self.seen: dict[str, set[str]] = {}  # fill keys stored since start-up, per wallet
        self.db_max_ms: dict[str, int] = {}  # newest fill stored before start-up, per wallet
        # Wallets (re-)added by a reload → their newest stored fill when they came back: the
        # ingest's backfills start there (not at the newest stored fill, which live fills
        # move on) until a backfill has delivered, so fills made while the bot was not
        # tracked are not skipped.
        self.resume_from: dict[str, int | None] = {}
        self.wallets_changed = asyncio.Event()
        # Live: the ms time of each intent not sent yet; its order expires a window after it.
        self.intent_ms: dict[str, int] = {}
        self.results = 0  # order results booked so far (the reconciliation's race check)
        self.reconciler = AccountReconciler(self)

    @property
    def settings(self) -> FadeSettings:
        return self.ctx.current.fade

    @property
    def live(self) -> bool:
        return self.settings.mode == "live"

    @property
    def unknown_grace_s(self) -> float:
        """How long after its intent an order the venue does not know is called never sent:
        its expiry window plus the clock margin."""
        return self.settings.order_expiry_s + self.settings.clock_margin_s

    # --- set-up -----------------------------------------------------------------------------

    async def start(self) -> None:
        c = self.ctx.control
        c.register("fade.bots", self.cmd_bots, "the faded bots with their books")
        c.register(
            "fade.decisions", self.cmd_decisions, "fade decisions, newest first {bot_id?, limit=50}"
        )
        c.register("fade.pause", self.cmd_pause, "stop fading a bot {bot_id}")
        c.register("fade.resume", self.cmd_resume, "fade a paused bot again {bot_id}")
        c.register(
            "fade.close_position",
            self.cmd_close,
            "close a fade book's position at the market {bot_id, symbol}",
        )
        c.register("fade.positions", self.cmd_positions, "open positions of the fade books")
        c.register(
            "fade.ack_drift",
            self.reconciler.ack,
            "acknowledge the account drift and resume trading {resync?, book_id?}",
        )
        self.ctx.status_sections["account_drift"] = self.reconciler.snapshot
        c.register("fade.orders", self.cmd_orders, "fade orders {book_id?, symbol?, limit}")
        c.register(
            "fade.stats",
            self.cmd_stats,
            "reaction latency (bot fill in → order sent) and ingest counters {reset?}",
        )
        self.ctx.settings.on_change(self._on_settings)
        st = self.settings
        if not st.enabled or not st.bots:
            return
        if self.live:
            if st.network != "sim" and not (
                self.ctx.allow_live and self.ctx.current.mode == "live"
            ):
                msg = (
                    f'fade: live orders to {st.network} need mode = "live" and '
                    "`arenad run --live` (or ARENAD_ALLOW_LIVE=1); the fade loop is not "
                    "started"
                )
                await self.ctx.events.emit("error", "trading", msg)
                return
            key = os.environ.get(self.ctx.current.secrets.hyperliquid_private_key_env, "")
            if not key:
                if st.network != "sim":
                    await self.ctx.events.emit(
                        "error",
                        "trading",
                        f"fade: live mode needs a key in "
                        f"${self.ctx.current.secrets.hyperliquid_private_key_env}",
                    )
                    return
                key = sim_key()
            try:
                wallet = Account.from_key(key)
            except (ValueError, TypeError) as e:
                await self.ctx.events.emit(
                    "error", "trading", f"fade: the private key is not valid: {type(e).__name__}"
                )
                return
            self.account_address = str(wallet.address).lower()
            self.exchange = HyperliquidExchange(
                self.base_url, wallet, is_mainnet=st.network == "mainnet"
            )
        self.venue.register()
        self.venue.on_release(self.retarget)
        self.ctx.supervisor.add("fade-ingest", self.run_ingest, trading=True)
        self.ctx.supervisor.add("fade-upkeep", self.upkeep, trading=True)

    async def _on_settings(self, old: Any, new: Any) -> None:
        before = {b.wallet for b in old.fade.bots}
        after = {b.wallet for b in new.fade.bots}
        # Before the engine knows them again: until then their fills are not stored, so the
        # newest stored fill is where tracking stopped.
        for w in sorted(after - before):
            self.resume_from[w] = await self.store.last_fill_ms(w)
        if old.fade != new.fade or old.risk != new.risk:
            self.engine.configure(new.fade, new.risk.daily_loss_limit_usd)
        if before != after:
            if "fade-ingest" not in self.ctx.supervisor.tasks:
                await self.ctx.events.emit(
                    "warning",
                    "trading",
                    "fade: the bots changed but the fade loop is not running (it was started "
                    "disabled or without bots); restart arenad to start it",
                )
            self.wallets_changed.set()  # the ingest restarts with the new wallets

    async def last_fill_ms(self, wallet: str) -> int | None:
        """Where the ingest's backfill of ``wallet`` starts (see ``resume_from``)."""
        if wallet in self.resume_from:
            return self.resume_from[wallet]
        return await self.store.last_fill_ms(wallet)

    async def init(self) -> None:
        """Everything that must happen before the first new order."""
        self.assets = parse_meta(await self.venue.call(self.info.meta, "meta"))
        self.engine.sz_decimals = {c: a.sz_decimals for c, a in self.assets.items()}
        await self.store.register_books(self.settings, self.ctx.clock.now())
        await self.store.load_into(self.engine)
        await self.reconciler.load()
        await self.refresh_marks()
        resolved = await self.reconcile()
        if resolved:
            await self.ctx.events.emit(
                "info",
                "trading",
                f"fade: {resolved} order intents from before the restart resolved",
                {"count": resolved},
            )
        await self.reconciler.check()  # the account against the venue before any new order
        # Each bot book's curve is its venue account value: read once now, so its curve starts
        # with the others' (before, a daemon that lived less than one bot check left bot books
        # with fills and no point at all).
        for bot_id, (_, state) in (await self.fetch_bot_states(list(self.engine.bots))).items():
            self.take_bot_equity(bot_id, state)
        async with self.lock:
            rows, out = equity_rows(self.engine, self.marks, self.ctx.clock.now())
            self.ctx.books.seed_positions(self.positions())
        await self.ctx.books.snapshot(rows, force=True)  # every book's curve starts here
        self.last_snapshot.update(out)
        self.ready.set()

    async def run_ingest(self) -> None:
        if not self.ready.is_set():
            await self.init()
        while True:
            # A reload that changes the wallets restarts the ingest: new wallets are
            # subscribed, and every connect backfills (re-added bots from `resume_from`).
            self.wallets_changed.clear()
            self.ingest = FillIngest(
                info=self.info,
                ws_url=self.ws_url,
                wallets=[b.wallet for b in self.settings.bots],
                on_fills=self.on_fills,
                last_fill_ms=self.last_fill_ms,
                on_gap=self.on_gap,
                on_connection=self.on_connection,
                clock=self.ctx.clock,
                reserved_users=0,
                poll_interval_s=self.settings.poll_interval_s,
                max_backoff_s=self.ctx.current.risk.venue_retry_max_s,
                venue=self.venue,
            )
            running = asyncio.create_task(self.ingest.run(), name="fade-ingest-run")
            changed = asyncio.create_task(self.wallets_changed.wait())
            try:
                await asyncio.wait({running, changed}, return_when=asyncio.FIRST_COMPLETED)
                if running.done():
                    running.result()  # a crash goes to the supervisor, which restarts us
                    await changed  # no wallets to follow (all removed): wait for some
            finally:
                changed.cancel()
                if not running.done():
                    running.cancel()
                    await asyncio.wait({running})  # (wait does not raise its cancellation)
            log.info("fade: bot wallets changed; restarting the ingest")
            await self.store.register_books(self.settings, self.ctx.clock.now())

    async def on_connection(self, up: bool, status: dict[str, Any]) -> None:
        await self.ctx.health.set_connection("hyperliquid", up, **status)

    async def on_gap(self, wallet: str, reason: str) -> None:
        bot = self.engine.bot_for_wallet(wallet)
        who = bot.id if bot else wallet
        await self.ctx.guard.engage("ingest_gap", f"fills of {who} cannot be backfilled: {reason}")

    # --- the hot path ---------------------------------------------------------------------------

    async def on_fills(self, wallet: str, raws: list[dict[str, Any]], source: str) -> None:
        received = time.perf_counter()
        bot = self.engine.bot_for_wallet(wallet)
        if bot is None:
            return
        fills, errors = parse_fills(raws, wallet)
        for e in errors:
            await self.ctx.events.emit(
                "warning",
                "ingest",
                f"fade: bad fill skipped: {e}",
                {"bot_id": bot.id, "source": source},
            )
        caught_up = source in ("backfill", "poll") and wallet in self.resume_from
        new = await self.unseen(wallet, fills)
        if not new:
            if caught_up:
                self.resume_from.pop(wallet, None)
            return
        async with self.lock:
            self.last_fill_at[bot.id] = self.ctx.clock.monotonic()
            for f in new:
                self.marks.setdefault(f.coin, f.px)
            decisions, plans = self.engine.on_bot_fills(
                bot.id,
                new,
                marks=self.marks,
                state=self.ctx.guard.state_for(VENUE),
                day_pnl=self.day_pnl(),
                now_s=self.ctx.clock.monotonic(),
                halted_by=self.ctx.guard.halt_reason(VENUE),
            )
            await self.commit_and_execute(
                [NewFill(bot.id, f, source) for f in new], decisions, plans, received, bot.id
            )
            if caught_up:  # stored from where tracking stopped: back to the newest fill
                self.resume_from.pop(wallet, None)
            await self.ctx.health.mark_event()
        self.publish_decisions(decisions)
        alarm = self.engine.rate_alarm(self.ctx.clock.monotonic())
        if alarm is not None:
            n, skipped = alarm
            lim = self.settings.max_orders_per_minute
            await self.ctx.events.emit(
                "warning",
                "trading",
                f"fade: the order rate limit ({lim} a minute) skipped {skipped} of {n} "
                f"decisions ({100 * skipped / n:.0f} %) in the last minute; the fade books "
                "fall behind their targets",
                {"decisions": n, "skipped": skipped, "max_orders_per_minute": lim},
            )

    async def _drop_repeated(
        self, bot_id: str, plans: list[OrderPlan], batch: Batch
    ) -> list[OrderPlan]:
        """Plans whose cloid is already stored are the same cause seen again (a venue that
        repeated fill ids, e.g. a restarted simulator): never sent a second time. Their asks
        are released from pending without touching any position; the stored order keeps its
        own result."""
        repeated = batch.repeated_cloids
        if not (repeated or batch.repeated_keys):
            return plans
        now_ms = int(self.ctx.clock.now().timestamp() * 1000)
        for p in plans:
            if p.cloid in repeated:
                self.engine.apply_fill(p, FillResult("not_sent"), now_ms)
        await self.ctx.events.emit(
            "error",
            "ingest",
            f"fade: {len(batch.repeated_keys)} fill(s) of {bot_id} repeat ids already stored"
            f" and {len(repeated)} order(s) repeat a stored cloid; those orders were not sent"
            " again (does the venue reuse fill hashes/tids?)",
            {
                "bot_id": bot_id,
                "fill_keys": batch.repeated_keys[:20],
                "cloids": sorted(repeated)[:20],
            },
        )
        return [p for p in plans if p.cloid not in repeated]

    async def commit_and_execute(
        self,
        fills: list[NewFill],
        decisions: list[Decision],
        plans: list[OrderPlan],
        received: float | None,
        bot_id: str = "",
    ) -> None:
        """Events, decisions and intents in one transaction, then the orders (under the lock).
        An order whose cloid was already stored is never sent again (`_drop_repeated`)."""
        limits = {p.cloid: self.limit_price(p) for p in plans} if self.live else {}
        decided = time.perf_counter()
        intent_at = self.ctx.clock.now()
        if self.live:
            self.intent_ms.update({p.cloid: _ms(intent_at) for p in plans})
        batch = await self.store.record_batch(
            fills,
            decisions,
            plans,
            self.engine,
            intent_at,
            network=self.settings.network if self.live else "paper",
            simulated=not self.live,
            limit_prices=limits,
        )
        self.commits.append(time.perf_counter() - decided)
        plans = await self._drop_repeated(bot_id, plans, batch)
        if self.live and len(plans) > 1:
            await self.execute_many(plans, limits, received)
        else:
            for p in plans:
                await self.execute(p, limits.get(p.cloid), received)

    def publish_decisions(self, decisions: list[Decision]) -> None:
        for d in decisions:
            self.ctx.bus.publish("decision", {"source": "fade", **self.decision_wire(d)})

    async def retarget(self) -> None:
        """A venue hold was released: every fade book re-targeted from its bot's position.
        The fills the backfill brought in while trading was held were booked on the bot books
        but decided as skips; without this, a book would stay off target until the bot's next
        fill in that coin. Nothing to do while the kill switch is engaged (it blocks every
        automatic order)."""
        if not self.ready.is_set() or self.ctx.guard.state_for(VENUE) is TradingState.HALTED:
            return
        async with self.lock:
            decisions, plans = self.engine.retarget(
                marks=self.marks,
                state=self.ctx.guard.state_for(VENUE),
                day_pnl=self.day_pnl(),
                now_s=self.ctx.clock.monotonic(),
                now_ms=_ms(self.ctx.clock.now()),
                why="re-target after the venue hold",
            )
            if not decisions:
                return
            await self.commit_and_execute([], decisions, plans, None)
        log.info(
            "fade: books re-targeted after the venue hold",
            decisions=len(decisions),
            orders=len(plans),
        )
        self.publish_decisions(decisions)

    async def unseen(self, wallet: str, fills: list[BotFill]) -> list[BotFill]:
        """The fills not stored yet (delivery is at-least-once). Keys seen since start-up are
        remembered; the database is asked only about fills no newer than the newest stored
        before start-up (a connect's snapshot or backfill overlapping old history), so a
        live fill costs no read."""
        seen = self.seen.setdefault(wallet, set())
        if len(seen) > 100_000:  # bounded memory: forget, and let the database answer
            seen.clear()
            self.db_max_ms.pop(wallet, None)
        if wallet not in self.db_max_ms:
            self.db_max_ms[wallet] = await self.store.last_fill_ms(wallet) or -1
        keyed = {fill_key(f): f for f in fills}
        fresh = {k: f for k, f in keyed.items() if k not in seen}
        old = [k for k, f in fresh.items() if f.time_ms <= self.db_max_ms[wallet]]
        known = await self.store.known_keys(wallet, old) if old else set()
        seen.update(keyed)
        return [f for k, f in fresh.items() if k not in known]

    def limit_price(self, plan: OrderPlan) -> Decimal | None:
        mark = self.marks.get(plan.coin)
        asset = self.assets.get(plan.coin)
        if mark is None or asset is None:
            return None
        slip = self.settings.slippage_bps / BPS
        px = mark * (1 + slip) if plan.is_buy else mark * (1 - slip)
        return round_price(px, asset.sz_decimals, ROUND_HALF_EVEN)

    async def execute(
        self, plan: OrderPlan, limit: Decimal | None, received: float | None = None
    ) -> FillResult:
        """Send (or paper-fill) a committed intent and commit its result."""
        if not plan.size:
            result = FillResult("filled")
        elif self.live:
            result = (await self._send([(plan, limit)], received))[plan.cloid]
        else:
            try:
                book = await self.info.l2_book(plan.coin)
            except ArenadError as e:
                book = None
                result = FillResult("not_sent", error=f"no order book: {e}")
            if book is not None:
                if received is not None:
                    self.latencies.append(time.perf_counter() - received)
                result = paper_fill(book, plan.is_buy, abs(plan.size), self.settings.taker_fee_bps)
        await self.apply(plan, result)
        return result

    async def execute_many(
        self, plans: list[OrderPlan], limits: dict[str, Decimal | None], received: float | None
    ) -> None:
        """Live: every order of a batch in one signed action (one round trip, not one each)."""
        results = await self._send([(p, limits.get(p.cloid)) for p in plans if p.size], received)
        for p in plans:
            await self.apply(p, results.get(p.cloid, FillResult("filled")))

    async def _send(
        self, orders: list[tuple[OrderPlan, Decimal | None]], received: float | None
    ) -> dict[str, FillResult]:
        out: dict[str, FillResult] = {}
        intents: list[tuple[OrderPlan, OrderIntent, Asset]] = []
        for plan, limit in orders:
            asset = self.assets.get(plan.coin)
            if asset is None or limit is None or self.exchange is None:
                out[plan.cloid] = FillResult("not_sent", error=f"no price or asset for {plan.coin}")
                continue
            intents.append(
                (
                    plan,
                    OrderIntent(
                        asset.index,
                        plan.is_buy,
                        limit,
                        abs(plan.size),
                        plan.reduce_only,
                        plan.cloid,
                        "Ioc",
                    ),
                    asset,
                )
            )
        if not intents or self.exchange is None:
            return out
        now_ms = _ms(self.ctx.clock.now())
        # The venue refuses the action after this: an answer lost cannot become a late fill,
        # and an order unknown to the venue once it passed is known never to fill.
        expires = min(self.intent_ms.pop(p.cloid, now_ms) for p, _, _ in intents) + int(
            self.settings.order_expiry_s * 1000
        )
        try:
            if received is not None:
                self.latencies.append(time.perf_counter() - received)
            reply = await self.exchange.place([i for _, i, _ in intents], now_ms, expires)
            await self.ctx.health.mark_order()
            statuses = parse_order_reply(reply)
        except OrderRejected as e:
            return out | {p.cloid: FillResult("rejected", error=str(e)) for p, _, _ in intents}
        except ArenadError as e:
            # The orders may have reached the venue: resolved by cloid in upkeep.
            return out | {p.cloid: FillResult("unknown", error=str(e)) for p, _, _ in intents}
        if len(statuses) != len(intents):
            return out | {
                p.cloid: FillResult("unknown", error="reply without a status each")
                for p, _, _ in intents
            }
        for (plan, _, asset), st in zip(intents, statuses, strict=True):
            if st.kind == "error":
                out[plan.cloid] = FillResult("rejected", error=st.error)
            elif st.kind == "resting":  # not for an IOC; cancel rather than leave it
                with contextlib.suppress(ArenadError):
                    await self.exchange.cancel_by_cloid(
                        asset.index,
                        plan.cloid,
                        now_ms,
                        now_ms + int(self.settings.order_expiry_s * 1000),
                    )
                out[plan.cloid] = FillResult(
                    "unknown", oid=st.oid, error="IOC order resting; cancelled"
                )
            else:
                filled = st.total_sz or ZERO
                fee = filled * (st.avg_px or ZERO) * self.settings.taker_fee_bps / BPS
                out[plan.cloid] = FillResult(
                    "filled" if filled >= abs(plan.size) else "partially_filled",
                    filled,
                    st.avg_px,
                    fee,
                    st.oid,
                )
        return out

    async def apply(self, plan: OrderPlan, result: FillResult) -> None:
        self.results += 1
        if result.status == "unknown":
            await self.store.record_unknown(plan.cloid, result, self.ctx.clock.now())
            return
        now = self.ctx.clock.now()
        out = self.engine.apply_fill(
            plan, result, int(now.timestamp() * 1000), self.marks.get(plan.coin)
        )
        await self.store.record_result(plan, result, out, self.engine, now)
        touched = set(plan.asks)
        for p in self.positions(touched, coins={plan.coin}, closed=True):
            self.ctx.books.position(p)
        if result.filled:
            await self.ctx.health.mark_order()
            rows, _ = equity_rows(self.engine, self.marks, now)
            await self.ctx.books.snapshot(
                [r for r in rows if r.book_id in touched], recompute=self.points_now
            )
            self.ctx.bus.publish(
                "order",
                {
                    "cloid": plan.cloid,
                    "coin": plan.coin,
                    "status": result.status,
                    "size": str(result.filled),
                    "price": str(result.avg_price),
                },
            )
        if out.trips:
            self.ctx.bus.publish("metrics.dirty", {"book_id": out.trips[0].book_id})
        if out.drift:
            await self.ctx.events.emit(
                "error",
                "trading",
                f"fade: books and account differ in {plan.coin} by {out.drift}",
                {"coin": plan.coin, "drift": str(out.drift)},
            )

    # --- start-up and lost answers --------------------------------------------------------

    async def reconcile(self) -> int:
        """Resolve every intent without a final result. Paper: such an intent was never
        executed (paper fills happen in-process), so it ends ``not_sent``. Live: the venue is
        asked by cloid; an order it never saw ends ``not_sent``; one it filled is booked from
        our own fills (exact size, price and fee)."""
        n = 0
        for row in await self.store.open_intents():
            plan = await self.store.plan_of(row)
            if plan.cloid not in self.restored:
                self.restored.add(plan.cloid)
                self.engine.restore_pending(plan)
            result = await self._resolve(row)
            if result is None:
                # Still unknown: asked again at the next upkeep, never sent again.
                if row["status"] == "intent":
                    await self.store.record_unknown(
                        plan.cloid,
                        FillResult("unknown", error="venue not sure yet"),
                        self.ctx.clock.now(),
                    )
                continue
            await self.apply(plan, result)
            n += 1
        return n

    async def _resolve(self, row: dict[str, Any]) -> FillResult | None:
        if not row["network"] or row["network"] == "paper" or self.account_address is None:
            return FillResult("not_sent", error="no result recorded before a restart")
        try:
            st = await self.info.order_status(self.account_address, row["cloid"])
        except ArenadError as e:
            log.warning("fade: order status by cloid failed", cloid=row["cloid"], error=str(e))
            return None
        if st.get("status") == "unknownOid":
            # A request still in transit when the old process died could land a moment
            # later — but not after its expiresAfter (intent + order_expiry_s): once that has
            # passed, with a margin for the two clocks, the venue is known never to take it.
            age = (self.ctx.clock.now() - parse_iso(row["ts"])).total_seconds()
            if age < self.unknown_grace_s:
                return None
            return FillResult("not_sent", error="the venue never received it (expired)")
        order = (st.get("order") or {}).get("order") or {}
        status = (st.get("order") or {}).get("status")
        oid = order.get("oid")
        if status in ("open", "triggered"):
            return None
        try:
            since = int(order.get("timestamp", 0)) - 60_000
            fills = [
                f
                for f in await self.info.fills_since(self.account_address, since)
                if f.get("oid") == oid
            ]
        except ArenadError:
            return None
        size = sum((Decimal(str(f["sz"])) for f in fills), ZERO)
        if not size:
            return FillResult("cancelled", oid=oid, error=f"venue status {status}")
        value = sum((Decimal(str(f["sz"])) * Decimal(str(f["px"])) for f in fills), ZERO)
        fee = sum((Decimal(str(f.get("fee", "0"))) for f in fills), ZERO)
        orig = Decimal(str(order.get("origSz", size)))
        return FillResult(
            "filled" if size >= orig else "partially_filled", size, value / size, fee, oid
        )

    # --- upkeep -----------------------------------------------------------------------------

    async def refresh_marks(self) -> None:
        try:
            mids = await self.info.all_mids()
        except TemporaryError as e:
            await self.venue.failed("allMids", str(e))
            return
        except ArenadError as e:
            log.warning("fade: allMids failed", error=str(e))
            return
        self.venue.answered("allMids")
        for c, v in mids.items():
            with contextlib.suppress(ArithmeticError, ValueError):
                self.marks[c] = Decimal(str(v))

    async def upkeep(self) -> None:
        await self.ready.wait()
        while True:
            # Venue reads happen outside the lock, so bot fills never wait on them.
            await self.refresh_marks()
            self.botcheck.interval_s = self.settings.clearinghouse_check_interval_s
            due = self.botcheck.due(
                {b.id: b.wallet for b in self.settings.bots},
                self.ctx.clock.monotonic(),
                self.ingest.synced_at if self.ingest else {},
            )
            states = await self.fetch_bot_states(due) if due else {}
            await self.funding_if_due()
            async with self.lock:
                await self.check_bots(states)
                snap = self.snapshot_due()
                # A bot book's curve is its venue account value: a point at each read.
                read = self.points_now(
                    {self.engine.bots[b].book_id for b in states if b in self.engine.bots}
                )
            if snap is not None:
                await self.write_snapshot(*snap)
            if read:
                await self.ctx.books.snapshot(read, recompute=self.points_now)
            await self.report_day()
            await self.report_ingest()
            if await self.store.has_unknown():
                async with self.lock:
                    await self.reconcile()
            await self.reconciler.check()
            await self.ctx.clock.sleep(min(2.0, self.settings.snapshot_interval_s))

    async def report_ingest(self) -> None:
        """The ingest's counters (fills delivered per source, gaps) into the connection's
        status as they change, not only as they were when the connection last changed."""
        if self.ingest is None:
            return
        st = self.ingest.status()
        cur = self.ctx.health.connections.get("hyperliquid")
        if cur is None:
            return
        if cur.get("delivered") != st["delivered"] or cur.get("gaps") != st["gaps"]:
            await self.ctx.health.set_connection("hyperliquid", bool(cur.get("connected")), **st)

    async def funding_if_due(self) -> None:
        """Hyperliquid pays funding every hour on the hour: at each new hour, the rates are
        read (metaAndAssetCtxs) and one interval is booked on the fade books and the account
        — the venue's own charge in paper mode, the same formula in live mode."""
        hour = self.ctx.clock.now().replace(minute=0, second=0, microsecond=0)
        if self.funding_hour is None:
            self.funding_hour = hour  # positions held before start-up: from the next hour
            return
        if hour <= self.funding_hour:
            return
        try:
            meta, ctxs = await self.info.post({"type": "metaAndAssetCtxs"})
            rates = {
                a["name"]: Decimal(str(c["funding"]))
                for a, c in zip(meta["universe"], ctxs, strict=False)
            }
        except (ArenadError, ArithmeticError, KeyError, TypeError, ValueError) as e:
            log.warning("fade: funding rates unavailable; retried", error=repr(e))
            return
        async with self.lock:
            self.funding_hour = hour
            paid = self.engine.apply_funding(rates, self.marks)
            if paid:
                await self.store.save_books(self.engine, self.ctx.clock.now())
        if paid:
            log.info("fade: funding booked", funding={k: str(v) for k, v in paid.items()})

    def day_pnl(self) -> float | None:
        if self.day_start_equity is None:
            return None
        return float(self.fade_equity() - self.day_start_equity)

    def fade_equity(self) -> Decimal:
        return sum((b.equity(self.marks) for b in self.engine.fades.values()), ZERO)

    async def report_day(self) -> None:
        tz = self.ctx.guard.daily.tz
        today = self.ctx.clock.now().astimezone(tz).date().isoformat()
        if today != self.day:
            self.day, self.day_start_equity = today, self.fade_equity()
        pnl = self.day_pnl()
        if pnl is not None:
            await self.ctx.guard.report_daily_pnl("fade", pnl)

    def snapshot_due(self) -> tuple[list[EquityPoint], dict[str, float], datetime] | None:
        """The snapshot rows when one is due (interval passed, or a book moved more than
        ``large_move_pct``): computed under the lock, written after it."""
        now_m = self.ctx.clock.monotonic()
        due = now_m - self.last_snapshot_at >= self.settings.snapshot_interval_s
        if not due:
            for b in self.engine.fades.values():
                last = self.last_snapshot.get(b.book_id)
                eq = float(b.equity(self.marks))
                if last and abs(eq / last - 1) * 100 >= self.settings.large_move_pct:
                    due = True
                    break
        if not due:
            return None
        self.last_snapshot_at = now_m
        now = self.ctx.clock.now()
        rows, out = equity_rows(self.engine, self.marks, now)
        self.last_snapshot.update(out)
        return rows, out, now

    def points_now(self, books: set[str]) -> list[EquityPoint]:
        """The books' points at this instant (a coalesced snapshot taken when it is written)."""
        rows, _ = equity_rows(self.engine, self.marks, self.ctx.clock.now())
        return [r for r in rows if r.book_id in books]

    async def final_snapshot(self) -> None:
        """Shutdown: every book's point at the last marks (forced)."""
        if not self.ready.is_set():
            return
        rows, _ = equity_rows(self.engine, self.marks, self.ctx.clock.now())
        await self.ctx.books.snapshot(rows, force=True)

    def positions(
        self,
        book_ids: set[str] | None = None,
        *,
        coins: set[str] | None = None,
        closed: bool = False,
    ) -> list[Position]:
        """The fade books' positions (open ones; with ``closed`` also flat ones, size "0")."""
        out = []
        for book in self.engine.fades.values():
            if book_ids is not None and book.book_id not in book_ids:
                continue
            for c, p in book.positions.items():
                if coins is not None and c not in coins:
                    continue
                if not p.size and not closed:
                    continue
                mark = self.marks.get(c)
                out.append(
                    Position(
                        book_id=book.book_id,
                        kind="fade",
                        venue="hyperliquid",
                        symbol=c,
                        size=str(p.size) if p.size else "0",
                        entry_price=str(p.entry) if p.size else None,
                        mark_price=_s(mark),
                        notional=float(abs(p.size) * (mark or p.entry)),
                        unrealized_pnl=float(p.unrealized(mark)),
                        opened_at=ms_iso(p.opened_ms) if p.opened_ms else None,
                    )
                )
        return out

    async def write_snapshot(
        self, rows: list[EquityPoint], out: dict[str, float], now: datetime
    ) -> None:
        await self.ctx.books.snapshot(rows, recompute=self.points_now)
        btc = self.marks.get("BTC")
        if btc:
            await self.store.benchmark_snapshot("BTC", btc, self.settings.initial_capital_usd, now)
        fade = sum(v for k, v in out.items() if k.startswith("fade:"))
        bots = sum(v for k, v in out.items() if k.startswith("bot:"))
        self.ctx.books.publish_aggregates(
            utc_iso(now), {"fade_aggregate": fade, "bots_aggregate": bots}
        )

    async def fetch_bot_states(self, bot_ids: list[str]) -> dict[str, tuple[float, dict[str, Any]]]:
        out = {}
        for b in self.settings.bots:
            if b.id not in bot_ids:
                continue
            asked = self.ctx.clock.monotonic()
            try:
                out[b.id] = (asked, await self.info.clearinghouse_state(b.wallet))
            except ArenadError as e:
                log.warning("fade: clearinghouseState failed", bot=b.id, error=str(e))
        return out

    def take_bot_equity(self, bot_id: str, state: dict[str, Any]) -> None:
        """A bot book's equity is its venue account value (``clearinghouseState``)."""
        with contextlib.suppress(ArithmeticError, KeyError, TypeError, ValueError):
            self.engine.bot_equity[bot_id] = Decimal(str(state["marginSummary"]["accountValue"]))

    async def check_bots(self, states: dict[str, tuple[float, dict[str, Any]]]) -> None:
        """Bot positions from fills against the venue's (``BotCheck``: only once the bot's
        fills are backfilled, confirmed by a second read); a difference is an event, and the
        bot book takes the venue's figure (the fade target follows at the next event)."""
        for bot_id, (asked, state) in states.items():
            self.take_bot_equity(bot_id, state)
            book = self.engine.bots.get(bot_id)
            bot = self.settings.bot(bot_id)
            if book is None or bot is None or not isinstance(state, dict):
                continue
            synced = self.ingest.synced_at.get(bot.wallet) if self.ingest else None
            for d in self.botcheck.judge(
                bot_id,
                asked,
                state,
                book,
                last_fill_at=self.last_fill_at.get(bot_id, -float("inf")),
                synced_at=synced,
            ):
                await self.ctx.events.emit(
                    "warning",
                    "trading",
                    f"fade: {bot_id} holds {d.theirs} {d.coin} on the venue, {d.ours} from its "
                    "fills; taking the venue's",
                    {"bot_id": bot_id, "coin": d.coin},
                )
                book.pos(d.coin).size = d.theirs

    # --- commands -------------------------------------------------------------------------------

    def _bot(self, args: dict[str, Any]) -> str:
        bot_id = args.get("bot_id")
        if not isinstance(bot_id, str) or self.settings.bot(bot_id) is None:
            known = ", ".join(b.id for b in self.settings.bots) or "none"
            raise InvalidArgs(f"bot_id must name a faded bot (known: {known})")
        return bot_id

    async def cmd_stats(self, args: dict[str, Any]) -> dict[str, Any]:
        def summary(xs: deque[float]) -> dict[str, Any]:
            lat = sorted(x * 1000 for x in xs)
            return {
                "n": len(lat),
                "p50": statistics.median(lat) if lat else None,
                "p99": lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None,
                "max": lat[-1] if lat else None,
            }

        out = {
            "latency_ms": summary(self.latencies),
            "commit_ms": summary(self.commits),
            "ingest": self.ingest.status() if self.ingest else None,
            "mode": self.settings.mode,
            "network": self.settings.network,
            "rate_guard": self.rate_guard_stats(),
            "bot_checks": {
                "judged": self.botcheck.judged,
                "suspect": sorted(self.botcheck.suspect),
                "reported": self.botcheck.reported,
            },
        }
        if args.get("reset"):  # start a new measurement window (after a warm-up)
            self.latencies.clear()
            self.commits.clear()
        return out

    def rate_guard_stats(self) -> dict[str, Any]:
        n, skipped = self.engine.rate_pressure(self.ctx.clock.monotonic())
        return {
            "window_s": 60,
            "decisions": n,
            "skipped": skipped,
            "skipped_share": skipped / n if n else 0.0,
            "warn_share": self.settings.rate_guard_warn_share,
            "max_orders_per_minute": self.settings.max_orders_per_minute,
        }

    async def cmd_bots(self, _args: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        status = self.ingest.status() if self.ingest else {}
        polled = set(status.get("polled", []) if isinstance(status, dict) else [])
        async with open_reader(self.ctx.db_path) as conn:
            cur = await conn.execute("SELECT bot_id, max(ts) FROM fade_bot_events GROUP BY bot_id")
            last = {r[0]: r[1] for r in await cur.fetchall()}
        for b in self.settings.bots:
            fade = self.engine.fades.get(b.id)
            bot = self.engine.bots.get(b.id)
            coins = set(fade.positions if fade else {}) | set(bot.positions if bot else {})
            positions = []
            for c in sorted(coins):
                fs = fade.size(c) if fade else ZERO
                bs = bot.size(c) if bot else ZERO
                if not fs and not bs:
                    continue
                p = fade.positions.get(c) if fade else None
                positions.append(
                    {
                        "symbol": c,
                        "bot_size": str(bs),
                        "fade_size": str(fs),
                        "mark_price": _s(self.marks.get(c)),
                        "fade_entry_price": str(p.entry) if p and p.size else None,
                        "fade_unrealized_pnl": float(p.unrealized(self.marks.get(c))) if p else 0.0,
                    }
                )
            out.append(
                {
                    "bot_id": b.id,
                    "name": b.display_name,
                    "wallet": b.wallet,
                    "book_id": b.book_id,
                    "fade_book_id": b.fade_book_id,
                    "enabled": b.enabled,
                    "paused": b.id in self.engine.paused,
                    "multiplier": float(b.leverage_multiplier),
                    "positions": positions,
                    "fade_realized_pnl": float(fade.realized - fade.fees) if fade else 0.0,
                    "fade_unrealized_pnl": float(fade.unrealized(self.marks)) if fade else 0.0,
                    "fade_equity": float(fade.equity(self.marks)) if fade else None,
                    "last_fill_time": last.get(b.id),
                    "ingest": "poll" if b.wallet in polled else "ws",
                }
            )
        return out

    async def cmd_decisions(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        limit = args.get("limit", 50)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidArgs("limit must be a whole number from 1 to 1000")
        bot_id = self._bot(args) if args.get("bot_id") is not None else None
        async with open_reader(self.ctx.db_path) as conn:
            cur = await conn.execute(
                "SELECT d.*, e.side AS e_side, e.size AS e_size, e.price AS e_price,"
                " e.hash AS e_hash, e.ts AS e_ts, o.cloid, o.side AS o_side, o.size AS o_size,"
                " o.avg_price, o.limit_price, o.status AS o_status"
                " FROM fade_decisions d LEFT JOIN fade_bot_events e ON e.id = d.event_id"
                " LEFT JOIN fade_order_books ob ON ob.decision_id = d.id"
                " LEFT JOIN fade_orders o ON o.id = ob.order_id"
                " WHERE (? IS NULL OR d.bot_id = ?) ORDER BY d.id DESC LIMIT ?",
                (bot_id, bot_id, limit),
            )
            rows = [dict(r) for r in await cur.fetchall()]
            out = []
            for r in rows:
                out.append(await self._decision_row(conn, r))
        return out

    async def _decision_row(self, conn: Any, r: dict[str, Any]) -> dict[str, Any]:
        # The bot's own reasoning before its fill (None when the tracker has no chat).
        chat = await latest_chat_before(
            conn, r["bot_id"], before=r["e_ts"] or r["ts"], symbol=r["coin"]
        )
        return {
            "id": r["id"],
            "ts": r["ts"],
            "bot_id": r["bot_id"],
            "event": {
                "event_type": "fill",
                "symbol": r["coin"],
                "side": r["e_side"],
                "size": r["e_size"],
                "price": r["e_price"],
                "hash": r["e_hash"],
            },
            "decision": r["decision"],
            "reason": r["reason"],
            "skip_reason": r["skip_reason"],
            "guards": json.loads(r["risk_checks"]),
            "order": None
            if not r["cloid"]
            else {
                "client_order_id": r["cloid"],
                "side": r["o_side"],
                "size": r["o_size"],
                "price": r["avg_price"] or r["limit_price"],
                "status": r["o_status"],
            },
            "chat": chat,
        }

    def decision_wire(self, d: Decision) -> dict[str, Any]:
        return {
            "id": d.id,
            "ts": utc_iso(self.ctx.clock.now()),
            "bot_id": d.bot_id,
            "event": {"event_type": "fill", "symbol": d.coin},
            "decision": d.decision,
            "reason": d.reason,
            "skip_reason": d.skip_reason,
            "guards": [c.wire() for c in d.checks],
        }

    async def _set_pause(self, args: dict[str, Any], paused: bool) -> dict[str, Any]:
        bot_id = self._bot(args)
        await self.store.set_paused(bot_id, paused, "operator", self.ctx.clock.now())
        if paused:
            self.engine.paused.add(bot_id)
        else:
            self.engine.paused.discard(bot_id)
        await self.ctx.events.emit(
            "info",
            "trading",
            f"fade: {bot_id} {'paused' if paused else 'resumed'} by the operator",
            {"bot_id": bot_id},
        )
        return next(b for b in await self.cmd_bots({}) if b["bot_id"] == bot_id)

    async def cmd_pause(self, args: dict[str, Any]) -> dict[str, Any]:
        return await self._set_pause(args, True)

    async def cmd_resume(self, args: dict[str, Any]) -> dict[str, Any]:
        return await self._set_pause(args, False)

    async def cmd_close(self, args: dict[str, Any]) -> dict[str, Any]:
        """A reduce-only market exit of the fade book's whole position in ``symbol`` (allowed
        with the kill switch engaged). The bot's next fill in that coin re-targets the book:
        pause the bot to keep it flat."""
        if not self.ready.is_set():
            raise ProtocolError("unavailable", "the fade loop is not running")
        bot_id = self._bot(args)
        symbol = args.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise InvalidArgs("symbol must be a coin name")
        async with self.lock:
            book = self.engine.fades.get(bot_id)
            size = book.size(symbol) if book else ZERO
            if not size:
                raise InvalidArgs(f"fade:{bot_id} has no open position in {symbol!r}")
            now = self.ctx.clock.now()
            plan = OrderPlan(
                cloid_for("fade-close", bot_id, symbol, utc_iso(now)),
                symbol,
                -size,
                {f"fade:{bot_id}": -size},
                [],
                True,
                bot_id,
            )
            self.engine.restore_pending(plan)
            limit = self.limit_price(plan) if self.live else None
            if self.live:
                self.intent_ms[plan.cloid] = _ms(now)
            await self.store.record_manual_intent(
                plan,
                now,
                limit,
                network=self.settings.network if self.live else "paper",
                simulated=not self.live,
            )
            result = await self.execute(plan, limit)
        return {
            "book_id": f"fade:{bot_id}",
            "symbol": symbol,
            "client_order_id": plan.cloid,
            "status": {
                "filled": "filled",
                "partially_filled": "filled",
                "unknown": "submitted",
            }.get(result.status, "rejected"),
            "qty": str(abs(size)),
            "price": _s(result.avg_price),
            "reason": "manual",
        }

    async def cmd_positions(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        book_id = args.get("book_id")
        if book_id is not None and not isinstance(book_id, str):
            raise InvalidArgs("book_id must be a string")
        return [p.wire() for p in self.positions({book_id} if book_id else None)]

    async def cmd_orders(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        limit = args.get("limit", 200)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidArgs("limit must be a whole number from 1 to 10000")
        book_id, symbol = args.get("book_id"), args.get("symbol")
        for k, v in (("book_id", book_id), ("symbol", symbol)):
            if v is not None and not isinstance(v, str):
                raise InvalidArgs(f"{k} must be a string")
        async with open_reader(self.ctx.db_path) as conn:
            cur = await conn.execute(
                "SELECT o.*, (SELECT group_concat(book_id) FROM fade_order_books b"
                " WHERE b.order_id = o.id) AS books FROM fade_orders o"
                " WHERE (? IS NULL OR o.coin = ?) AND (? IS NULL OR EXISTS (SELECT 1 FROM"
                " fade_order_books b WHERE b.order_id = o.id AND b.book_id = ?))"
                " ORDER BY o.id DESC LIMIT ?",
                (symbol, symbol, book_id, book_id, limit),
            )
            rows = [dict(r) for r in await cur.fetchall()]
        status = {"not_sent": "rejected", "unknown": "submitted"}
        return [
            {
                "ts": r["ts"],
                "book_id": (r["books"] or "").split(",")[0] or None,
                "symbol": r["coin"],
                "side": r["side"],
                "size": r["size"],
                "price": r["avg_price"] or r["limit_price"],
                "type": "limit" if r["limit_price"] else "market",
                "reduce_only": bool(r["reduce_only"]),
                "status": status.get(r["status"], r["status"]),
                "client_order_id": r["cloid"],
                "venue_order_id": None if r["venue_oid"] is None else str(r["venue_oid"]),
                "error": r["error"],
            }
            for r in rows
        ]


def _s(x: Decimal | None) -> str | None:
    return None if x is None else str(x)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


async def setup(ctx: DaemonContext) -> None:
    comp = FadeComponent(ctx)
    await comp.start()
    ctx.shutdown_hooks.append(comp.final_snapshot)
    ctx.fade = comp  # type: ignore[attr-defined]  # for the latency benchmark and tests
