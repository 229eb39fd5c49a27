"""The simulated Hyperliquid clearinghouse: accounts, cross-margin positions, a matching engine
and the records `/info` and `/ws` serve.

Pure state machine: no sockets, no clock reads. Every mutating call takes `now_ms` and returns
what happened; events for the websocket (fills, order updates, trades, funding) go to the
`listener` callback. The aiohttp layer owns the clock and the sockets.

An incoming order walks a merged book: other users' resting orders first at equal prices
(price-time priority), then the synthetic liquidity of `Market`. Resting orders also fill as
makers when the synthetic book moves through their price. A user never trades with their own
resting order (it is skipped, as self-trade prevention would do).

Error strings are Hyperliquid's (docs: "Error responses"); where the docs give none (nonce and
duplicate-cloid wording), the closest observed text is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from arenad.sim.market import Market, wire, wire_px
from arenad.venues.hyperliquid.rules import is_valid_price, is_valid_size

Tif = Literal["Gtc", "Ioc", "Alo"]
MIN_NOTIONAL = Decimal(10)
MAX_NONCES = 100
NONCE_PAST_MS = 2 * 86_400_000
NONCE_FUTURE_MS = 86_400_000
USER_FILLS_LIMIT = 2000
FILLS_BY_TIME_LIMIT = 2000
FILLS_RETAINED = 10_000
MAKER_ADDRESS = "0x" + "5" * 40
"""Counterparty of fills against synthetic liquidity (shown in public `trades`)."""

Event = tuple[str, str, Any]
"""(kind, key, payload): kind is userFills/orderUpdates/userEvents/trades; key is the user
address (lowercase) or the coin."""
Listener = Callable[[Event], None]


class ActionError(Exception):
    """The whole action is refused: `{"status": "err", "response": <message>}`."""


@dataclass(slots=True)
class Order:
    oid: int
    user: str
    coin: str
    is_buy: bool
    limit_px: Decimal
    orig_sz: Decimal
    sz: Decimal
    tif: Tif
    reduce_only: bool
    cloid: str | None
    timestamp: int
    status: str = "open"
    status_ts: int = 0

    def wire_basic(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "coin": self.coin,
            "side": "B" if self.is_buy else "A",
            "limitPx": wire_px(self.limit_px),
            "sz": wire(self.sz),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "origSz": wire(self.orig_sz),
        }
        if self.cloid is not None:
            out["cloid"] = self.cloid
        return out

    def wire_full(self) -> dict[str, Any]:
        out = self.wire_basic()
        out.update(
            {
                "triggerCondition": "N/A",
                "isTrigger": False,
                "triggerPx": "0.0",
                "children": [],
                "isPositionTpsl": False,
                "reduceOnly": self.reduce_only,
                "orderType": "Limit",
                "tif": self.tif,
                "cloid": self.cloid,
            }
        )
        return out


@dataclass(slots=True)
class Position:
    szi: Decimal = Decimal(0)
    entry_px: Decimal = Decimal(0)
    funding_all_time: Decimal = Decimal(0)
    funding_since_open: Decimal = Decimal(0)


@dataclass(slots=True)
class Account:
    address: str
    balance: Decimal
    """USDC: deposits + realized PnL − fees − funding paid."""
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    nonces: list[int] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[int, Order] = field(default_factory=dict)
    cloids: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A parsed order wire {"a","b","p","s","r","t","c"}."""

    asset: int
    is_buy: bool
    px: Decimal
    sz: Decimal
    reduce_only: bool
    tif: Tif
    cloid: str | None


def parse_order_wire(w: Any) -> OrderRequest:
    """Raise ValueError naming the bad field."""
    if not isinstance(w, dict):
        raise ValueError("order must be an object")
    try:
        asset = w["a"]
        is_buy = w["b"]
        px = Decimal(str(w["p"]))
        sz = Decimal(str(w["s"]))
        reduce_only = w["r"]
        t = w["t"]
    except KeyError as e:
        raise ValueError(f"order is missing field {e.args[0]!r}") from None
    except InvalidOperation:
        raise ValueError("order price and size must be decimal strings") from None
    if not isinstance(asset, int) or isinstance(asset, bool):
        raise ValueError("order field 'a' must be an asset index")
    if not isinstance(is_buy, bool) or not isinstance(reduce_only, bool):
        raise ValueError("order fields 'b' and 'r' must be booleans")
    if not isinstance(t, dict) or "limit" not in t:
        raise ValueError("only limit orders are simulated (field 't' must have 'limit')")
    tif = t["limit"].get("tif") if isinstance(t["limit"], dict) else None
    if tif not in ("Gtc", "Ioc", "Alo"):
        raise ValueError(f"unknown tif {tif!r}")
    cloid = w.get("c")
    if cloid is not None:
        cloid = _parse_cloid(cloid)
    return OrderRequest(asset, is_buy, px, sz, reduce_only, tif, cloid)


def _parse_cloid(value: Any) -> str:
    if (
        not isinstance(value, str)
        or len(value) != 34
        or not value.startswith("0x")
        or any(ch not in "0123456789abcdefABCDEF" for ch in value[2:])
    ):
        raise ValueError(f"cloid must be 0x + 32 hex digits, got {value!r}")
    return value.lower()


class Clearinghouse:
    def __init__(
        self,
        market: Market,
        *,
        seed: int,
        starting_usdc: Decimal,
        taker_fee: Decimal,
        maker_fee: Decimal,
        listener: Listener | None = None,
    ) -> None:
        self.market = market
        self.seed = seed
        self.starting_usdc = starting_usdc
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self.listener: Listener = listener or (lambda _e: None)
        self.accounts: dict[str, Account] = {}
        self.coins = market.names
        self.asset_of = {c: i for i, c in enumerate(self.coins)}
        self._next_oid = 10_000_000_000 + (seed % 1_000_000) * 1000
        self._next_tid = 100_000_000_000_000 + (seed % 1_000_000) * 1000
        self.resting: dict[str, list[Order]] = {c: [] for c in self.coins}
        self.fill_count = 0

    # --- accounts -------------------------------------------------------------------------

    def account(self, address: str, *, create: bool = True) -> Account | None:
        key = address.lower()
        acct = self.accounts.get(key)
        if acct is None and create:
            acct = Account(key, self.starting_usdc)
            self.accounts[key] = acct
        return acct

    def fund(self, address: str, usdc: Decimal) -> Account:
        acct = self.account(address)
        assert acct is not None
        acct.balance += usdc
        return acct

    def check_nonce(self, acct: Account, nonce: int, now_ms: int) -> None:
        """Hyperliquid's rule: the 100 highest nonces are kept per signer; a new one must be
        above the smallest of them, unused, and within (now − 2 days, now + 1 day)."""
        if not isinstance(nonce, int) or isinstance(nonce, bool):
            raise ActionError("Invalid nonce: must be an integer")
        if nonce <= now_ms - NONCE_PAST_MS or nonce >= now_ms + NONCE_FUTURE_MS:
            raise ActionError(f"Invalid nonce: nonce {nonce} is too far from the current time")
        if nonce in acct.nonces:
            raise ActionError(f"Invalid nonce: duplicate nonce {nonce}")
        if len(acct.nonces) >= MAX_NONCES and nonce < acct.nonces[0]:
            raise ActionError(f"Invalid nonce: nonce {nonce} is too low")
        acct.nonces.append(nonce)
        acct.nonces.sort()
        if len(acct.nonces) > MAX_NONCES:
            del acct.nonces[0]

    # --- orders ---------------------------------------------------------------------------

    def place(
        self, user: str, wires: Iterable[Any], now_ms: int, *, tx_hash: str | None = None
    ) -> list[Any]:
        """Per-order statuses, in order: {"resting": ...}, {"filled": ...} or {"error": ...}."""
        acct = self.account(user)
        assert acct is not None
        statuses: list[Any] = []
        for w in wires:
            try:
                req = parse_order_wire(w)
            except ValueError as e:
                statuses.append({"error": f"Invalid order: {e}"})
                continue
            statuses.append(self._place_one(acct, req, now_ms, tx_hash))
        return statuses

    def _place_one(  # noqa: C901
        self, acct: Account, req: OrderRequest, now_ms: int, tx_hash: str | None
    ) -> dict[str, Any]:
        if not 0 <= req.asset < len(self.coins):
            return {"error": f"Asset {req.asset} is out of range."}
        coin = self.coins[req.asset]
        spec = self.market.spec(coin)
        if not is_valid_size(req.sz, spec.sz_decimals):
            return {"error": "Order has invalid size."}
        if not is_valid_price(req.px, spec.sz_decimals):
            return {"error": "Price must be divisible by tick size."}
        if req.cloid is not None and req.cloid in acct.cloids:
            return {"error": "Order has duplicate cloid."}
        pos = acct.positions.get(coin, Position())
        sz = req.sz
        if req.reduce_only:
            closes = (pos.szi > 0 and not req.is_buy) or (pos.szi < 0 and req.is_buy)
            if not closes:
                return {"error": "Reduce only order would increase position."}
            sz = min(sz, abs(pos.szi))
        elif req.px * sz < MIN_NOTIONAL:
            return {"error": "Order must have minimum value of $10."}
        best_opposite = self._best_opposite(coin, req.is_buy, acct.address)
        crosses = best_opposite is not None and (
            (req.is_buy and req.px >= best_opposite) or (not req.is_buy and req.px <= best_opposite)
        )
        if req.tif == "Alo" and crosses:
            bid, ask = self.market.best_bid(coin), self.market.best_ask(coin)
            return {
                "error": "Post only order would have immediately matched, "
                f"bbo was {wire(bid)}@{wire(ask)}"
            }
        if not req.reduce_only and not self._margin_ok(acct, coin, req.is_buy, sz, req.px):
            return {"error": "Insufficient margin to place order."}
        if req.tif == "Ioc" and not crosses:
            return {"error": "Order could not immediately match against any resting orders."}

        oid = self._next_oid
        self._next_oid += 1
        order = Order(
            oid,
            acct.address,
            coin,
            req.is_buy,
            req.px,
            sz,
            sz,
            req.tif,
            req.reduce_only,
            req.cloid,
            now_ms,
            "open",
            now_ms,
        )
        acct.orders[oid] = order
        if req.cloid is not None:
            acct.cloids[req.cloid] = oid
        tx = tx_hash or self._hash("order", oid)
        filled_sz, notional = (
            self._match(order, now_ms, tx) if crosses else (Decimal(0), Decimal(0))
        )
        ident: dict[str, Any] = {"oid": oid}
        if req.cloid is not None:
            ident["cloid"] = req.cloid
        if order.sz == 0:
            self._set_status(order, "filled", now_ms)
            return {
                "filled": {"totalSz": wire(filled_sz), "avgPx": wire(notional / filled_sz), **ident}
            }
        if req.tif == "Ioc":
            # Partly filled IOC: the rest is canceled; the fill is what the caller gets.
            self._set_status(order, "canceled", now_ms)
            return {
                "filled": {"totalSz": wire(filled_sz), "avgPx": wire(notional / filled_sz), **ident}
            }
        self.resting[coin].append(order)
        self._emit_order(order, now_ms)
        return {"resting": ident}

    def _best_opposite(self, coin: str, is_buy: bool, user: str) -> Decimal | None:
        synthetic = self.market.best_ask(coin) if is_buy else self.market.best_bid(coin)
        others = [o.limit_px for o in self.resting[coin] if o.is_buy != is_buy and o.user != user]
        if not others:
            return synthetic
        return min([synthetic, *others]) if is_buy else max([synthetic, *others])

    def _margin_ok(self, acct: Account, coin: str, is_buy: bool, sz: Decimal, px: Decimal) -> bool:
        pos = acct.positions.get(coin, Position())
        signed = sz if is_buy else -sz
        # Only the part that increases exposure needs margin.
        new_abs = abs(pos.szi + signed)
        increase = max(Decimal(0), new_abs - abs(pos.szi))
        if increase == 0:
            return True
        lev = Decimal(self._leverage(acct, coin))
        summary = self._summary(acct)
        open_margin = sum(
            (o.sz * o.limit_px / Decimal(self._leverage(acct, o.coin)))
            for o in acct.orders.values()
            if o.status == "open" and not o.reduce_only
        )
        free = summary["accountValue"] - summary["totalMarginUsed"] - open_margin
        return increase * px / lev <= free

    def _leverage(self, acct: Account, coin: str) -> int:
        return acct.leverage.get(coin, min(20, self.market.spec(coin).max_leverage))

    def _match(self, taker: Order, now_ms: int, tx: str) -> tuple[Decimal, Decimal]:
        """Walk resting orders of other users and synthetic liquidity; return (size, notional)."""
        filled = Decimal(0)
        notional = Decimal(0)
        coin = taker.coin
        while taker.sz > 0:
            makers = sorted(
                (
                    o
                    for o in self.resting[coin]
                    if o.is_buy != taker.is_buy and o.user != taker.user and o.status == "open"
                ),
                key=lambda o: (o.limit_px if taker.is_buy else -o.limit_px, o.timestamp, o.oid),
            )
            synthetic = self.market.best_ask(coin) if taker.is_buy else self.market.best_bid(coin)
            maker = makers[0] if makers else None
            use_maker = maker is not None and (
                maker.limit_px <= synthetic if taker.is_buy else maker.limit_px >= synthetic
            )
            if use_maker:
                assert maker is not None
                px = maker.limit_px
                if (taker.is_buy and px > taker.limit_px) or (
                    not taker.is_buy and px < taker.limit_px
                ):
                    break
                q = min(taker.sz, maker.sz)
                tid = self._tid()
                self._fill(taker, px, q, crossed=True, now_ms=now_ms, tx=tx, tid=tid)
                self._fill(maker, px, q, crossed=False, now_ms=now_ms, tx=tx, tid=tid)
                self._trade(coin, taker.is_buy, taker.user, maker.user, px, q, now_ms, tx, tid)
                filled += q
                notional += px * q
                if maker.sz == 0:
                    self._set_status(maker, "filled", now_ms)
                    self.resting[coin].remove(maker)
                continue
            # One synthetic level at a time: a better-priced user order may sit behind it.
            takes = self.market.take(coin, taker.is_buy, taker.sz, taker.limit_px, max_levels=1)
            if not takes:
                break
            t = takes[0]
            tid = self._tid()
            self._fill(taker, t.px, t.sz, crossed=True, now_ms=now_ms, tx=tx, tid=tid)
            self._trade(coin, taker.is_buy, taker.user, MAKER_ADDRESS, t.px, t.sz, now_ms, tx, tid)
            filled += t.sz
            notional += t.px * t.sz
        return filled, notional

    def cancel(
        self, user: str, cancels: Iterable[Any], now_ms: int, *, by_cloid: bool
    ) -> list[Any]:
        acct = self.account(user)
        assert acct is not None
        out: list[Any] = []
        for c in cancels:
            order = self._find_for_cancel(acct, c, by_cloid)
            if order is None or order.status != "open":
                out.append({"error": "Order was never placed, already canceled, or filled."})
                continue
            self._set_status(order, "canceled", now_ms)
            if order in self.resting[order.coin]:
                self.resting[order.coin].remove(order)
            out.append("success")
        return out

    def _find_for_cancel(self, acct: Account, c: Any, by_cloid: bool) -> Order | None:
        if not isinstance(c, dict):
            return None
        if by_cloid:
            asset, ref = c.get("asset"), c.get("cloid")
            try:
                oid = acct.cloids.get(_parse_cloid(ref))
            except ValueError:
                return None
        else:
            asset, oid = c.get("a"), c.get("o")
        order = acct.orders.get(oid) if isinstance(oid, int) else None
        if order is None or self.asset_of.get(order.coin) != asset:
            return None
        return order

    def inject_fill(
        self, user: str, coin: str, is_buy: bool, px: Decimal, sz: Decimal, now_ms: int
    ) -> None:
        """A taker fill at a given price, outside the book (replay of recorded trades)."""
        acct = self.account(user)
        assert acct is not None
        oid = self._next_oid
        self._next_oid += 1
        order = Order(
            oid,
            acct.address,
            coin,
            is_buy,
            px,
            sz,
            sz,
            "Ioc",
            False,
            None,
            now_ms,
            "open",
            now_ms,
        )
        acct.orders[oid] = order
        tx = self._hash("replay", oid)
        tid = self._tid()
        self._fill(order, px, sz, crossed=True, now_ms=now_ms, tx=tx, tid=tid)
        self._trade(coin, is_buy, acct.address, MAKER_ADDRESS, px, sz, now_ms, tx, tid)
        self._set_status(order, "filled", now_ms)

    # --- the market moves -----------------------------------------------------------------

    def on_market_step(self, now_ms: int) -> None:
        """Resting orders that the synthetic book has moved through fill as makers."""
        for coin in self.coins:
            if not self.resting[coin]:
                continue
            for order in list(self.resting[coin]):
                touch = self.market.best_ask(coin) if order.is_buy else self.market.best_bid(coin)
                if (order.is_buy and touch <= order.limit_px) or (
                    not order.is_buy and touch >= order.limit_px
                ):
                    takes = self.market.take(coin, order.is_buy, order.sz, order.limit_px)
                    q = sum((t.sz for t in takes), Decimal(0))
                    if q <= 0:
                        continue
                    tx = self._hash("maker", order.oid, now_ms)
                    tid = self._tid()
                    self._fill(
                        order, order.limit_px, q, crossed=False, now_ms=now_ms, tx=tx, tid=tid
                    )
                    # The synthetic side took liquidity: it is the aggressor.
                    self._trade(
                        coin,
                        not order.is_buy,
                        MAKER_ADDRESS,
                        order.user,
                        order.limit_px,
                        q,
                        now_ms,
                        tx,
                        tid,
                    )
                    if order.sz == 0:
                        self._set_status(order, "filled", now_ms)
                        self.resting[coin].remove(order)

    def apply_funding(self, now_ms: int) -> None:
        """Pay one funding interval on every open position: longs pay shorts when positive."""
        for acct in self.accounts.values():
            for coin, pos in acct.positions.items():
                if pos.szi == 0:
                    continue
                rate = self.market.funding_rate(coin)
                px = self.market.mark(coin)
                usdc = -(pos.szi * px * rate).quantize(Decimal("0.000001"))
                acct.balance += usdc
                pos.funding_all_time -= usdc
                pos.funding_since_open -= usdc
                self.listener(
                    (
                        "userEvents",
                        acct.address,
                        {
                            "funding": {
                                "time": now_ms,
                                "coin": coin,
                                "usdc": wire(usdc),
                                "szi": wire(pos.szi),
                                "fundingRate": wire(rate),
                            }
                        },
                    )
                )

    # --- fills ----------------------------------------------------------------------------

    def _tid(self) -> int:
        self._next_tid += 1
        return self._next_tid

    def _hash(self, *parts: object) -> str:
        text = ":".join(str(p) for p in (self.seed, *parts))
        return "0x" + hashlib.sha256(text.encode()).hexdigest()

    def _fill(
        self,
        order: Order,
        px: Decimal,
        sz: Decimal,
        *,
        crossed: bool,
        now_ms: int,
        tx: str,
        tid: int,
    ) -> None:
        acct = self.accounts[order.user]
        pos = acct.positions.setdefault(order.coin, Position())
        start = pos.szi
        signed = sz if order.is_buy else -sz
        closed_pnl = Decimal(0)
        new = start + signed
        if start == 0 or (start > 0) == order.is_buy:
            # Opening or adding: average the entry.
            total = abs(start) + sz
            pos.entry_px = (pos.entry_px * abs(start) + px * sz) / total
            if start == 0:
                pos.funding_since_open = Decimal(0)
        else:
            closing = min(sz, abs(start))
            direction = Decimal(1) if start > 0 else Decimal(-1)
            closed_pnl = (px - pos.entry_px) * closing * direction
            if abs(signed) > abs(start):  # flipped through zero
                pos.entry_px = px
                pos.funding_since_open = Decimal(0)
            elif new == 0:
                pos.entry_px = Decimal(0)
        pos.szi = new
        fee = (px * sz * (self.taker_fee if crossed else self.maker_fee)).quantize(
            Decimal("0.000001")
        )
        acct.balance += closed_pnl - fee
        order.sz -= sz
        fill: dict[str, Any] = {
            "coin": order.coin,
            "px": wire_px(px),
            "sz": wire(sz),
            "side": "B" if order.is_buy else "A",
            "time": now_ms,
            "startPosition": wire(start),
            "dir": _direction(start, new, order.is_buy),
            "closedPnl": wire(closed_pnl.quantize(Decimal("0.000001"))),
            "hash": tx,
            "oid": order.oid,
            "crossed": crossed,
            "fee": wire(fee),
            "tid": tid,
            "feeToken": "USDC",
        }
        if order.cloid is not None:
            fill["cloid"] = order.cloid
        acct.fills.append(fill)
        if len(acct.fills) > FILLS_RETAINED:
            del acct.fills[: len(acct.fills) - FILLS_RETAINED]
        self.fill_count += 1
        self.listener(("userFills", acct.address, fill))
        if order.sz > 0 and order.status == "open":
            self._emit_order(order, now_ms)

    def _trade(
        self,
        coin: str,
        aggressor_buys: bool,
        aggressor: str,
        other: str,
        px: Decimal,
        sz: Decimal,
        now_ms: int,
        tx: str,
        tid: int,
    ) -> None:
        buyer, seller = (aggressor, other) if aggressor_buys else (other, aggressor)
        self.listener(
            (
                "trades",
                coin,
                {
                    "coin": coin,
                    "side": "B" if aggressor_buys else "A",
                    "px": wire_px(px),
                    "sz": wire(sz),
                    "hash": tx,
                    "time": now_ms,
                    "tid": tid,
                    "users": [buyer, seller],
                },
            )
        )

    def _set_status(self, order: Order, status: str, now_ms: int) -> None:
        order.status = status
        order.status_ts = now_ms
        self._emit_order(order, now_ms)

    def _emit_order(self, order: Order, now_ms: int) -> None:
        self.listener(
            (
                "orderUpdates",
                order.user,
                {"order": order.wire_basic(), "status": order.status, "statusTimestamp": now_ms},
            )
        )

    # --- queries (the /info shapes) -------------------------------------------------------

    def _summary(self, acct: Account) -> dict[str, Decimal]:
        upnl = Decimal(0)
        ntl = Decimal(0)
        signed_ntl = Decimal(0)
        margin = Decimal(0)
        for coin, pos in acct.positions.items():
            if pos.szi == 0:
                continue
            mark = self.market.mark(coin)
            upnl += (mark - pos.entry_px) * pos.szi
            ntl += abs(pos.szi) * mark
            signed_ntl += pos.szi * mark
            margin += abs(pos.szi) * mark / Decimal(self._leverage(acct, coin))
        value = acct.balance + upnl
        return {
            "accountValue": value,
            "totalNtlPos": ntl,
            "totalRawUsd": value - signed_ntl,
            "totalMarginUsed": margin,
        }

    def clearinghouse_state(self, user: str, now_ms: int) -> dict[str, Any]:
        acct = self.account(user, create=False) or Account(user.lower(), Decimal(0))
        s = self._summary(acct)
        summary = {k: wire(v.quantize(Decimal("0.000001"))) for k, v in s.items()}
        positions = []
        maint_total = Decimal(0)
        for coin, pos in acct.positions.items():
            if pos.szi == 0:
                continue
            spec = self.market.spec(coin)
            mark = self.market.mark(coin)
            lev = self._leverage(acct, coin)
            value = abs(pos.szi) * mark
            upnl = (mark - pos.entry_px) * pos.szi
            margin_used = value / Decimal(lev)
            maint = value / Decimal(2 * spec.max_leverage)
            maint_total += maint
            # Cross liquidation price with this position alone carrying the account.
            liq_move = (s["accountValue"] - maint) / abs(pos.szi)
            liq = mark - liq_move if pos.szi > 0 else mark + liq_move
            positions.append(
                {
                    "type": "oneWay",
                    "position": {
                        "coin": coin,
                        "szi": wire(pos.szi),
                        "leverage": {"type": "cross", "value": lev},
                        "entryPx": wire_px(_sig(pos.entry_px)),
                        "positionValue": wire(value.quantize(Decimal("0.000001"))),
                        "unrealizedPnl": wire(upnl.quantize(Decimal("0.000001"))),
                        "returnOnEquity": wire(
                            (upnl / (abs(pos.szi) * pos.entry_px / Decimal(lev))).quantize(
                                Decimal("0.00000001")
                            )
                        ),
                        "liquidationPx": wire(_sig(liq)) if liq > 0 else None,
                        "marginUsed": wire(margin_used.quantize(Decimal("0.000001"))),
                        "maxLeverage": spec.max_leverage,
                        "maxTradeSzs": [wire(_max_trade(s, mark, lev, spec.sz_decimals))] * 2,
                        "cumFunding": {
                            "allTime": wire(pos.funding_all_time),
                            "sinceOpen": wire(pos.funding_since_open),
                            "sinceChange": wire(pos.funding_since_open),
                        },
                    },
                }
            )
        return {
            "marginSummary": summary,
            "crossMarginSummary": dict(summary),
            "crossMaintenanceMarginUsed": wire(maint_total.quantize(Decimal("0.000001"))),
            "withdrawable": wire(
                max(Decimal(0), s["accountValue"] - s["totalMarginUsed"]).quantize(
                    Decimal("0.000001")
                )
            ),
            "assetPositions": positions,
            "time": now_ms,
        }

    def open_orders(self, user: str) -> list[dict[str, Any]]:
        acct = self.account(user, create=False)
        if acct is None:
            return []
        orders = [o for o in acct.orders.values() if o.status == "open"]
        orders.sort(key=lambda o: o.oid, reverse=True)
        return [o.wire_basic() for o in orders]

    def order_status(self, user: str, ref: Any) -> dict[str, Any]:
        acct = self.account(user, create=False)
        order: Order | None = None
        if acct is not None:
            if isinstance(ref, int) and not isinstance(ref, bool):
                order = acct.orders.get(ref)
            elif isinstance(ref, str):
                try:
                    oid = acct.cloids.get(_parse_cloid(ref))
                except ValueError:
                    oid = None
                order = acct.orders.get(oid) if oid is not None else None
        if order is None:
            return {"status": "unknownOid"}
        return {
            "status": "order",
            "order": {
                "order": order.wire_full(),
                "status": order.status,
                "statusTimestamp": order.status_ts,
            },
        }

    def user_fills(self, user: str) -> list[dict[str, Any]]:
        """The 2,000 most recent fills, newest first (as mainnet returns them)."""
        acct = self.account(user, create=False)
        if acct is None:
            return []
        return list(reversed(acct.fills[-USER_FILLS_LIMIT:]))

    def user_fills_by_time(
        self, user: str, start_ms: int, end_ms: int | None
    ) -> list[dict[str, Any]]:
        """Fills with start ≤ time ≤ end (both inclusive), oldest first, at most 2,000: the
        oldest 2,000 of the window, so a client pages forward by restarting at the newest
        time it received. Only the 10,000 most recent fills are retained."""
        acct = self.account(user, create=False)
        if acct is None:
            return []
        out = [
            f
            for f in acct.fills
            if f["time"] >= start_ms and (end_ms is None or f["time"] <= end_ms)
        ]
        return out[:FILLS_BY_TIME_LIMIT]


def _direction(start: Decimal, new: Decimal, is_buy: bool) -> str:
    if start == 0:
        return "Open Long" if is_buy else "Open Short"
    if start > 0:
        if is_buy:
            return "Open Long"
        return "Long > Short" if new < 0 else "Close Long"
    if not is_buy:
        return "Open Short"
    return "Short > Long" if new > 0 else "Close Short"


def _sig(x: Decimal) -> Decimal:
    """Six significant figures, as mainnet prints derived prices."""
    if x == 0:
        return x
    return x.quantize(Decimal(1).scaleb(x.adjusted() - 5))


def _max_trade(s: dict[str, Decimal], mark: Decimal, lev: int, sz_decimals: int) -> Decimal:
    free = max(Decimal(0), s["accountValue"] - s["totalMarginUsed"])
    return (free * Decimal(lev) / mark).quantize(Decimal(1).scaleb(-sz_decimals))
