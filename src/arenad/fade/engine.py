"""The fade strategy (pure: no I/O, no clock): target-position mirroring behind risk guards.

Each bot has a fade book whose target in each coin is −k × the bot's position (k = the bot's
``leverage_multiplier``, optionally × fade equity / bot equity). A bot fill moves the bot's
position, so the fade book's target moves; the order asked is the target minus what the book
holds (and has asked already), so a missed or partly filled order heals at the next event
instead of compounding. Every bot event gets a ``Decision`` — execute or skip, with every
guard's verdict and the settings in force. Executed decisions of a batch are netted per coin
into one account order (``OrderPlan``); its fill is credited to the books in proportion to
what each asked (``apply_fill``), and the books always sum to the account's position.

Guards, in order: kill switch / trading state (HALTED: no automatic order at all; REDUCING:
only orders that reduce the account's exposure), bot enabled, bot paused by the operator, daily
loss limit, the bot's own notional cap, max order notional, per-asset cap, global exposure
cap, lot size, the venue's minimum order value, the order rate limit. Caps clip an order that
would pass them (the verdict says to what); nothing left, or any other guard failing, makes
the decision a skip. A guard that only reduces exposure is never blocked by a cap.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from arenad.fade.accounting import ZERO, Book, Trip
from arenad.fade.settings import FadeBotSettings, FadeSettings
from arenad.guards.trading import TradingState, judge
from arenad.venues.hyperliquid.wire import BotFill

RATE_WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    allowed: bool
    reason: str

    def wire(self) -> dict[str, Any]:
        return {"name": self.name, "allowed": self.allowed, "reason": self.reason}


@dataclass(slots=True)
class Decision:
    bot_id: str
    book_id: str
    coin: str
    time_ms: int
    event_key: str
    decision: str  # execute | skip
    reason: str
    skip_reason: str | None
    bot_position: Decimal
    target: Decimal
    book_size: Decimal
    order_size: Decimal  # signed; 0 on skip
    mark: Decimal | None
    checks: list[Check]
    settings: dict[str, Any]
    id: int | None = None  # set by the store
    event_id: int | None = None
    price: Decimal | None = None  # the price the caps were reckoned at (mark, else the fill's)

    @property
    def execute(self) -> bool:
        return self.decision == "execute"


@dataclass(slots=True)
class OrderPlan:
    """One account order: the net of the executed decisions of a batch in one coin."""

    cloid: str
    coin: str
    size: Decimal  # signed net
    asks: dict[str, Decimal]  # book id → signed size asked
    decisions: list[Decision]
    reduce_only: bool = False
    bot_id: str | None = None

    @property
    def is_buy(self) -> bool:
        return self.size > 0


@dataclass(frozen=True, slots=True)
class FillResult:
    """What the executor reports for a plan: size filled (unsigned), average price, fee."""

    status: str  # filled | partially_filled | rejected | cancelled | unknown | not_sent
    filled: Decimal = ZERO
    avg_price: Decimal | None = None
    fee: Decimal = ZERO
    oid: int | None = None
    error: str | None = None


@dataclass(slots=True)
class Outcome:
    credited: dict[str, Decimal] = field(default_factory=dict)
    realized: dict[str, Decimal] = field(default_factory=dict)
    fees: dict[str, Decimal] = field(default_factory=dict)
    trips: list[Trip] = field(default_factory=list)
    drift: Decimal = ZERO  # account − Σ books in the coin (0 unless something is wrong)


def cloid_for(*parts: str) -> str:
    """A Hyperliquid client order id (0x + 32 hex) derived from what caused the order, so
    the same cause always gives the same id and a restart cannot send it twice."""
    return "0x" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


def clip_exposure(cur: Decimal, delta: Decimal, limit: Decimal) -> Decimal:
    """``delta`` clipped so |cur + delta| stays within ``limit`` — unless it only reduces
    (never blocked) — keeping a position already over the limit from growing."""
    new = cur + delta
    if abs(new) <= limit or (abs(new) <= abs(cur) and _sign(new) in (0, _sign(cur))):
        return delta
    room = max(limit, abs(cur)) if _sign(new) == _sign(cur) else max(limit, ZERO)
    return _sign(new) * min(abs(new), room) - cur


def settings_snapshot(
    st: FadeSettings, bot: FadeBotSettings | None, limit: float | None
) -> dict[str, Any]:
    return {
        "mode": st.mode,
        "network": st.network,
        "global_exposure_cap_usd": _s(st.global_exposure_cap_usd),
        "asset_caps_usd": {k: str(v) for k, v in st.asset_caps_usd.items()},
        "default_asset_cap_usd": _s(st.default_asset_cap_usd),
        "max_order_notional_usd": _s(st.max_order_notional_usd),
        "max_orders_per_minute": st.max_orders_per_minute,
        "min_order_notional_usd": str(st.min_order_notional_usd),
        "daily_loss_limit_usd": limit,
        "scale_by_equity_ratio": st.scale_by_equity_ratio,
        "bot": None
        if bot is None
        else {
            "id": bot.id,
            "enabled": bot.enabled,
            "leverage_multiplier": str(bot.leverage_multiplier),
            "max_notional_usd": _s(bot.max_notional_usd),
        },
    }


def _s(x: Decimal | None) -> str | None:
    return None if x is None else str(x)


def _usd(x: Decimal) -> str:
    return f"{x:,.2f}"


class FadeEngine:
    def __init__(
        self,
        settings: FadeSettings,
        *,
        daily_loss_limit: float | None = None,
        sz_decimals: Mapping[str, int] | None = None,
        default_sz_decimals: int | None = None,
    ) -> None:
        """``sz_decimals`` per coin from the venue's meta; a coin not in it is skipped unless
        ``default_sz_decimals`` is given (the replay, which has no meta)."""
        self.sz_decimals = dict(sz_decimals or {})
        self.default_sz_decimals = default_sz_decimals
        self.bots: dict[str, Book] = {}
        self.fades: dict[str, Book] = {}
        self.account = Book("account")
        self.paused: set[str] = set()
        self.bot_equity: dict[str, Decimal] = {}
        self.pending: dict[tuple[str, str], Decimal] = {}
        self.order_times: deque[float] = deque()
        # (time, skipped by the rate guard alone) of each decision in the last minute.
        self.rate_log: deque[tuple[float, bool]] = deque(maxlen=100_000)
        self.rate_warned_at = -float("inf")
        self.daily_loss_limit = daily_loss_limit
        self._snap: dict[str, dict[str, Any]] = {}
        self.settings = settings
        self.configure(settings, daily_loss_limit)

    def configure(self, settings: FadeSettings, daily_loss_limit: float | None) -> None:
        """New settings (a reload): books are kept; new bots get empty ones."""
        self.settings = settings
        self.daily_loss_limit = daily_loss_limit
        self._snap = {}
        for b in settings.bots:
            self.bots.setdefault(b.id, Book(b.book_id))
            self.fades.setdefault(b.id, Book(b.fade_book_id, settings.initial_capital_usd))

    # --- bots -------------------------------------------------------------------------------

    def bot_for_wallet(self, wallet: str) -> FadeBotSettings | None:
        w = wallet.lower()
        return next((b for b in self.settings.bots if b.wallet == w), None)

    def bot_fill(self, bot_id: str, fill: BotFill) -> Decimal | None:
        """Book a bot's fill on its bot book. Returns the size the book was resynced from
        when it disagreed with the fill's ``startPosition`` (fills missed before tracking
        began, or a position opened elsewhere), else None."""
        book = self.bots.setdefault(bot_id, Book(f"bot:{bot_id}"))
        pos = book.pos(fill.coin)
        resynced = None
        if pos.size != fill.start_position:
            resynced = pos.size
            pos.size = fill.start_position
            pos.entry = fill.px if fill.start_position else ZERO
            pos.opened_ms = fill.time_ms if fill.start_position else None
        book.apply(fill.coin, fill.signed_size, fill.px, fill.fee, fill.time_ms)
        return resynced

    # --- decisions ----------------------------------------------------------------------------

    def target(self, bot: FadeBotSettings, coin: str, marks: Mapping[str, Decimal]) -> Decimal:
        k = bot.leverage_multiplier
        if self.settings.scale_by_equity_ratio:
            bot_eq = self.bot_equity.get(bot.id)
            if bot_eq and bot_eq > 0:
                k = k * self.fades[bot.id].equity(dict(marks)) / bot_eq
        return -k * self.bots[bot.id].size(coin)

    def decide(  # noqa: C901
        self,
        bot_id: str,
        coin: str,
        *,
        time_ms: int,
        event_key: str,
        marks: Mapping[str, Decimal],
        price: Decimal,
        state: TradingState,
        day_pnl: float | None,
        now_s: float,
        planned_orders: int = 0,
        halted_by: str | None = None,
        reason: str | None = None,
    ) -> Decision:
        """``halted_by``: why ``state`` is HALTED, for the skip reason (default: the kill
        switch). ``reason``: what the decision is about, put before an execute's order (a
        re-target, which has no bot fill of its own)."""
        st = self.settings
        bot = st.bot(bot_id)
        fade = self.fades.get(bot_id) or Book(f"fade:{bot_id}")
        mark = marks.get(coin)
        px = mark if mark else price
        book_size = fade.size(coin) + self.pending.get((fade.book_id, coin), ZERO)
        bot_pos = self.bots[bot_id].size(coin) if bot_id in self.bots else ZERO
        target = self.target(bot, coin, marks) if bot else ZERO
        checks: list[Check] = []
        blocked: list[str] = []

        def check(name: str, ok: bool, reason: str) -> None:
            checks.append(Check(name, ok, reason))
            if not ok:
                blocked.append(reason)

        acct = self.exposure(coin)
        delta = target - book_size
        # The bot's own notional cap bounds the target.
        if bot is not None and bot.max_notional_usd is not None and px > 0:
            bot_cap = bot.max_notional_usd
            clipped = clip_exposure(book_size, delta, bot_cap / px)
            if clipped == delta:
                why = f"fade book within {_usd(bot_cap)} USD"
            elif clipped:
                why = f"clipped to {_usd(abs(book_size + clipped) * px)} of {_usd(bot_cap)} USD"
            else:
                why = f"fade book at its cap of {_usd(bot_cap)} USD"
            check("bot_cap", clipped != 0 or delta == 0, why)
            delta = clipped
        max_order = st.max_order_notional_usd
        if max_order is not None and px > 0 and abs(delta) * px > max_order:
            delta = _sign(delta) * max_order / px
            check("max_order_notional", True, f"clipped to {_usd(max_order)} USD")
        else:
            check(
                "max_order_notional",
                True,
                f"{_usd(abs(delta) * px)} / {_usd(max_order)} USD"
                if max_order is not None
                else "no cap",
            )
        cap = st.asset_cap(coin)
        if cap is not None and px > 0:
            clipped = clip_exposure(acct, delta, cap / px)
            check(
                "asset_cap",
                clipped != 0 or delta == 0,
                f"{coin} {_usd(abs(acct + clipped) * px)} / {_usd(cap)} USD"
                + (" (clipped)" if clipped != delta else ""),
            )
            delta = clipped
        else:
            check("asset_cap", True, f"{coin}: no cap")
        if st.global_exposure_cap_usd is not None and px > 0:
            others = self.others_exposure(coin, marks)
            room = max(st.global_exposure_cap_usd - others, ZERO) / px
            clipped = clip_exposure(acct, delta, room)
            check(
                "global_exposure_cap",
                clipped != 0 or delta == 0,
                f"{_usd(others + abs(acct + clipped) * px)} / "
                f"{_usd(st.global_exposure_cap_usd)} USD"
                + (" (clipped)" if clipped != delta else ""),
            )
            delta = clipped
        else:
            check("global_exposure_cap", True, "no cap")
        # Lot size: toward zero.
        szd = self.sz_decimals.get(coin, self.default_sz_decimals)
        if szd is None:
            check("lot_size", False, f"{coin} is not a listed perp")
            delta = ZERO
        else:
            delta = delta.quantize(Decimal(1).scaleb(-szd), rounding=ROUND_DOWN)
        notional = abs(delta) * px
        if delta == 0:
            check(
                "min_order_notional",
                False,
                "fade book already at its target"
                if target == book_size
                else "nothing left under the caps",
            )
        elif notional < st.min_order_notional_usd:
            check(
                "min_order_notional",
                False,
                f"{_usd(notional)} USD is under the {_usd(st.min_order_notional_usd)} "
                "USD minimum (the target heals later)",
            )
        else:
            check("min_order_notional", True, f"{_usd(notional)} USD")
        reduces = abs(acct + delta) < abs(acct) and _sign(acct + delta) in (0, _sign(acct))
        while self.order_times and now_s - self.order_times[0] > RATE_WINDOW_S:
            self.order_times.popleft()
        used = len(self.order_times) + planned_orders
        check(
            "order_rate",
            used < st.max_orders_per_minute,
            f"{used} / {st.max_orders_per_minute} orders in the last minute",
        )
        if state is TradingState.HALTED:
            # No automatic order at all while halted, not even one that reduces: the operator
            # closes positions by hand (position.close), which the kill switch allows.
            halted = f"halted: {halted_by or 'kill switch engaged, no automatic orders'}"
            checks.insert(0, Check("kill_switch", False, halted))
            blocked.insert(0, halted)
        else:
            verdict = judge(state, reduces)
            checks.insert(0, Check("kill_switch", verdict.allowed, verdict.reason))
            if not verdict.allowed:
                blocked.insert(0, verdict.reason)
        lim = self.daily_loss_limit
        if lim is not None and day_pnl is not None and day_pnl <= -lim and not reduces:
            checks.insert(
                1,
                Check(
                    "daily_loss",
                    False,
                    f"day P&L {day_pnl:,.2f} USD past the -{lim:,.2f} USD limit",
                ),
            )
            blocked.insert(0, checks[1].reason)
        else:
            checks.insert(
                1,
                Check(
                    "daily_loss",
                    True,
                    "no limit" if lim is None else f"day P&L {day_pnl or 0:,.2f} / -{lim:,.2f} USD",
                ),
            )
        if bot is None:
            checks.insert(1, Check("bot_enabled", False, f"{bot_id} is not configured"))
            blocked.insert(0, checks[1].reason)
        else:
            checks.insert(
                1,
                Check(
                    "bot_enabled", bot.enabled, "enabled" if bot.enabled else "disabled in config"
                ),
            )
            if not bot.enabled:
                blocked.insert(0, "bot disabled in config")
            paused = bot_id in self.paused
            checks.insert(
                2,
                Check(
                    "bot_paused", not paused, "bot paused by operator" if paused else "not paused"
                ),
            )
            if paused:
                blocked.insert(0, "bot paused by operator")
        snap = self._snap.get(bot_id)
        if snap is None:
            snap = self._snap[bot_id] = settings_snapshot(st, bot, lim)
        k = bot.leverage_multiplier if bot else Decimal(0)
        if blocked:
            return Decision(
                bot_id,
                fade.book_id,
                coin,
                time_ms,
                event_key,
                "skip",
                blocked[0],
                blocked[0],
                bot_pos,
                target,
                book_size,
                ZERO,
                mark,
                checks,
                snap,
                price=px,
            )
        side = "buy" if delta > 0 else "sell"
        return Decision(
            bot_id,
            fade.book_id,
            coin,
            time_ms,
            event_key,
            "execute",
            (f"{reason}: " if reason else "")
            + f"{side} {abs(delta)} {coin} (fade x{k}: target {target})",
            None,
            bot_pos,
            target,
            book_size,
            delta,
            mark,
            checks,
            snap,
            price=px,
        )

    def on_bot_fills(
        self,
        bot_id: str,
        fills: Iterable[BotFill],
        *,
        marks: Mapping[str, Decimal],
        state: TradingState,
        day_pnl: float | None,
        now_s: float,
        halted_by: str | None = None,
    ) -> tuple[list[Decision], list[OrderPlan]]:
        """Book the bot's fills and decide on each; the executed ones become netted plans
        (their asks counted as pending until ``apply_fill``)."""
        return self.on_fills(
            [(bot_id, f) for f in fills],
            marks=marks,
            state=state,
            day_pnl=day_pnl,
            now_s=now_s,
            halted_by=halted_by,
        )

    def on_fills(
        self,
        fills: Iterable[tuple[str, BotFill]],
        *,
        marks: Mapping[str, Decimal],
        state: TradingState,
        day_pnl: float | None,
        now_s: float,
        halted_by: str | None = None,
    ) -> tuple[list[Decision], list[OrderPlan]]:
        """``on_bot_fills`` for a batch of several bots' fills (netted together)."""
        decisions: list[Decision] = []
        for bot_id, f in sorted(fills, key=lambda x: (x[1].time_ms, x[1].tid or 0)):
            self.bot_fill(bot_id, f)
            d = self.decide(
                bot_id,
                f.coin,
                time_ms=f.time_ms,
                event_key=_key(f),
                marks=marks,
                price=f.px,
                state=state,
                day_pnl=day_pnl,
                now_s=now_s,
                planned_orders=len({x.coin for x in decisions if x.execute}),
                halted_by=halted_by,
            )
            self._count(d, decisions)
        self.note_rate(decisions, now_s)
        plans = self.plan(decisions, now_s, marks)
        return decisions, plans

    def retarget(
        self,
        *,
        marks: Mapping[str, Decimal],
        state: TradingState,
        day_pnl: float | None,
        now_s: float,
        now_ms: int,
        why: str,
    ) -> tuple[list[Decision], list[OrderPlan]]:
        """A decision for every (bot, coin) whose fade book, with what it has asked already,
        is off its target by at least the minimum order: bot fills booked while trading was
        held were decided as skips, and without another fill in that coin nothing would heal
        the book. Netted and capped like ``on_fills``; ``why`` heads each decision's reason.
        Paused and disabled bots and coins without a mark are left alone."""
        decisions: list[Decision] = []
        minimum = self.settings.min_order_notional_usd
        for bot in self.settings.bots:
            held = self.bots.get(bot.id)
            if held is None or not bot.enabled or bot.id in self.paused:
                continue
            fade = self.fades.get(bot.id) or Book(f"fade:{bot.id}")
            for coin in sorted(set(held.positions) | set(fade.positions)):
                mark = marks.get(coin)
                if not mark:
                    continue
                has = fade.size(coin) + self.pending.get((fade.book_id, coin), ZERO)
                off = abs(self.target(bot, coin, marks) - has)
                if not off or off * mark < minimum:
                    continue
                d = self.decide(
                    bot.id,
                    coin,
                    time_ms=now_ms,
                    event_key=f"retarget:{bot.id}:{coin}:{now_ms}",
                    marks=marks,
                    price=mark,
                    state=state,
                    day_pnl=day_pnl,
                    now_s=now_s,
                    planned_orders=len({x.coin for x in decisions if x.execute}),
                    reason=why,
                )
                self._count(d, decisions)
        self.note_rate(decisions, now_s)
        return decisions, self.plan(decisions, now_s, marks)

    def _count(self, d: Decision, decisions: list[Decision]) -> None:
        """Add ``d`` to the batch; an executed one's ask counts as pending."""
        if d.execute:
            k = (d.book_id, d.coin)
            self.pending[k] = self.pending.get(k, ZERO) + d.order_size
        decisions.append(d)

    def plan(
        self,
        decisions: list[Decision],
        now_s: float,
        marks: Mapping[str, Decimal] | None = None,
    ) -> list[OrderPlan]:
        """The executed decisions netted per coin into one account order each, every cap
        enforced again on that order (``cap_net``). The decisions' asks must be counted in
        ``pending`` (as ``on_fills`` does)."""
        by_coin: dict[str, list[Decision]] = {}
        for d in decisions:
            if d.execute:
                by_coin.setdefault(d.coin, []).append(d)
        plans = []
        for coin, ds in by_coin.items():
            self.cap_net(coin, ds, marks or {})
            ds = [d for d in ds if d.execute]
            if not ds:
                continue
            asks: dict[str, Decimal] = {}
            for d in ds:
                asks[d.book_id] = asks.get(d.book_id, ZERO) + d.order_size
            net = sum(asks.values(), ZERO)
            acct = self.account.size(coin)
            reduce_only = (
                bool(net) and abs(acct + net) <= abs(acct) and _sign(acct + net) in (0, _sign(acct))
            )
            bots = {d.bot_id for d in ds}
            plans.append(
                OrderPlan(
                    cloid_for("fade", *(d.event_key for d in ds), coin),
                    coin,
                    net,
                    asks,
                    ds,
                    reduce_only,
                    next(iter(bots)) if len(bots) == 1 else None,
                )
            )
            if net:
                self.order_times.append(now_s)
        return plans

    def note_rate(self, decisions: Iterable[Decision], now_s: float) -> None:
        for d in decisions:
            self.rate_log.append((now_s, rate_skipped(d)))

    def rate_pressure(self, now_s: float) -> tuple[int, int]:
        """(decisions, of which skipped by the order rate guard alone) over the last minute."""
        while self.rate_log and now_s - self.rate_log[0][0] > RATE_WINDOW_S:
            self.rate_log.popleft()
        return len(self.rate_log), sum(1 for _, skipped in self.rate_log if skipped)

    def rate_alarm(self, now_s: float) -> tuple[int, int] | None:
        """(decisions, skipped by the rate guard) over the last minute when the skipped share
        passed ``rate_guard_warn_share`` — at most once a minute — else None."""
        n, skipped = self.rate_pressure(now_s)
        if not n or skipped / n <= self.settings.rate_guard_warn_share:
            return None
        if now_s - self.rate_warned_at < RATE_WINDOW_S:
            return None
        self.rate_warned_at = now_s
        return n, skipped

    def exposure(self, coin: str) -> Decimal:
        """The account's position in ``coin`` once every pending ask has filled."""
        return self.account.size(coin) + sum(
            (v for (_, c), v in self.pending.items() if c == coin), ZERO
        )

    def cap_net(self, coin: str, ds: list[Decision], marks: Mapping[str, Decimal]) -> None:  # noqa: C901
        """Every cap on the netted order of ``ds`` (executed decisions in ``coin``, asks
        pending), not only on each decision: the bot cap on each book's summed ask; the max
        order notional, the per-asset and the global exposure caps on the net. What does not
        fit is taken off the same-side books pro rata to what they asked (each decision's
        size rounded down to the lot); every decision gets the ``netted_order`` verdict, and
        one left with nothing becomes a skip."""
        st = self.settings
        px = marks.get(coin) or next((d.price for d in ds if d.price), None)
        szd = self.sz_decimals.get(coin, self.default_sz_decimals)
        if px is None or px <= 0 or szd is None:
            return
        lot = Decimal(1).scaleb(-szd)
        asks: dict[str, Decimal] = {}
        for d in ds:
            asks[d.book_id] = asks.get(d.book_id, ZERO) + d.order_size
        net = sum(asks.values(), ZERO)
        why: list[str] = []
        # The bot cap, per book, on all it asks in this order.
        allowed_ask = dict(asks)
        for b, a in asks.items():
            bot = st.bot(b.split(":", 1)[1])
            if bot is None or bot.max_notional_usd is None:
                continue
            book = self.fade_book(b)
            before = book.size(coin) + self.pending.get((b, coin), ZERO) - a
            clipped = clip_exposure(before, a, bot.max_notional_usd / px)
            if clipped != a:
                allowed_ask[b] = clipped
                why.append(f"{b} at its bot cap of {_usd(bot.max_notional_usd)} USD")
        net_b = sum(allowed_ask.values(), ZERO)
        allowed = net_b
        if st.max_order_notional_usd is not None and abs(allowed) * px > st.max_order_notional_usd:
            allowed = _sign(allowed) * st.max_order_notional_usd / px
            why.append(f"max order {_usd(st.max_order_notional_usd)} USD")
        base = self.exposure(coin) - net  # the account without this order
        cap = st.asset_cap(coin)
        if cap is not None:
            clipped = clip_exposure(base, allowed, cap / px)
            if clipped != allowed:
                allowed = clipped
                why.append(f"{coin} cap {_usd(cap)} USD")
        if st.global_exposure_cap_usd is not None:
            others = self.others_exposure(coin, marks)
            room = max(st.global_exposure_cap_usd - others, ZERO) / px
            clipped = clip_exposure(base, allowed, room)
            if clipped != allowed:
                allowed = clipped
                why.append(f"global cap {_usd(st.global_exposure_cap_usd)} USD")
        allowed = allowed.quantize(lot, rounding=ROUND_DOWN)
        if allowed == net and not why:
            for d in ds:
                d.checks.append(
                    Check(
                        "netted_order",
                        True,
                        f"net {coin} order {_usd(abs(net) * px)} USD within every cap",
                    )
                )
            return
        # Same-side books share what is left pro rata; the others keep their asks (crossed
        # internally at the fill's price by ``apply_fill``).
        same = [b for b, a in allowed_ask.items() if _sign(a) == _sign(allowed or net_b)]
        same_total = sum((allowed_ask[b] for b in same), ZERO)
        left = allowed - (net_b - same_total)  # what the same-side books may ask in all
        new_ask = dict(allowed_ask)
        new_ask.update(_pro_rata({b: allowed_ask[b] for b in same}, left, lot))
        summary = (
            f"net {coin} order {abs(net)} ({_usd(abs(net) * px)} USD) clipped to "
            f"{abs(allowed)} ({_usd(abs(allowed) * px)} USD): {'; '.join(why)}"
        )
        for b in asks:
            mine = [d for d in ds if d.book_id == b]
            shares = _pro_rata({i: d.order_size for i, d in enumerate(mine)}, new_ask[b], lot)
            for i, d in enumerate(mine):
                old, new = d.order_size, shares[i]
                k = (b, coin)
                self.pending[k] = self.pending.get(k, ZERO) + new - old
                if not self.pending[k]:
                    del self.pending[k]
                d.order_size = new
                if new == old:
                    d.checks.append(Check("netted_order", True, f"{summary}; this ask kept"))
                elif new:
                    d.checks.append(
                        Check("netted_order", True, f"{summary}; this ask {old} -> {new}")
                    )
                    side = "buy" if new > 0 else "sell"
                    d.reason = f"{side} {abs(new)} {coin} (of {abs(old)} asked; {summary})"
                else:
                    d.checks.append(Check("netted_order", False, f"{summary}; nothing left"))
                    d.decision = "skip"
                    d.reason = f"nothing left of the netted order: {summary}"
                    d.skip_reason = d.reason

    def others_exposure(self, coin: str, marks: Mapping[str, Decimal]) -> Decimal:
        """The account's notional in every coin but ``coin``, pending asks counted where they
        would add to it (a pending reduction may not fill)."""
        coins = {c for c in self.account.positions if c != coin} | {
            c for (_, c) in self.pending if c != coin
        }
        total = ZERO
        for c in coins:
            size = max(abs(self.account.size(c)), abs(self.exposure(c)))
            p = self.account.positions.get(c)
            px = marks.get(c) or (p.entry if p else ZERO)
            total += size * px
        return total

    # --- fills ------------------------------------------------------------------------------

    def apply_funding(
        self, rates: Mapping[str, Decimal], marks: Mapping[str, Decimal]
    ) -> dict[str, Decimal]:
        """One funding interval on every open fade position and the account's, as the venue
        charges it: a position pays size × mark × rate (longs pay shorts when the rate is
        positive). Returns what each book received (negative: paid)."""
        out: dict[str, Decimal] = {}
        for book in (*self.fades.values(), self.account):
            total = ZERO
            for coin, p in book.positions.items():
                rate, mark = rates.get(coin), marks.get(coin)
                if not p.size or rate is None or mark is None:
                    continue
                paid = -(p.size * mark * rate)
                p.funding += paid
                total += paid
            if total:
                out[book.book_id] = total
        return out

    def restore_pending(self, plan: OrderPlan) -> None:
        """Count a plan's asks as pending (an intent reloaded after a restart, or a manual
        close), so ``apply_fill`` releases exactly them."""
        for book_id, asked in plan.asks.items():
            k = (book_id, plan.coin)
            self.pending[k] = self.pending.get(k, ZERO) + asked

    def apply_fill(
        self, plan: OrderPlan, result: FillResult, time_ms: int, mark: Decimal | None = None
    ) -> Outcome:
        """Credit the account and the books with the plan's fill and release what they had
        pending. Same-side books share the external fill pro rata to what they asked (plus
        what opposite books crossed internally); opposite books get all they asked, crossed
        at the same price. With nothing to fill externally (a fully netted plan) the books
        cross at ``mark``."""
        out = Outcome()
        coin = plan.coin
        for book_id, asked in plan.asks.items():
            k = (book_id, coin)
            left = self.pending.get(k, ZERO) - asked
            if left:
                self.pending[k] = left
            else:
                self.pending.pop(k, None)
        net = plan.size
        filled = (result.filled if net > 0 else -result.filled) if net else ZERO
        price = result.avg_price if result.avg_price is not None else mark
        if price is None or (not filled and net):
            return out  # nothing moved: the targets heal at the next event
        same = {b: a for b, a in plan.asks.items() if _sign(a) == _sign(net) and net}
        opposite = {b: a for b, a in plan.asks.items() if b not in same}
        same_total = sum(same.values(), ZERO)
        opp_total = sum(opposite.values(), ZERO)
        pool = filled - opp_total  # what the same-side books receive in total
        alloc: dict[str, Decimal] = dict(opposite)
        szd = self.sz_decimals.get(coin, self.default_sz_decimals)
        given = ZERO
        for i, (b, a) in enumerate(same.items()):
            # Shares are whole lots (book sizes stay exact decimals); the last book takes the
            # remainder, so the shares sum to the pool exactly.
            share = pool * a / same_total if same_total else ZERO
            if szd is not None:
                share = share.quantize(Decimal(1).scaleb(-szd), rounding=ROUND_DOWN)
            alloc[b] = pool - given if i == len(same) - 1 else share
            given += share
        fee_base = sum((abs(v) for b, v in alloc.items() if b in same), ZERO)
        for b, qty in alloc.items():
            fee = result.fee * abs(qty) / fee_base if b in same and fee_base else ZERO
            book = self.fade_book(b)
            realized, trips = book.apply(coin, qty, price, fee, time_ms)
            out.credited[b] = qty
            out.realized[b] = realized
            out.fees[b] = fee
            out.trips += trips
        if filled:
            self.account.apply(coin, filled, price, result.fee, time_ms)
        total = sum((f.size(coin) for f in self.fades.values()), ZERO)
        out.drift = self.account.size(coin) - total
        return out

    def fade_book(self, book_id: str) -> Book:
        bot_id = book_id.split(":", 1)[1]
        book = self.fades.get(bot_id)
        if book is None:
            book = self.fades[bot_id] = Book(book_id, self.settings.initial_capital_usd)
        return book

    def drift(self) -> dict[str, Decimal]:
        """Account − Σ fade books, per coin, where they differ (should be empty)."""
        coins = set(self.account.positions) | {c for f in self.fades.values() for c in f.positions}
        out = {}
        for c in coins:
            d = self.account.size(c) - sum((f.size(c) for f in self.fades.values()), ZERO)
            if d:
                out[c] = d
        return out


def _pro_rata(asks: Mapping[Any, Decimal], total: Decimal, lot: Decimal) -> dict[Any, Decimal]:
    """``total`` (same sign as the asks, no larger) shared in proportion to ``asks``, each
    share whole lots toward zero and never more than its ask; the last takes what rounding
    left, within its ask. The shares never sum past ``total``."""
    whole = sum(asks.values(), ZERO)
    out: dict[Any, Decimal] = {}
    given = ZERO
    keys = list(asks)
    for i, k in enumerate(keys):
        a = asks[k]
        if not whole or not total:
            out[k] = ZERO
            continue
        share = (a * total / whole).quantize(lot, rounding=ROUND_DOWN)
        if i == len(keys) - 1:
            rest = total - given
            share = rest if abs(rest) <= abs(a) and _sign(rest) in (0, _sign(a)) else share
        out[k] = share
        given += share
    # Asks of both signs (a bot that bought and sold in one batch) round toward zero both
    # ways: take any overshoot off the largest share on the total's side.
    over = given - total
    if over and _sign(over) == _sign(total):
        k = max((k for k in out if _sign(out[k]) == _sign(total)), key=lambda k: abs(out[k]))
        out[k] -= over
    return out


def rate_skipped(d: Decision) -> bool:
    """Skipped by the order rate guard and nothing else (the order would have gone)."""
    failed = [c.name for c in d.checks if not c.allowed]
    return not d.execute and failed == ["order_rate"]


def _key(f: BotFill) -> str:
    return f.key
