"""Each model's virtual ledger: cash, positions and realized P&L, in exact decimals.

All models may share one venue account; their books are kept apart here, and the sum of the
ledgers is what the account must hold (reconciliation compares :func:`total_positions` with the
venue's positions). Pure: fills go in, closed trades come out, nothing is read or written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

ZERO = Decimal(0)
ExitReason = Literal["stop_loss", "take_profit", "time_limit", "manual", "signal"]


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    qty: Decimal
    """Signed: positive long, negative short."""
    avg_price: Decimal
    opened_at: datetime
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    timeframe: str = "swing"
    entry_client_order_id: str | None = None

    @property
    def side(self) -> Literal["long", "short"]:
        return "long" if self.qty > 0 else "short"

    def notional(self, mark: Decimal | None = None) -> Decimal:
        return abs(self.qty) * (mark if mark is not None else self.avg_price)

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self.avg_price) * self.qty

    def wire(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "qty": str(self.qty),
            "avg_price": str(self.avg_price),
            "opened_at": self.opened_at.isoformat(),
            "stop_loss": None if self.stop_loss is None else str(self.stop_loss),
            "take_profit": None if self.take_profit is None else str(self.take_profit),
            "timeframe": self.timeframe,
            "entry_client_order_id": self.entry_client_order_id,
        }


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A (part of a) position closed: one round trip."""

    book_id: str
    symbol: str
    side: Literal["long", "short"]
    qty: Decimal
    entry_price: Decimal
    exit_price: Decimal
    opened_at: datetime
    closed_at: datetime
    exit_reason: str
    entry_client_order_id: str | None
    exit_client_order_id: str | None

    @property
    def pnl(self) -> Decimal:
        sign = 1 if self.side == "long" else -1
        return (self.exit_price - self.entry_price) * self.qty * sign

    @property
    def pnl_pct(self) -> float:
        cost = self.entry_price * self.qty
        return float(self.pnl / cost * 100) if cost else 0.0


@dataclass(slots=True)
class Ledger:
    book_id: str
    initial_capital: Decimal
    cash: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    realized_pnl: Decimal = ZERO
    day: date | None = None
    """The New York trading day ``day_start_equity`` belongs to."""
    day_start_equity: Decimal | None = None
    sat_out_day: date | None = None
    """The day this model hit max_daily_loss (no new orders until the next day)."""

    @classmethod
    def new(cls, book_id: str, capital: Decimal) -> Ledger:
        return cls(book_id, capital, capital)

    def position(self, symbol: str) -> Position | None:
        return self.positions.get(symbol)

    def qty(self, symbol: str) -> Decimal:
        p = self.positions.get(symbol)
        return p.qty if p else ZERO

    def equity(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Cash plus positions at ``marks`` (a position without a mark counts at its cost)."""
        total = self.cash
        for p in self.positions.values():
            total += p.qty * marks.get(p.symbol, p.avg_price)
        return total

    def unrealized(self, marks: Mapping[str, Decimal]) -> Decimal:
        return sum(
            (p.unrealized(marks.get(p.symbol, p.avg_price)) for p in self.positions.values()),
            ZERO,
        )

    def roll_day(self, day: date, marks: Mapping[str, Decimal]) -> None:
        """Start a new trading day: the daily-loss baseline is the equity now."""
        if self.day != day:
            self.day = day
            self.day_start_equity = self.equity(marks)
            if self.sat_out_day != day:
                self.sat_out_day = None

    def day_pnl(self, marks: Mapping[str, Decimal]) -> Decimal:
        base = self.day_start_equity if self.day_start_equity is not None else self.initial_capital
        return self.equity(marks) - base

    def apply_fill(
        self,
        symbol: str,
        side: Literal["buy", "sell"],
        qty: Decimal,
        price: Decimal,
        at: datetime,
        *,
        client_order_id: str | None = None,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
        timeframe: str = "swing",
        exit_reason: str = "signal",
    ) -> ClosedTrade | None:
        """Book a fill. Reducing a position returns the closed part as a round trip; a fill
        that crosses zero closes the old side and opens the rest on the new one."""
        if qty <= 0 or price <= 0:
            raise ValueError(f"fill of {qty} @ {price}: quantity and price must be positive")
        signed = qty if side == "buy" else -qty
        self.cash -= signed * price
        cur = self.positions.get(symbol)
        if cur is None or cur.qty == 0:
            self.positions[symbol] = Position(
                symbol, signed, price, at, stop_loss, take_profit, timeframe, client_order_id
            )
            return None
        if (cur.qty > 0) == (signed > 0):  # adding to the same side: weighted average
            new_qty = cur.qty + signed
            avg = (cur.avg_price * cur.qty + price * signed) / new_qty
            self.positions[symbol] = replace(
                cur,
                qty=new_qty,
                avg_price=avg,
                stop_loss=stop_loss if stop_loss is not None else cur.stop_loss,
                take_profit=take_profit if take_profit is not None else cur.take_profit,
            )
            return None
        closed_qty = min(abs(cur.qty), qty)
        trade = ClosedTrade(
            self.book_id,
            symbol,
            cur.side,
            closed_qty,
            cur.avg_price,
            price,
            cur.opened_at,
            at,
            exit_reason,
            cur.entry_client_order_id,
            client_order_id,
        )
        self.realized_pnl += trade.pnl
        rest = cur.qty + signed
        if rest == 0:
            del self.positions[symbol]
        elif (rest > 0) == (cur.qty > 0):
            self.positions[symbol] = replace(cur, qty=rest)
        else:  # crossed zero: the remainder opens the other side at this price
            self.positions[symbol] = Position(
                symbol, rest, price, at, stop_loss, take_profit, timeframe, client_order_id
            )
        return trade

    def wire(self, marks: Mapping[str, Decimal] | None = None) -> dict[str, Any]:
        marks = marks or {}
        return {
            "book_id": self.book_id,
            "cash": str(self.cash),
            "initial_capital": str(self.initial_capital),
            "realized_pnl": str(self.realized_pnl),
            "equity": str(self.equity(marks)),
            "positions": [p.wire() for p in self.positions.values()],
        }


def total_positions(ledgers: Iterable[Ledger]) -> dict[str, Decimal]:
    """What the shared account should hold: the sum of every ledger's quantity per symbol."""
    out: dict[str, Decimal] = {}
    for led in ledgers:
        for p in led.positions.values():
            out[p.symbol] = out.get(p.symbol, ZERO) + p.qty
    return {s: q for s, q in out.items() if q != 0}


def reconcile(ledgers: Iterable[Ledger], account: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Drift per symbol: account quantity minus the ledgers' sum (empty when they agree)."""
    ours = total_positions(ledgers)
    drift = {}
    for sym in set(ours) | set(account):
        d = account.get(sym, ZERO) - ours.get(sym, ZERO)
        if d != 0:
            drift[sym] = d
    return drift
