"""Where arena orders go: the :class:`Executor` interface, and the internal executor that fills
at the reference price with no venue at all.

The Alpaca executor (orders over REST with the client order id, fills from the trade-updates
stream) implements the same interface; the runner does not know which one it has. The
internal one lets the shipped config run offline and makes runs deterministic in tests and
benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from arenad.clock import Clock, SystemClock

# The venue's order status (new, accepted, partially_filled, filled, canceled, expired,
# rejected, ...) or ours: unknown (answer lost), not_sent, duplicate (id already used).
OrderStatus = str


@dataclass(frozen=True, slots=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    qty: Decimal
    reference_price: Decimal
    """The last price (market orders are expected near it)."""
    limit_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderResult:
    status: OrderStatus
    venue_order_id: str | None = None
    filled_qty: Decimal = Decimal(0)
    filled_avg_price: Decimal | None = None
    filled_at: datetime | None = None
    error: str | None = None


class Executor(Protocol):
    async def submit(self, req: OrderRequest) -> OrderResult:
        """Send one order. ``duplicate`` when the venue already has this client order id
        (a replayed cause): the caller must not book it again. Raises TemporaryError /
        OrderRejected / OperationalError for failures (converted at the venue's boundary)."""
        ...


class InternalExecutor:
    """Fills marketable orders at once at the reference price (no slippage, no venue)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.seen: set[str] = set()
        self.orders: list[OrderRequest] = []

    async def submit(self, req: OrderRequest) -> OrderResult:
        if req.client_order_id in self.seen:
            return OrderResult("duplicate", error="client_order_id already used")
        self.seen.add(req.client_order_id)
        self.orders.append(req)
        price = req.reference_price
        if req.limit_price is not None:
            marketable = (
                (req.limit_price >= price) if req.side == "buy" else (req.limit_price <= price)
            )
            if not marketable:
                return OrderResult(
                    "canceled",
                    error=f"limit {req.limit_price} not marketable at {price} "
                    "(the internal executor keeps no order book)",
                )
        return OrderResult(
            "filled",
            venue_order_id=f"internal-{len(self.orders)}",
            filled_qty=req.qty,
            filled_avg_price=price,
            filled_at=self.clock.now(),
        )
