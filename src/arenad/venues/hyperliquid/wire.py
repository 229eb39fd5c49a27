"""Hyperliquid wire formats → domain values (pure: no I/O, tested on recorded mainnet data).

Prices and sizes stay exact ``Decimal``. Anything malformed raises ``SkipError`` naming the
field, so one bad item is recorded and skipped while the rest of the frame is kept.

Fills are identified by ``fill_key``: ``"hash:tid"``. Older mainnet responses (like the
recorded one in tests) carry no ``tid``; for those the key falls back to
``"hash:oid:px:sz:time"`` — one transaction hash can hold several fills of one order against
different makers, so ``hash`` alone would merge them. This is the one dedupe key: the ingest,
the backfill (``HyperliquidInfo.fills_since``) and the store (``fade_bot_events.fill_key``)
all use it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from arenad.errors import OperationalError, OrderRejected, SkipError


def _dec(raw: dict[str, Any], key: str, what: str) -> Decimal:
    v = raw.get(key)
    if not isinstance(v, str | int) or isinstance(v, bool):
        raise SkipError(f"{what}: field {key!r} missing or not a number string: {v!r}")
    try:
        d = Decimal(str(v))
    except InvalidOperation as e:
        raise SkipError(f"{what}: field {key!r} is not a number: {v!r}") from e
    if not d.is_finite():
        raise SkipError(f"{what}: field {key!r} is not finite: {v!r}")
    return d


def _int(raw: dict[str, Any], key: str, what: str, *, required: bool = True) -> int | None:
    v = raw.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise SkipError(f"{what}: field {key!r} missing or not an integer: {v!r}")
    return v


def _str(raw: dict[str, Any], key: str, what: str) -> str:
    v = raw.get(key)
    if not isinstance(v, str) or not v:
        raise SkipError(f"{what}: field {key!r} missing or not a string: {v!r}")
    return v


def direction(start: Decimal, signed_size: Decimal) -> str:
    """Hyperliquid's ``dir`` label for a perp fill that moves a position from ``start``."""
    end = start + signed_size
    if signed_size > 0:
        if start >= 0:
            return "Open Long"
        return "Short > Long" if end > 0 else "Close Short"
    if start <= 0:
        return "Open Short"
    return "Long > Short" if end < 0 else "Close Long"


@dataclass(frozen=True, slots=True)
class BotFill:
    wallet: str
    coin: str
    px: Decimal
    sz: Decimal
    """Always positive; ``side`` says which way."""
    side: str
    """"B" (bid: bought) or "A" (ask: sold)."""
    dir: str
    start_position: Decimal
    closed_pnl: Decimal
    fee: Decimal
    fee_token: str | None
    hash: str
    tid: int | None
    oid: int
    time_ms: int
    crossed: bool
    raw: dict[str, Any]

    @property
    def is_buy(self) -> bool:
        return self.side == "B"

    @property
    def signed_size(self) -> Decimal:
        return self.sz if self.is_buy else -self.sz

    @property
    def new_position(self) -> Decimal:
        """The position this fill leaves: the position-change event it implies."""
        return self.start_position + self.signed_size

    @property
    def notional(self) -> Decimal:
        return self.px * self.sz

    @property
    def key(self) -> str:
        """The fill's dedupe key (see the module doc)."""
        return fill_key(self.hash, self.tid, self.oid, self.px, self.sz, self.time_ms)


def fill_key(hash_: str, tid: int | None, oid: int, px: Decimal, sz: Decimal, time_ms: int) -> str:
    """THE dedupe key of a fill: ``hash:tid``, or ``hash:oid:px:sz:time`` without a tid."""
    if tid is not None:
        return f"{hash_}:{tid}"
    return f"{hash_}:{oid}:{px}:{sz}:{time_ms}"


def raw_fill_key(raw: Any, wallet: str) -> str:
    """``fill_key`` of a fill as received. One that does not parse is keyed by its whole
    content (so distinct bad items are all kept, and the consumer reports each)."""
    try:
        return parse_fill(raw, wallet).key
    except SkipError:
        return "unparsed:" + json.dumps(raw, sort_keys=True, default=str)


def parse_fill(raw: Any, wallet: str) -> BotFill:
    if not isinstance(raw, dict):
        raise SkipError(f"fill of {wallet}: expected an object, got {type(raw).__name__}")
    what = f"fill {raw.get('hash', '?')}/{raw.get('tid', raw.get('oid', '?'))} of {wallet}"
    side = _str(raw, "side", what)
    if side not in ("A", "B"):
        raise SkipError(f"{what}: field 'side' must be 'A' or 'B', got {side!r}")
    sz = _dec(raw, "sz", what)
    if sz <= 0:
        raise SkipError(f"{what}: field 'sz' must be positive, got {sz}")
    px = _dec(raw, "px", what)
    if px <= 0:
        raise SkipError(f"{what}: field 'px' must be positive, got {px}")
    crossed = raw.get("crossed", False)
    if not isinstance(crossed, bool):
        raise SkipError(f"{what}: field 'crossed' must be a boolean, got {crossed!r}")
    fee_token = raw.get("feeToken")
    return BotFill(
        wallet=wallet.lower(),
        coin=_str(raw, "coin", what),
        px=px,
        sz=sz,
        side=side,
        dir=_str(raw, "dir", what),
        start_position=_dec(raw, "startPosition", what),
        closed_pnl=_dec(raw, "closedPnl", what),
        fee=_dec(raw, "fee", what),
        fee_token=fee_token if isinstance(fee_token, str) else None,
        hash=_str(raw, "hash", what),
        tid=_int(raw, "tid", what, required=False),
        oid=_int(raw, "oid", what) or 0,
        time_ms=_int(raw, "time", what) or 0,
        crossed=crossed,
        raw=raw,
    )


def parse_fills(raws: list[Any], wallet: str) -> tuple[list[BotFill], list[str]]:
    """Every parseable fill, and one error line per item skipped (never all-or-nothing)."""
    fills, errors = [], []
    for r in raws:
        try:
            fills.append(parse_fill(r, wallet))
        except SkipError as e:
            errors.append(str(e))
    return fills, errors


@dataclass(frozen=True, slots=True)
class Asset:
    index: int
    name: str
    sz_decimals: int
    max_leverage: int


def parse_meta(meta: Any) -> dict[str, Asset]:
    if not isinstance(meta, dict) or not isinstance(meta.get("universe"), list):
        raise SkipError("meta: no 'universe' list")
    out = {}
    for i, a in enumerate(meta["universe"]):
        what = f"meta.universe[{i}]"
        if not isinstance(a, dict):
            raise SkipError(f"{what}: not an object")
        name = _str(a, "name", what)
        out[name] = Asset(
            i, name, _int(a, "szDecimals", what) or 0, _int(a, "maxLeverage", what) or 1
        )
    return out


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """One entry of an /exchange order reply's ``statuses``."""

    kind: str
    """resting | filled | error"""
    oid: int | None = None
    total_sz: Decimal | None = None
    avg_px: Decimal | None = None
    error: str | None = None


def parse_order_reply(reply: Any) -> list[OrderStatus]:
    """Per-order outcomes. A refused envelope (``"status": "err"``) refuses every order."""
    if not isinstance(reply, dict):
        raise OperationalError(f"/exchange reply is not an object: {reply!r}")
    if reply.get("status") == "err":
        raise OrderRejected(f"/exchange refused the action: {reply.get('response')}")
    if reply.get("status") != "ok":
        raise OperationalError(f"/exchange reply without ok/err status: {reply!r}")
    try:
        statuses = reply["response"]["data"]["statuses"]
    except (KeyError, TypeError) as e:
        raise OperationalError(f"/exchange ok reply without statuses: {reply!r}") from e
    out = []
    for i, s in enumerate(statuses):
        what = f"statuses[{i}]"
        if isinstance(s, dict) and isinstance(s.get("error"), str):
            out.append(OrderStatus("error", error=s["error"]))
        elif isinstance(s, dict) and isinstance(s.get("filled"), dict):
            f = s["filled"]
            out.append(
                OrderStatus(
                    "filled", _int(f, "oid", what), _dec(f, "totalSz", what), _dec(f, "avgPx", what)
                )
            )
        elif isinstance(s, dict) and isinstance(s.get("resting"), dict):
            out.append(OrderStatus("resting", _int(s["resting"], "oid", what)))
        else:
            raise OperationalError(f"/exchange {what}: unknown status {s!r}")
    return out
