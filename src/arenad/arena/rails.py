"""Safety rails: small pure checks, each returning a verdict, all run before every order.

Every verdict (allowed or not, with its reason) is stored with the decision it judged, so the
question "why did claude not buy NVDA at 15:45?" has an answer in the database. An order goes
out only when every rail allows it. Exits that only reduce exposure pass the kill switch and
the daily loss rail (risk may always come off).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any, Literal, Protocol

from arenad.arena.ledger import ZERO, Ledger
from arenad.arena.settings import RailsSettings
from arenad.guards.trading import TradingState, judge


@dataclass(frozen=True, slots=True)
class Proposal:
    """An order a decision would place."""

    symbol: str
    side: Literal["buy", "sell"]
    qty: Decimal
    price: Decimal
    """Reference price: the limit price, else the last price."""

    def reduces_exposure(self, ledger: Ledger) -> bool:
        held = ledger.qty(self.symbol)
        signed = self.qty if self.side == "buy" else -self.qty
        return held != 0 and (held > 0) != (signed > 0) and abs(signed) <= abs(held)


@dataclass(frozen=True, slots=True)
class RailContext:
    ledger: Ledger
    marks: Mapping[str, Decimal]
    settings: RailsSettings
    today: date
    trading_state: TradingState = TradingState.ACTIVE
    open_buys: Mapping[str, Decimal] = field(default_factory=dict)
    """Unfilled shares of the model's open entry buys per symbol (resting limit orders):
    counted into the position a new buy would make, as if they filled."""
    open_sells: Mapping[str, Decimal] = field(default_factory=dict)
    """The same for open entry sells (counted into a new sale)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    rail: str
    allowed: bool
    reason: str

    def wire(self) -> dict[str, Any]:
        return {"rail": self.rail, "allowed": self.allowed, "reason": self.reason}


class Rail(Protocol):
    name: str

    def check(self, p: Proposal, ctx: RailContext) -> Verdict: ...


class KillSwitchRail:
    name = "kill_switch"

    def check(self, p: Proposal, ctx: RailContext) -> Verdict:
        v = judge(ctx.trading_state, p.reduces_exposure(ctx.ledger))
        return Verdict(self.name, v.allowed, v.reason)


class AllowedSymbolsRail:
    name = "allowed_symbols"

    def check(self, p: Proposal, ctx: RailContext) -> Verdict:
        if p.symbol in ctx.settings.allowed_symbols:
            return Verdict(self.name, True, f"{p.symbol} allowed")
        return Verdict(self.name, False, f"{p.symbol} is not in allowed_symbols")


class DailyLossRail:
    name = "max_daily_loss"

    def check(self, p: Proposal, ctx: RailContext) -> Verdict:
        limit = ctx.settings.max_daily_loss
        pnl = ctx.ledger.day_pnl(ctx.marks)
        if p.reduces_exposure(ctx.ledger):
            return Verdict(self.name, True, f"exit allowed (day P&L {pnl:.2f})")
        if ctx.ledger.sat_out_day == ctx.today:
            return Verdict(
                self.name, False, f"sitting out {ctx.today}: daily loss limit {limit} hit"
            )
        if -pnl >= limit:
            return Verdict(
                self.name, False, f"day P&L {pnl:.2f} is past -{limit}: sits out the day"
            )
        return Verdict(self.name, True, f"day P&L {pnl:.2f} within -{limit}")


class MaxOpenPositionsRail:
    name = "max_open_positions"

    def check(self, p: Proposal, ctx: RailContext) -> Verdict:
        n = sum(1 for q in ctx.ledger.positions.values() if q.qty != 0)
        cap = ctx.settings.max_open_positions
        if ctx.ledger.qty(p.symbol) != 0 or n < cap:
            return Verdict(self.name, True, f"{n} open of {cap}")
        return Verdict(self.name, False, f"{n} positions open, the most allowed is {cap}")


class MaxPositionSizeRail:
    name = "max_position_size"

    def check(self, p: Proposal, ctx: RailContext) -> Verdict:
        held = ctx.ledger.qty(p.symbol)
        # Open orders on the same side may still fill: the worst case counts them.
        waiting = (ctx.open_buys if p.side == "buy" else ctx.open_sells).get(p.symbol, ZERO)
        signed = p.qty + waiting if p.side == "buy" else -(p.qty + waiting)
        after = held + signed
        notional = abs(after) * p.price
        cap = ctx.settings.max_position_size
        also = f" with {waiting} in open orders" if waiting else ""
        if notional <= cap or abs(after) < abs(held):
            return Verdict(self.name, True, f"{p.symbol} {notional:.2f} of {cap}{also}")
        return Verdict(
            self.name,
            False,
            f"{p.symbol} position would be {notional:.2f} USD{also}, over {cap}",
        )


class ShortRail:
    name = "short_selling"

    def check(self, p: Proposal, ctx: RailContext) -> Verdict:
        held = ctx.ledger.qty(p.symbol)
        if p.side == "buy" or ctx.settings.allow_short or p.qty <= held:
            return Verdict(self.name, True, "no short")
        return Verdict(
            self.name, False, f"selling {p.qty} {p.symbol} with {held} held would open a short"
        )


class CashRail:
    name = "cash"

    def check(self, p: Proposal, ctx: RailContext) -> Verdict:
        if p.side == "sell" or p.reduces_exposure(ctx.ledger):
            return Verdict(self.name, True, "no cash needed")
        cost = p.qty * p.price
        if cost <= ctx.ledger.cash:
            return Verdict(self.name, True, f"cost {cost:.2f} of cash {ctx.ledger.cash:.2f}")
        return Verdict(self.name, False, f"cost {cost:.2f} exceeds cash {ctx.ledger.cash:.2f}")


RAILS: tuple[Rail, ...] = (
    KillSwitchRail(),
    AllowedSymbolsRail(),
    DailyLossRail(),
    MaxOpenPositionsRail(),
    MaxPositionSizeRail(),
    ShortRail(),
    CashRail(),
)


def check_order(
    p: Proposal, ctx: RailContext, rails: Sequence[Rail] = RAILS
) -> tuple[bool, list[Verdict]]:
    """Every rail's verdict; the order may go only if all allow it.

    Side effect on the ledger (the one state change a check makes): a model found past its
    daily loss is marked as sitting out today, so a later recovery within the day does not
    let it trade again."""
    if p.qty <= ZERO or p.price <= ZERO:
        v = Verdict("order", False, f"quantity {p.qty} and price {p.price} must be positive")
        return False, [v]
    verdicts = [r.check(p, ctx) for r in rails]
    if any(v.rail == "max_daily_loss" and not v.allowed for v in verdicts):
        ctx.ledger.sat_out_day = ctx.today
    return all(v.allowed for v in verdicts), verdicts


BPS = Decimal(10_000)


def _tick(price: Decimal) -> Decimal:
    """The venue's price increment: cents from 1 USD up, 1/100 cent below (Alpaca)."""
    return Decimal("0.01") if price >= 1 else Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class MarketEntry:
    """How an entry without a limit price goes out: a marketable limit order, so its fill
    cannot land past the price the rails judged it at."""

    limit: Decimal
    """Sent as the limit: a buy's rounded down, a sale's rounded up (never past the allowance)."""
    judged: Decimal
    """The price the rails judge the order at: the last price plus the allowance (a buy's
    limit; for a short sale, whose fill has no ceiling, the padded price all the same)."""


def market_entry(
    side: Literal["buy", "sell"], mark: Decimal, allowance_bps: Decimal
) -> MarketEntry:
    """The limit and the judged price of a market entry at last price ``mark``."""
    up = mark * (1 + allowance_bps / BPS)
    up = up.quantize(_tick(up), rounding=ROUND_DOWN)
    if side == "buy":
        return MarketEntry(up, up)
    down = mark * (1 - allowance_bps / BPS)
    down = down.quantize(_tick(down), rounding=ROUND_UP)
    return MarketEntry(down, max(up, mark))


def fill_breach(
    held_after: Decimal, fill_price: Decimal, settings: RailsSettings
) -> Verdict | None:
    """The position rail again on a fill of an entry: the position after it, at the fill's
    price. None when within the rail."""
    notional = abs(held_after) * fill_price
    cap = settings.max_position_size
    if notional <= cap:
        return None
    return Verdict(
        "max_position_size_fill",
        False,
        f"filled at {fill_price}: the position is {notional:.2f} USD, over {cap}",
    )


def client_order_id(slot_key: str, model_id: str, symbol: str, purpose: str = "entry") -> str:
    """Derived from what caused the order, so a re-run slot can never place a second one.

    Alpaca allows 128 characters; the readable prefix helps the operator, the hash keeps it
    unique and short."""
    digest = hashlib.sha256(f"{slot_key}|{model_id}|{symbol}|{purpose}".encode()).hexdigest()
    return f"ar-{model_id[:24]}-{symbol}-{digest[:24]}"
