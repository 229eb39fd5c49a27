"""Position accounting of one book in one coin (pure, exact Decimal).

A fill that grows a position moves its average entry; one that shrinks it realizes
(exit − entry) × closed size × direction; one that crosses zero closes the old position and
opens the rest at the fill price. A round trip runs from flat to flat (a flip ends one and
starts the next) and is reported when it ends, with its average entry and exit, the size
closed, realized P&L net of the fees paid within it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Trip:
    """A finished round trip of a book in a coin."""

    book_id: str
    coin: str
    direction: str  # long | short
    quantity: Decimal  # total size closed over the trip
    entry_price: Decimal  # average over the opening fills
    exit_price: Decimal  # average over the closing fills
    entry_ms: int
    exit_ms: int
    gross_pnl: Decimal
    fees: Decimal

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.fees

    @property
    def pnl_pct(self) -> float:
        basis = self.entry_price * self.quantity
        return float(self.net_pnl / basis * 100) if basis else 0.0


@dataclass(slots=True)
class Position:
    size: Decimal = ZERO
    entry: Decimal = ZERO
    opened_ms: int | None = None
    realized: Decimal = ZERO  # cumulative gross realized P&L
    fees: Decimal = ZERO  # cumulative
    funding: Decimal = ZERO  # cumulative (positive = received)
    # The open trip.
    _in_qty: Decimal = ZERO
    _in_value: Decimal = ZERO
    _out_qty: Decimal = ZERO
    _out_value: Decimal = ZERO
    _trip_gross: Decimal = ZERO
    _trip_fees: Decimal = ZERO

    def trip_state(self) -> dict[str, str]:
        """The open trip's running totals (persisted so a restart ends the trip right)."""
        return {
            "in_qty": str(self._in_qty),
            "in_value": str(self._in_value),
            "out_qty": str(self._out_qty),
            "out_value": str(self._out_value),
            "gross": str(self._trip_gross),
            "fees": str(self._trip_fees),
        }

    def restore_trip(self, state: dict[str, str]) -> None:
        d = {k: Decimal(str(v)) for k, v in state.items()}
        self._in_qty = d.get("in_qty", ZERO)
        self._in_value = d.get("in_value", ZERO)
        self._out_qty = d.get("out_qty", ZERO)
        self._out_value = d.get("out_value", ZERO)
        self._trip_gross = d.get("gross", ZERO)
        self._trip_fees = d.get("fees", ZERO)

    def unrealized(self, mark: Decimal | None) -> Decimal:
        if mark is None or not self.size:
            return ZERO
        return (mark - self.entry) * self.size

    def apply(
        self, book_id: str, coin: str, qty: Decimal, price: Decimal, fee: Decimal, ms: int
    ) -> tuple[Decimal, list[Trip]]:
        """Book a signed fill; return the gross P&L it realized and any finished trips."""
        if not qty:
            self.fees += fee
            self._trip_fees += fee
            return ZERO, []
        trips: list[Trip] = []
        realized = ZERO
        self.fees += fee
        size = self.size
        if not size or (size > 0) == (qty > 0):  # open or grow
            self._open(qty, price, ms)
            self._trip_fees += fee
            return ZERO, []
        closing = min(abs(qty), abs(size))
        direction = 1 if size > 0 else -1
        realized = (price - self.entry) * closing * direction
        self.realized += realized
        rest = abs(qty) - closing
        # The fee is split between the closing and the opening part by size.
        fee_close = fee * closing / abs(qty)
        self._trip_gross += realized
        self._trip_fees += fee_close
        self._out_qty += closing
        self._out_value += closing * price
        self.size = size + (closing if qty > 0 else -closing)
        if not self.size:
            trips.append(self._finish(book_id, coin, "long" if direction > 0 else "short", ms))
            self.entry = ZERO
            self.opened_ms = None
        if rest:
            self._open(rest if qty > 0 else -rest, price, ms)
            self._trip_fees += fee - fee_close
        return realized, trips

    def _open(self, qty: Decimal, price: Decimal, ms: int) -> None:
        new = self.size + qty
        if not self.size:
            self.opened_ms = ms
            self.entry = price
        else:
            self.entry = (self.entry * abs(self.size) + price * abs(qty)) / abs(new)
        self.size = new
        self._in_qty += abs(qty)
        self._in_value += abs(qty) * price

    def _finish(self, book_id: str, coin: str, direction: str, ms: int) -> Trip:
        trip = Trip(
            book_id,
            coin,
            direction,
            self._out_qty,
            self._in_value / self._in_qty if self._in_qty else ZERO,
            self._out_value / self._out_qty if self._out_qty else ZERO,
            self.opened_ms if self.opened_ms is not None else ms,
            ms,
            self._trip_gross,
            self._trip_fees,
        )
        self._in_qty = self._in_value = self._out_qty = self._out_value = ZERO
        self._trip_gross = self._trip_fees = ZERO
        return trip


@dataclass(slots=True)
class Book:
    """Every coin of one book."""

    book_id: str
    capital: Decimal = ZERO
    positions: dict[str, Position] = field(default_factory=dict)

    def pos(self, coin: str) -> Position:
        p = self.positions.get(coin)
        if p is None:
            p = self.positions[coin] = Position()
        return p

    def size(self, coin: str) -> Decimal:
        p = self.positions.get(coin)
        return p.size if p else ZERO

    def apply(
        self, coin: str, qty: Decimal, price: Decimal, fee: Decimal, ms: int
    ) -> tuple[Decimal, list[Trip]]:
        return self.pos(coin).apply(self.book_id, coin, qty, price, fee, ms)

    @property
    def realized(self) -> Decimal:
        return sum((p.realized for p in self.positions.values()), ZERO)

    @property
    def fees(self) -> Decimal:
        return sum((p.fees for p in self.positions.values()), ZERO)

    @property
    def funding(self) -> Decimal:
        return sum((p.funding for p in self.positions.values()), ZERO)

    def unrealized(self, marks: dict[str, Decimal]) -> Decimal:
        return sum((p.unrealized(marks.get(c)) for c, p in self.positions.items()), ZERO)

    def equity(self, marks: dict[str, Decimal]) -> Decimal:
        """Capital + realized − fees + funding + unrealized at ``marks``."""
        return self.capital + self.realized - self.fees + self.funding + self.unrealized(marks)

    def notional(self, marks: dict[str, Decimal]) -> Decimal:
        return sum((abs(p.size) * marks.get(c, p.entry) for c, p in self.positions.items()), ZERO)
