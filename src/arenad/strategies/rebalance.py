"""Pure rules of live rebalancing: when a strategy is due, what to order, and its ledger.

An active strategy trades on an Alpaca account it may share with other strategies and the
arena, so its holdings are not the account's positions: they are its own *ledger*, rebuilt
from the fills of its own orders (``execution_orders``) on top of its initial capital. That
keeps each strategy a separate book on the leaderboard, and it is the same model the arena
uses for its models.

Orders are sized from the ledger's equity less a small buffer, with quantities floored to the
venue's step, so buys never need more cash than the ledger has even if prices move a little
before the market orders fill. Sells are listed before buys. Order ids are derived from what
caused them — strategy, mode, rebalance date, symbol — so a replayed rebalance (a restart, a
retry after a timeout) can never place a second order for the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_DOWN, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
Frequency = Literal["daily", "weekly", "monthly"]
Side = Literal["buy", "sell"]
ZERO = Decimal(0)


def period_key(day: date, frequency: Frequency) -> tuple[int, int]:
    if frequency == "daily":
        return (day.toordinal(), 0)
    if frequency == "weekly":
        iso = day.isocalendar()
        return (iso.year, iso.week)
    return (day.year, day.month)


def is_due(
    market_now: datetime,
    *,
    frequency: Frequency,
    at: time,
    last_rebalance: date | None,
    market_open: bool,
) -> bool:
    """Due once per period: the first time, in that period, the market is open at or after
    ``at`` New York time. A period whose every session was missed (daemon down) is caught up
    on its next open session; a period already served is never served twice."""
    if not market_open:
        return False
    local = market_now.astimezone(NY)
    if local.time() < at:
        return False
    return last_rebalance is None or period_key(last_rebalance, frequency) != period_key(
        local.date(), frequency
    )


def client_order_id(strategy_id: int, mode: str, day: date, symbol: str) -> str:
    """Deterministic id: the cause (strategy, mode, rebalance date, symbol), never random."""
    return f"strat-{strategy_id}-{mode}-{day:%Y%m%d}-{symbol}"


@dataclass(frozen=True, slots=True)
class Fill:
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal


@dataclass(slots=True)
class Ledger:
    cash: Decimal
    holdings: dict[str, Decimal] = field(default_factory=dict)

    def equity(self, prices: Mapping[str, Decimal]) -> Decimal:
        return self.cash + sum((q * prices[s] for s, q in self.holdings.items() if q), ZERO)

    def value_by_symbol(self, prices: Mapping[str, Decimal]) -> dict[str, Decimal]:
        return {s: q * prices[s] for s, q in sorted(self.holdings.items()) if q}


def ledger_from_fills(initial_capital: Decimal, fills: Iterable[Fill]) -> Ledger:
    led = Ledger(initial_capital)
    for f in fills:
        signed = f.qty if f.side == "buy" else -f.qty
        led.cash -= signed * f.price
        led.holdings[f.symbol] = led.holdings.get(f.symbol, ZERO) + signed
    led.holdings = {s: q for s, q in led.holdings.items() if q != 0}
    return led


@dataclass(frozen=True, slots=True)
class OrderPlan:
    symbol: str
    side: Side
    qty: Decimal
    target_qty: Decimal
    price: Decimal
    """The price the order was sized at (the latest close), not a limit."""

    @property
    def reduces_exposure(self) -> bool:
        return self.side == "sell"


def plan_orders(
    weights: Mapping[str, float],
    ledger: Ledger,
    prices: Mapping[str, Decimal],
    *,
    qty_step: Decimal = Decimal("0.0001"),
    min_notional: Decimal = Decimal("1"),
    cash_buffer_bps: Decimal = Decimal("50"),
) -> list[OrderPlan]:
    """Orders that move the ledger's holdings to ``weights`` of its equity.

    A holding no longer in ``weights`` is sold entirely; trades worth less than
    ``min_notional`` are skipped (Alpaca's fractional minimum is $1) unless they close a
    position, which must not be left as dust.
    """
    missing = [s for s in {*weights, *ledger.holdings} if s not in prices]
    if missing:
        raise ValueError(f"no price for {', '.join(sorted(missing))}")
    equity = ledger.equity(prices)
    investable = equity * (1 - cash_buffer_bps / Decimal(10_000))
    sells: list[OrderPlan] = []
    buys: list[OrderPlan] = []
    for sym in sorted({*weights, *ledger.holdings}):
        price = prices[sym]
        held = ledger.holdings.get(sym, ZERO)
        w = Decimal(repr(weights.get(sym, 0.0)))
        target = (
            (w * investable / price / qty_step).to_integral_value(rounding=ROUND_DOWN) * qty_step
            if w > 0 and investable > 0
            else ZERO
        )
        delta = target - held
        if delta == 0 or (abs(delta) * price < min_notional and target != 0):
            continue
        if delta < 0:
            sells.append(OrderPlan(sym, "sell", -delta, target, price))
        else:
            buys.append(OrderPlan(sym, "buy", delta, target, price))
    # A sell skipped as too small leaves its value in that holding, not in cash: scale the
    # buys down so they never spend more than the cash plus what the sells bring in.
    budget = ledger.cash + sum((p.qty * p.price for p in sells), ZERO)
    cost = sum((p.qty * p.price for p in buys), ZERO)
    if buys and cost > budget:
        scale = max(budget, ZERO) / cost
        scaled = []
        for p in buys:
            qty = (p.qty * scale / qty_step).to_integral_value(rounding=ROUND_DOWN) * qty_step
            if qty > 0 and qty * p.price >= min_notional:
                scaled.append(
                    OrderPlan(
                        p.symbol, "buy", qty, ledger.holdings.get(p.symbol, ZERO) + qty, p.price
                    )
                )
        buys = scaled
    return sells + buys


def snapshot_returns(
    equity: Decimal, previous_equity: Decimal | None, initial_capital: Decimal
) -> tuple[Decimal | None, Decimal]:
    """(daily return vs the previous snapshot, cumulative return vs the initial capital)."""
    q = Decimal("0.000001")
    daily = None
    if previous_equity is not None and previous_equity > 0:
        daily = (equity / previous_equity - 1).quantize(q)
    return daily, (equity / initial_capital - 1).quantize(q)


@dataclass(frozen=True, slots=True)
class BookedFill:
    """A fill of a strategy's order with what a round trip needs (time, id, final)."""

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    at: str
    client_order_id: str
    final: bool


@dataclass(frozen=True, slots=True)
class ClosedTrip:
    symbol: str
    qty: Decimal
    entry_price: Decimal
    exit_price: Decimal
    opened_at: str
    closed_at: str
    pnl: Decimal
    client_order_id: str


def trips_and_costs(
    fills: Iterable[BookedFill],
) -> tuple[list[ClosedTrip], dict[str, tuple[Decimal, str]]]:
    """Round trips of a long-only ledger at average cost: every sell closes that much of the
    holding at its average entry (a sell of an order still filling is left until its order is
    final, so a round trip is recorded once, whole). Returns the trips and, per symbol still
    held, (average entry price, opened at)."""
    held: dict[str, Decimal] = {}
    cost: dict[str, Decimal] = {}
    opened: dict[str, str] = {}
    trips: list[ClosedTrip] = []
    for f in fills:
        q = held.get(f.symbol, ZERO)
        if f.side == "buy":
            if q <= 0:
                opened[f.symbol] = f.at
                cost[f.symbol] = ZERO
                q = ZERO
            cost[f.symbol] = cost.get(f.symbol, ZERO) + f.qty * f.price
            held[f.symbol] = q + f.qty
            continue
        closed = min(f.qty, q) if q > 0 else ZERO
        avg = cost[f.symbol] / q if q > 0 else f.price
        if closed > 0 and f.final:
            trips.append(
                ClosedTrip(
                    f.symbol,
                    closed,
                    avg,
                    f.price,
                    opened.get(f.symbol, f.at),
                    f.at,
                    closed * (f.price - avg),
                    f.client_order_id,
                )
            )
        held[f.symbol] = q - f.qty
        if q > 0:
            cost[f.symbol] = avg * max(held[f.symbol], ZERO)
    costs = {s: (cost[s] / q, opened.get(s, "")) for s, q in held.items() if q > 0 and cost.get(s)}
    return trips, costs
