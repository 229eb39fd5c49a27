"""The simulated Alpaca paper broker: accounts, order validation, matching, positions.

Pure and clocked from outside: every operation takes ``now``, and `process(now)` is the only
place resting orders move, so the server's ticker and a test stepping time by hand see the
same behaviour. Randomness (ids) comes from a generator seeded by the simulator seed, so the
same seed with the same requests gives the same orders, ids and fills.

Order life cycle, as Alpaca's paper venue reports it:

- `POST /v2/orders` validates synchronously: a bad request is 422 (`code` 40010001 for
  validation, 42210000 for prices), a duplicate `client_order_id` is 422 "client_order_id must
  be unique", too little buying power or too few shares is 403 (40310000). A valid order is
  ``accepted`` and, while the market is open, routed at once (``new``); otherwise it waits for
  the open. The response shows the order as routed but not yet executed, as the real API does.
- A routed order executes against the seeded quote: market orders cross the spread, limit
  orders execute when the quote reaches them, stops trigger on the last price. A fill is at
  most `max_fill_qty` shares, so big orders fill over several ticks (``partial_fill`` events,
  then ``fill``).
- Routing re-checks buying power at the routing price; an order queued while the market was
  closed that no longer fits is ``rejected`` (an event, not an HTTP error).
- Bracket orders carry two exit legs, ``held`` until the entry fills completely; the first leg
  to fill cancels the other. Day orders expire at the close.

Positions cannot flip from long to short in one order (Alpaca refuses with "insufficient qty
available"); shorts need a margin account (`margin_multiplier` > 1) and whole shares.
"""

from __future__ import annotations

import functools
import hashlib
import random
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from arenad.sim.alpaca import calendar
from arenad.sim.alpaca.prices import PriceModel, valid_symbol

ZERO = Decimal(0)
CENT = Decimal("0.01")
QTY_STEP = Decimal("0.000000001")
ASSET_NAMESPACE = uuid.UUID("6f1d3c1e-55b7-4b7e-9a8e-0b7a6a3f5c11")

OPEN_STATUSES = frozenset(
    {"accepted", "new", "partially_filled", "held", "pending_new", "pending_cancel"}
)
ORDER_TYPES = frozenset({"market", "limit", "stop", "stop_limit", "trailing_stop"})
TIME_IN_FORCE = frozenset({"day", "gtc", "opg", "cls", "ioc", "fok"})

EVENT_HISTORY = 100_000

INVALID = 40010001
PRICE_INVALID = 42210000
FORBIDDEN = 40310000
NOT_FOUND = 40410000


class ApiError(Exception):
    """A refusal with Alpaca's status, code and message (and any extra fields it sends)."""

    def __init__(self, status: int, code: int, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


def invalid(message: str) -> ApiError:
    return ApiError(422, INVALID, message)


def num(d: Decimal | None) -> str | None:
    """Alpaca's decimal strings: plain notation, no exponent, no trailing zeros."""
    if d is None:
        return None
    text = format(d.normalize(), "f")
    return "0" if text in ("-0", "") else text


def iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    return t.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@functools.cache
def asset_id(symbol: str) -> str:
    return str(uuid.uuid5(ASSET_NAMESPACE, symbol))


@dataclass(eq=False)
class Order:
    id: str
    client_order_id: str
    account_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal | None
    notional: Decimal | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    order_class: str
    extended_hours: bool
    position_intent: str
    created_at: datetime
    status: str = "accepted"
    updated_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    failed_at: datetime | None = None
    filled_qty: Decimal = ZERO
    filled_value: Decimal = ZERO
    legs: list[Order] = field(default_factory=list)
    parent: Order | None = None
    triggered: bool = False
    reserved_price: Decimal = ZERO
    """Price per share held against buying power while the order is open."""
    accepted_wire: dict[str, Any] | None = None
    """The order as `POST /v2/orders` answers: accepted or routed, not yet executed (the
    fill follows on the stream and in later GETs, as on the real venue)."""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal | None:
        return None if self.qty is None else self.qty - self.filled_qty

    @property
    def filled_avg_price(self) -> Decimal | None:
        if self.filled_qty <= 0:
            return None
        return (self.filled_value / self.filled_qty).quantize(Decimal("0.0001")).normalize()

    @property
    def signed_remaining(self) -> Decimal:
        rem = self.remaining or ZERO
        return rem if self.side == "buy" else -rem

    def wire(self, *, nested: bool = True) -> dict[str, Any]:
        """The order entity of the trading API (and of trade updates)."""
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at or self.created_at),
            "submitted_at": iso(self.created_at),
            "filled_at": iso(self.filled_at),
            "expired_at": iso(self.expired_at),
            "canceled_at": iso(self.canceled_at),
            "failed_at": iso(self.failed_at),
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": asset_id(self.symbol),
            "symbol": self.symbol,
            "asset_class": "us_equity",
            "notional": num(self.notional),
            "qty": num(self.qty),
            "filled_qty": num(self.filled_qty),
            "filled_avg_price": num(self.filled_avg_price),
            "order_class": self.order_class,
            "order_type": self.type,
            "type": self.type,
            "side": self.side,
            "position_intent": self.position_intent,
            "time_in_force": self.time_in_force,
            "limit_price": num(self.limit_price),
            "stop_price": num(self.stop_price),
            "status": self.status,
            "extended_hours": self.extended_hours,
            "legs": [leg.wire(nested=False) for leg in self.legs] if nested and self.legs else None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "subtag": None,
            "source": None,
            "expires_at": None,
        }


@dataclass
class Position:
    symbol: str
    qty: Decimal
    avg_entry_price: Decimal


@dataclass(eq=False)
class Account:
    key_id: str
    secret: str
    id: str
    account_number: str
    created_at: datetime
    cash: Decimal
    last_equity: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    by_client_id: dict[str, Order] = field(default_factory=dict)
    resting: dict[str, Order] = field(default_factory=dict)
    """Orders that may still be open (pruned as they close; an order never reopens), so
    per-order work scales with open orders, not with the account's whole history."""

    def live(self) -> list[Order]:
        out = []
        for oid, o in list(self.resting.items()):
            if o.is_open:
                out.append(o)
            else:
                del self.resting[oid]
        return out


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """One trade update for one account (serialized when it happened)."""

    account_id: str
    data: dict[str, Any]


def _dec(value: Any, name: str, *, required: bool = False) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise invalid(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid(f"{name} must be a number")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f"invalid {name}: {value!r}") from None
    if not d.is_finite():
        raise invalid(f"invalid {name}: {value!r}")
    return d


def _price(value: Any, name: str) -> Decimal | None:
    d = _dec(value, name)
    if d is None:
        return None
    if d <= 0:
        raise ApiError(422, PRICE_INVALID, f"{name} must be > 0")
    step = CENT if d >= 1 else Decimal("0.0001")
    if d != d.quantize(step):
        raise ApiError(
            422,
            PRICE_INVALID,
            f"invalid {name} {num(d)}. sub-penny increment does not fulfill minimum pricing "
            f"criteria",
        )
    return d


class Broker:
    def __init__(
        self,
        prices: PriceModel,
        *,
        seed: int,
        starting_cash: Decimal,
        margin_multiplier: Decimal,
        max_fill_qty: Decimal,
        spread_bps: Decimal,
        always_open: bool,
    ) -> None:
        self.prices = prices
        self.seed = seed
        self.starting_cash = starting_cash
        self.multiplier = margin_multiplier
        self.max_fill_qty = max_fill_qty
        self.spread_bps = float(spread_bps)
        self.always_open = always_open
        self.accounts: dict[str, Account] = {}
        self.events: deque[TradeEvent] = deque(maxlen=EVENT_HISTORY)
        """The latest trade updates of every account (for tests and `/_sim` introspection)."""
        self.fills = 0
        self._rng = random.Random(f"alpaca:{seed}")
        self._listeners: list[Callable[[TradeEvent], None]] = []
        self._equity_mark: datetime | None = None

    # --- accounts -----------------------------------------------------------------------

    def listen(self, fn: Callable[[TradeEvent], None]) -> None:
        self._listeners.append(fn)

    def authenticate(self, key_id: str, secret: str, now: datetime) -> Account | None:
        """The account of this key pair, opened on first use; None if the secret is wrong."""
        acct = self.accounts.get(key_id)
        if acct is None:
            digest = hashlib.sha256(f"{self.seed}:{key_id}".encode()).digest()
            acct = Account(
                key_id=key_id,
                secret=secret,
                id=str(uuid.UUID(bytes=digest[:16], version=4)),
                account_number="PA3" + str(int.from_bytes(digest[16:24], "big"))[:9].zfill(9),
                created_at=now,
                cash=self.starting_cash,
                last_equity=self.starting_cash,
            )
            self.accounts[key_id] = acct
        if acct.secret != secret:
            return None
        return acct

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # --- prices -------------------------------------------------------------------------

    def quote(self, symbol: str, now: datetime) -> tuple[Decimal, Decimal]:
        bid, ask = self.prices.quote(symbol, now, self.spread_bps)
        return Decimal(str(bid)), Decimal(str(ask))

    def last(self, symbol: str, now: datetime) -> Decimal:
        return Decimal(str(round(self.prices.price(symbol, now), 2)))

    def market_open(self, now: datetime) -> bool:
        return calendar.is_open(now, always_open=self.always_open)

    # --- account figures ----------------------------------------------------------------

    def market_values(self, acct: Account, now: datetime) -> tuple[Decimal, Decimal]:
        long_mv = short_mv = ZERO
        for p in acct.positions.values():
            mv = p.qty * self.last(p.symbol, now)
            if mv >= 0:
                long_mv += mv
            else:
                short_mv += mv
        return long_mv, short_mv

    def equity(self, acct: Account, now: datetime) -> Decimal:
        long_mv, short_mv = self.market_values(acct, now)
        return acct.cash + long_mv + short_mv

    def _reserved(self, acct: Account, exclude: Order | None = None) -> Decimal:
        """Buying power held by open orders that add exposure."""
        total = ZERO
        for o in acct.live():
            if o is exclude or o.parent is not None:
                continue
            if o.notional is not None:
                total += o.notional - o.filled_value
            elif self._adds_exposure(acct, o):
                total += (o.remaining or ZERO) * o.reserved_price
        return total

    def _adds_exposure(self, acct: Account, o: Order) -> bool:
        pos = acct.positions.get(o.symbol)
        held = pos.qty if pos else ZERO
        return (o.side == "buy" and held >= 0) or (o.side == "sell" and held <= 0)

    def buying_power(self, acct: Account, now: datetime, exclude: Order | None = None) -> Decimal:
        long_mv, short_mv = self.market_values(acct, now)
        equity = acct.cash + long_mv + short_mv
        exposure = long_mv - short_mv
        bp = self.multiplier * equity - exposure - self._reserved(acct, exclude)
        return max(ZERO, bp).quantize(CENT, rounding=ROUND_DOWN)

    def held_for_orders(
        self, acct: Account, symbol: str, side: str, exclude: Order | None
    ) -> Decimal:
        """Shares of a position already promised to open orders on its closing side."""
        total = ZERO
        brackets: set[str] = set()
        for o in acct.live():
            if o is exclude or o.symbol != symbol or o.side != side:
                continue
            if o.parent is not None:
                if o.status == "held" or o.parent.id in brackets:
                    continue  # the two exit legs of a bracket hold the same shares once
                brackets.add(o.parent.id)
            total += o.remaining or ZERO
        return total

    def account_wire(self, acct: Account, now: datetime) -> dict[str, Any]:
        long_mv, short_mv = self.market_values(acct, now)
        equity = acct.cash + long_mv + short_mv
        bp = self.buying_power(acct, now)
        exposure = long_mv - short_mv
        initial_margin = (exposure / self.multiplier).quantize(CENT)
        maintenance = (exposure * Decimal("0.25") + (-short_mv) * Decimal("0.05")).quantize(CENT)
        return {
            "id": acct.id,
            "admin_configurations": {},
            "user_configurations": None,
            "account_number": acct.account_number,
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "options_approved_level": 0,
            "options_trading_level": 0,
            "currency": "USD",
            "buying_power": num(bp),
            "regt_buying_power": num(bp),
            "daytrading_buying_power": num(bp if self.multiplier > 1 else ZERO),
            "effective_buying_power": num(bp),
            "non_marginable_buying_power": num(max(ZERO, acct.cash).quantize(CENT)),
            "options_buying_power": num(max(ZERO, acct.cash).quantize(CENT)),
            "bod_dtbp": "0",
            "cash": num(acct.cash.quantize(CENT)),
            "accrued_fees": "0",
            "portfolio_value": num(equity.quantize(CENT)),
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "created_at": iso(acct.created_at),
            "trade_suspended_by_user": False,
            "multiplier": num(self.multiplier),
            "shorting_enabled": self.multiplier > 1,
            "equity": num(equity.quantize(CENT)),
            "last_equity": num(acct.last_equity.quantize(CENT)),
            "long_market_value": num(long_mv.quantize(CENT)),
            "short_market_value": num(short_mv.quantize(CENT)),
            "position_market_value": num(exposure.quantize(CENT)),
            "initial_margin": num(initial_margin),
            "maintenance_margin": num(maintenance),
            "last_maintenance_margin": num(maintenance),
            "sma": num(acct.last_equity.quantize(CENT)),
            "daytrade_count": 0,
            "balance_asof": calendar.ny_date(now).isoformat(),
            "crypto_tier": 0,
            "intraday_adjustments": "0",
            "pending_reg_taf_fees": "0",
        }

    def position_wire(self, acct: Account, p: Position, now: datetime) -> dict[str, Any]:
        price = self.last(p.symbol, now)
        day_start = self._previous_close(p.symbol, now)
        mv = p.qty * price
        cost = p.qty * p.avg_entry_price
        upl = mv - cost
        held = self.held_for_orders(acct, p.symbol, "sell" if p.qty > 0 else "buy", None)
        intraday_base = p.qty * day_start
        return {
            "asset_id": asset_id(p.symbol),
            "symbol": p.symbol,
            "exchange": self.prices.specs[p.symbol].exchange,
            "asset_class": "us_equity",
            "asset_marginable": True,
            "qty": num(p.qty),
            "qty_available": num(abs(p.qty) - held if p.qty > 0 else -(abs(p.qty) - held)),
            "avg_entry_price": num(p.avg_entry_price.quantize(Decimal("0.0001"))),
            "side": "long" if p.qty > 0 else "short",
            "market_value": num(mv.quantize(CENT)),
            "cost_basis": num(cost.quantize(CENT)),
            "unrealized_pl": num(upl.quantize(CENT)),
            "unrealized_plpc": num((upl / abs(cost)).quantize(Decimal("0.0000000001")))
            if cost
            else "0",
            "unrealized_intraday_pl": num((mv - intraday_base).quantize(CENT)),
            "unrealized_intraday_plpc": num(
                ((mv - intraday_base) / abs(intraday_base)).quantize(Decimal("0.0000000001"))
            )
            if intraday_base
            else "0",
            "current_price": num(price),
            "lastday_price": num(day_start),
            "change_today": num(((price - day_start) / day_start).quantize(Decimal("0.0000000001")))
            if day_start
            else "0",
        }

    def _previous_close(self, symbol: str, now: datetime) -> Decimal:
        d = calendar.ny_date(now)
        for _ in range(15):
            d = d - timedelta(days=1)
            s = calendar.session(d, always_open=self.always_open)
            if s is not None:
                return self.last(symbol, s[1] - timedelta(seconds=1))
        return self.last(symbol, now)  # pragma: no cover

    # --- submit -------------------------------------------------------------------------

    def submit(self, acct: Account, body: Any, now: datetime) -> Order:
        """Validate and accept an order (raises ApiError); route it if the market is open."""
        if not isinstance(body, dict):
            raise invalid("request body format is invalid")
        order = self._parse(acct, body, now)
        self._check_funds(acct, order, now)
        for o in (order, *order.legs):
            acct.orders[o.id] = o
            acct.by_client_id[o.client_order_id] = o
            acct.resting[o.id] = o
        routed = self.market_open(now) and self._route(acct, order, now)
        if not self.market_open(now):
            self._emit(acct, "accepted", order, now)
        order.accepted_wire = order.wire()
        if routed:
            self._match(acct, order, now, fresh=True)
        return order

    def _parse(self, acct: Account, body: dict[str, Any], now: datetime) -> Order:  # noqa: C901
        symbol = body.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise invalid("symbol is required")
        symbol = symbol.upper()
        if not valid_symbol(symbol) or not self.prices.listed(symbol):
            raise invalid(f'asset "{symbol}" not found')
        side = body.get("side")
        if side not in ("buy", "sell"):
            raise invalid("side must be buy or sell" if side else "side is required")
        otype = body.get("type", body.get("order_type"))
        if not isinstance(otype, str) or otype not in ORDER_TYPES:
            raise invalid(f"invalid order type: {otype!r}" if otype else "type is required")
        if otype == "trailing_stop":
            raise invalid("trailing_stop orders are not supported by the simulator")
        tif = body.get("time_in_force")
        if not isinstance(tif, str) or tif not in TIME_IN_FORCE:
            raise invalid(f"invalid time_in_force: {tif!r}" if tif else "time_in_force is required")
        if tif in ("opg", "cls"):
            raise invalid(f"time_in_force {tif} is not supported by the simulator")
        qty = _dec(body.get("qty"), "qty")
        notional = _dec(body.get("notional"), "notional")
        if qty is None and notional is None:
            raise invalid("qty or notional is required")
        if qty is not None and notional is not None:
            raise invalid("only one of qty or notional may be given")
        if qty is not None and qty <= 0:
            raise invalid("qty must be > 0")
        if notional is not None:
            if notional < 1:
                raise ApiError(403, FORBIDDEN, "notional amount must be >= 1.00")
            if otype != "market":
                raise invalid("notional orders must be market orders")
            notional = notional.quantize(CENT)
        fractional = notional is not None or (qty is not None and qty != qty.to_integral_value())
        if qty is not None and qty != qty.quantize(QTY_STEP):
            raise invalid("qty must have at most 9 decimal places")
        if fractional and tif != "day":
            raise invalid("fractional orders must be DAY orders")
        if fractional and otype not in ("market", "limit"):
            raise invalid("fractional orders must be market or limit orders")
        limit_price = _price(body.get("limit_price"), "limit_price")
        stop_price = _price(body.get("stop_price"), "stop_price")
        if otype in ("limit", "stop_limit") and limit_price is None:
            raise invalid("limit_price is required for limit orders")
        if otype in ("stop", "stop_limit") and stop_price is None:
            raise invalid("stop_price is required for stop orders")
        if otype in ("market", "stop") and limit_price is not None:
            raise invalid(f"limit_price must not be given for {otype} orders")
        if otype in ("market", "limit") and stop_price is not None:
            raise invalid(f"stop_price must not be given for {otype} orders")
        cid = body.get("client_order_id")
        if cid is None or cid == "":
            cid = self._uuid()
        if not isinstance(cid, str):
            raise invalid("client_order_id must be a string")
        if len(cid) > 128:
            raise invalid("client_order_id must be no more than 128 characters")
        if cid in acct.by_client_id:
            raise invalid("client_order_id must be unique")
        extended = body.get("extended_hours", False)
        if not isinstance(extended, bool):
            raise invalid("extended_hours must be a boolean")
        if extended and not (otype == "limit" and tif == "day"):
            raise invalid("extended hours order must be DAY limit orders")
        order_class = body.get("order_class") or "simple"
        if order_class not in ("simple", "bracket"):
            raise invalid(f"order_class {order_class} is not supported by the simulator")
        tp, sl = body.get("take_profit"), body.get("stop_loss")
        if order_class == "simple" and (tp or sl):
            order_class = "bracket"
        pos = acct.positions.get(symbol)
        held = pos.qty if pos else ZERO
        intent = (
            ("buy_to_close" if held < 0 else "buy_to_open")
            if side == "buy"
            else ("sell_to_close" if held > 0 else "sell_to_open")
        )
        order = Order(
            id=self._uuid(),
            client_order_id=cid,
            account_id=acct.id,
            symbol=symbol,
            side=side,
            type=otype,
            time_in_force=tif,
            qty=qty,
            notional=notional,
            limit_price=limit_price,
            stop_price=stop_price,
            order_class=order_class,
            extended_hours=extended,
            position_intent=intent,
            created_at=now,
        )
        if order_class == "bracket":
            self._bracket_legs(acct, order, tp, sl, now)
        return order

    def _bracket_legs(self, acct: Account, order: Order, tp: Any, sl: Any, now: datetime) -> None:
        if order.qty is None or order.qty != order.qty.to_integral_value():
            raise invalid("bracket orders must be for a whole number of shares")
        if order.time_in_force not in ("day", "gtc"):
            raise invalid("bracket orders must be DAY or GTC orders")
        if order.type not in ("market", "limit"):
            raise invalid("bracket orders must be market or limit orders")
        if not isinstance(tp, dict) or "limit_price" not in tp:
            raise invalid("bracket orders require take_profit.limit_price")
        if not isinstance(sl, dict) or "stop_price" not in sl:
            raise invalid("bracket orders require stop_loss.stop_price")
        tp_price = _price(tp.get("limit_price"), "take_profit.limit_price")
        sl_stop = _price(sl.get("stop_price"), "stop_loss.stop_price")
        sl_limit = _price(sl.get("limit_price"), "stop_loss.limit_price")
        assert tp_price is not None and sl_stop is not None
        bid, ask = self.quote(order.symbol, now)
        base = order.limit_price or (ask if order.side == "buy" else bid)
        if order.side == "buy":
            if tp_price < base + CENT:
                raise ApiError(
                    422,
                    PRICE_INVALID,
                    f"take_profit.limit_price must be >= base_price + 0.01 "
                    f"(base_price: {num(base)})",
                )
            if sl_stop > base - CENT:
                raise ApiError(
                    422,
                    PRICE_INVALID,
                    f"stop_loss.stop_price must be <= base_price - 0.01 (base_price: {num(base)})",
                )
        else:
            if tp_price > base - CENT:
                raise ApiError(
                    422,
                    PRICE_INVALID,
                    f"take_profit.limit_price must be <= base_price - 0.01 "
                    f"(base_price: {num(base)})",
                )
            if sl_stop < base + CENT:
                raise ApiError(
                    422,
                    PRICE_INVALID,
                    f"stop_loss.stop_price must be >= base_price + 0.01 (base_price: {num(base)})",
                )
        exit_side = "sell" if order.side == "buy" else "buy"
        exit_intent = "sell_to_close" if order.side == "buy" else "buy_to_close"
        common: dict[str, Any] = {
            "account_id": order.account_id,
            "symbol": order.symbol,
            "side": exit_side,
            "time_in_force": order.time_in_force,
            "qty": order.qty,
            "notional": None,
            "order_class": "bracket",
            "extended_hours": False,
            "position_intent": exit_intent,
            "created_at": now,
            "status": "held",
        }
        take = Order(
            id=self._uuid(),
            client_order_id=self._uuid(),
            type="limit",
            limit_price=tp_price,
            stop_price=None,
            parent=order,
            **common,
        )
        stop = Order(
            id=self._uuid(),
            client_order_id=self._uuid(),
            type="stop_limit" if sl_limit is not None else "stop",
            limit_price=sl_limit,
            stop_price=sl_stop,
            parent=order,
            **common,
        )
        order.legs = [take, stop]

    def _estimate(self, order: Order, now: datetime) -> Decimal:
        bid, ask = self.quote(order.symbol, now)
        market = ask if order.side == "buy" else bid
        if order.type == "limit" or order.type == "stop_limit":
            assert order.limit_price is not None
            return order.limit_price if order.side == "buy" else max(order.limit_price, market)
        if order.type == "stop":
            assert order.stop_price is not None
            return max(order.stop_price, market) if order.side == "buy" else market
        return market

    def _check_funds(self, acct: Account, order: Order, now: datetime) -> None:
        pos = acct.positions.get(order.symbol)
        held = pos.qty if pos else ZERO
        price = self._estimate(order, now)
        order.reserved_price = price
        if order.qty is not None:
            closing = (order.side == "sell" and held > 0) or (order.side == "buy" and held < 0)
            if closing:
                opposite = self.held_for_orders(acct, order.symbol, order.side, None)
                available = abs(held) - opposite
                if order.qty > available:
                    raise ApiError(
                        403,
                        FORBIDDEN,
                        f"insufficient qty available for order (requested: {num(order.qty)}, "
                        f"available: {num(available)})",
                        available=num(available) or "0",
                        existing_qty=num(abs(held)) or "0",
                        held_for_orders=num(opposite) or "0",
                        symbol=order.symbol,
                    )
                return
            if order.side == "sell":
                if self.multiplier <= 1:
                    raise ApiError(403, FORBIDDEN, "account is not allowed to short")
                if order.qty != order.qty.to_integral_value():
                    raise ApiError(403, FORBIDDEN, "fractional orders cannot be sold short")
        cost = order.notional if order.notional is not None else (order.qty or ZERO) * price
        bp = self.buying_power(acct, now, exclude=order)
        if cost > bp:
            raise ApiError(
                403,
                FORBIDDEN,
                "insufficient buying power",
                buying_power=num(bp) or "0",
                cost_basis=num(cost.quantize(CENT)) or "0",
            )

    # --- life cycle ---------------------------------------------------------------------

    def _emit(self, acct: Account, event: str, order: Order, now: datetime, **extra: Any) -> None:
        order.updated_at = now
        data: dict[str, Any] = {
            "event": event,
            "timestamp": iso(now),
            "order": order.wire(),
            **extra,
        }
        if event not in ("fill", "partial_fill"):
            data["execution_id"] = self._uuid()
        ev = TradeEvent(acct.id, data)
        self.events.append(ev)
        for fn in self._listeners:
            fn(ev)

    def _route(self, acct: Account, order: Order, now: datetime) -> bool:
        """accepted -> new, True; or rejected if it no longer fits the account, False."""
        if order.status != "accepted":
            return False
        if order.qty is not None and self._adds_exposure(acct, order):
            price = self._estimate(order, now)
            cost = (order.remaining or ZERO) * price
            if cost > self.buying_power(acct, now, exclude=order):
                order.status = "rejected"
                order.failed_at = now
                for leg in order.legs:
                    leg.status = "canceled"
                    leg.canceled_at = now
                self._emit(acct, "rejected", order, now)
                return False
            order.reserved_price = price
        order.status = "new"
        self._emit(acct, "new", order, now)
        return True

    def cancel(self, acct: Account, order: Order, now: datetime) -> None:
        if not order.is_open or order.status == "pending_cancel":
            raise ApiError(422, PRICE_INVALID, "order is not cancelable")
        if order.parent is not None:
            # Cancelling either exit leg of a bracket cancels both (they are one OCO pair).
            for leg in order.parent.legs:
                if leg.is_open:
                    self._cancel(acct, leg, now)
            return
        self._cancel(acct, order, now)
        for leg in order.legs:
            if leg.is_open:
                self._cancel(acct, leg, now)

    def _cancel(self, acct: Account, order: Order, now: datetime, event: str = "canceled") -> None:
        order.status = "canceled" if event == "canceled" else "expired"
        if event == "canceled":
            order.canceled_at = now
        else:
            order.expired_at = now
        self._emit(acct, event, order, now)

    def _mark_last_equity(self, now: datetime) -> None:
        """After each session close, `last_equity` becomes the equity at that close."""
        d = calendar.ny_date(now)
        for _ in range(15):
            s = calendar.session(d, always_open=self.always_open)
            if s is not None and s[1] <= now:
                close = s[1]
                break
            d -= timedelta(days=1)
        else:
            return  # pragma: no cover - there is always a session within 15 days
        if self._equity_mark is not None and close <= self._equity_mark:
            return
        at = close - timedelta(seconds=1)
        for acct in self.accounts.values():
            if acct.created_at < close:
                acct.last_equity = self.equity(acct, at)
        self._equity_mark = close

    def process(self, now: datetime) -> None:
        """Route, trigger, fill and expire resting orders of every account at ``now``."""
        self._mark_last_equity(now)
        is_open = self.market_open(now)
        for acct in self.accounts.values():
            for order in acct.live():
                if not order.is_open:
                    continue
                if not is_open:
                    continue
                if order.status == "accepted":
                    if self._route(acct, order, now):
                        self._match(acct, order, now, fresh=True)
                elif order.status in ("new", "partially_filled"):
                    self._match(acct, order, now, fresh=False)
        if not is_open:
            self._expire_day_orders(now)

    def _expire_day_orders(self, now: datetime) -> None:
        for acct in self.accounts.values():
            for order in acct.live():
                if (
                    order.is_open
                    and order.time_in_force == "day"
                    and order.status in ("new", "partially_filled")
                    and order.parent is None
                ):
                    self._cancel(acct, order, now, event="expired")
                    for leg in order.legs:
                        if leg.is_open:
                            self._cancel(acct, leg, now, event="expired")
                elif (
                    order.is_open
                    and order.parent is not None
                    and order.time_in_force == "day"
                    and order.status == "new"
                ):
                    self._cancel(acct, order, now, event="expired")

    def _executable(self, order: Order, now: datetime) -> Decimal | None:
        bid, ask = self.quote(order.symbol, now)
        last = self.last(order.symbol, now)
        px = ask if order.side == "buy" else bid
        if order.type in ("stop", "stop_limit") and not order.triggered:
            assert order.stop_price is not None
            hit = last >= order.stop_price if order.side == "buy" else last <= order.stop_price
            if not hit:
                return None
            order.triggered = True
        if order.type in ("limit", "stop_limit"):
            assert order.limit_price is not None
            ok = px <= order.limit_price if order.side == "buy" else px >= order.limit_price
            return px if ok else None
        return px

    def _match(self, acct: Account, order: Order, now: datetime, *, fresh: bool) -> None:
        px = self._executable(order, now)
        if px is None:
            if order.time_in_force in ("ioc", "fok") and fresh:
                self._cancel(acct, order, now)
            return
        if order.notional is not None:
            qty = ((order.notional - order.filled_value) / px).quantize(QTY_STEP, ROUND_DOWN)
            order.qty = order.filled_qty + qty
        remaining = order.remaining or ZERO
        size = min(remaining, self.max_fill_qty)
        if order.time_in_force == "fok" and size < remaining:
            self._cancel(acct, order, now)
            return
        if size <= 0:
            return
        self._fill(acct, order, size, px, now)
        if order.time_in_force == "ioc" and order.is_open:
            self._cancel(acct, order, now)

    def _fill(self, acct: Account, order: Order, size: Decimal, px: Decimal, now: datetime) -> None:
        signed = size if order.side == "buy" else -size
        pos = acct.positions.get(order.symbol)
        if pos is None:
            pos = acct.positions[order.symbol] = Position(order.symbol, ZERO, ZERO)
        new_qty = pos.qty + signed
        if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
            pos.avg_entry_price = (abs(pos.qty) * pos.avg_entry_price + size * px) / abs(new_qty)
        pos.qty = new_qty
        if pos.qty == 0:
            del acct.positions[order.symbol]
        acct.cash -= signed * px
        order.filled_qty += size
        order.filled_value += size * px
        self.fills += 1
        done = order.remaining == 0
        order.status = "filled" if done else "partially_filled"
        if done:
            order.filled_at = now
        self._emit(
            acct,
            "fill" if done else "partial_fill",
            order,
            now,
            execution_id=self._uuid(),
            price=num(px),
            qty=num(size),
            position_qty=num(new_qty),
        )
        if done and order.legs:
            for leg in order.legs:
                if leg.status == "held":
                    leg.status = "new"
                    self._emit(acct, "new", leg, now)
        if order.parent is not None and order.status in ("filled", "partially_filled"):
            for other in order.parent.legs:
                if other is not order and other.is_open:
                    self._cancel(acct, other, now)

    # --- positions ----------------------------------------------------------------------

    def close_position(
        self, acct: Account, symbol: str, now: datetime, *, qty: Any = None, percentage: Any = None
    ) -> Order:
        pos = acct.positions.get(symbol)
        if pos is None:
            raise ApiError(404, NOT_FOUND, "position does not exist")
        amount = abs(pos.qty)
        if qty is not None and percentage is not None:
            raise invalid("only one of qty or percentage may be given")
        if qty is not None:
            q = _dec(qty, "qty")
            assert q is not None
            if q <= 0 or q > amount:
                raise invalid(f"qty must be > 0 and <= {num(amount)}")
            amount = q
        elif percentage is not None:
            pct = _dec(percentage, "percentage")
            assert pct is not None
            if not 0 < pct <= 100:
                raise invalid("percentage must be > 0 and <= 100")
            amount = (amount * pct / 100).quantize(QTY_STEP, ROUND_DOWN)
        body = {
            "symbol": symbol,
            "qty": str(amount),
            "side": "sell" if pos.qty > 0 else "buy",
            "type": "market",
            "time_in_force": "day",
        }
        return self.submit(acct, body, now)

    def open_orders(self, acct: Account) -> Iterable[Order]:
        return [o for o in acct.live() if o.parent is None]
