"""nof1 API responses → typed rows, with no I/O (sans-I/O: the poller and the importer feed it).

Why this shape: the API is undocumented and changes under us, so each row is checked on its
own. A row whose field has the wrong type is skipped with a :class:`RowError` naming the
endpoint, the row's id and the field, and the rest of the response is kept; a field we do not
know is kept in the row's ``raw`` JSON. Only a body that is not JSON, or not the expected
envelope, fails the whole response (:class:`ResponseError`).

Numbers are read with ``parse_float=Decimal`` so prices, sizes and dollars keep the API's own
digits (stored as TEXT); timestamps (epoch seconds, or milliseconds where the API uses them)
become the database's ISO-8601 UTC text, converted exactly to the microsecond.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

ENDPOINTS = (
    "leaderboard",
    "trades",
    "account-totals",
    "since-inception-values",
    "conversations",
    "analytics",
    "crypto-prices",
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ResponseError(ValueError):
    """The whole response is unusable (not JSON, or not the endpoint's envelope)."""

    def __init__(self, endpoint: str, message: str) -> None:
        super().__init__(f"/{endpoint}: {message}")
        self.endpoint = endpoint
        self.reason = message


@dataclass(frozen=True, slots=True)
class RowError:
    """One skipped row: which endpoint, which row, which field, and why."""

    endpoint: str
    row_id: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"/{self.endpoint} row {self.row_id}: field {self.field!r}: {self.message}"


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- JSON -------------------------------------------------------------------------------------


def loads(body: bytes | str, endpoint: str) -> Any:
    """The body as JSON with exact decimals; a non-JSON body (an HTML error page, a truncated
    answer) is a :class:`ResponseError`."""
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as e:
        text = body[:80] if isinstance(body, str) else body[:80].decode("utf-8", "replace")
        raise ResponseError(endpoint, f"body is not JSON ({e}; starts {text!r})") from e


def _jsonable(o: Any) -> Any:
    if isinstance(o, Decimal):  # only JSON floats are read as Decimal: write them back so
        return float(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def dumps(o: Any) -> str:
    """JSON text of a parsed value (decimals written back as JSON numbers). A lone surrogate
    (a ``\\ud800`` escape in the wire JSON) cannot be stored as UTF-8: then the text is
    written ASCII-escaped, which keeps it exactly."""
    text = json.dumps(o, default=_jsonable, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(o, default=_jsonable, ensure_ascii=True, separators=(",", ":"))
    return text


def _utf8(s: str) -> str:
    """Text SQLite can store: lone surrogates become U+FFFD (the raw JSON keeps the original)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s)
    return s


def epoch_iso(value: Decimal | int) -> str:
    """Epoch seconds (or milliseconds, when too large to be seconds) as ISO-8601 UTC text."""
    d = Decimal(value)
    if abs(d) > Decimal(100_000_000_000):  # after year 5138 in seconds: it is milliseconds
        d = d / 1000
    us = int((d * 1_000_000).to_integral_value(ROUND_HALF_EVEN))
    return (_EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- one row's fields -------------------------------------------------------------------------


class _Row:
    """Typed access to one JSON object's fields; a wrong type raises :class:`_FieldError`."""

    def __init__(self, data: Any, prefix: str = "") -> None:
        if not isinstance(data, dict):
            raise _FieldError(prefix or "(row)", f"expected an object, got {_kind(data)}")
        self.d: dict[str, Any] = data
        self.prefix = prefix

    def _get(self, name: str, required: bool) -> Any:
        v = self.d.get(name)
        if v is None and required:
            raise _FieldError(self.prefix + name, "missing" if name not in self.d else "null")
        return v

    def dec(self, name: str, required: bool = True) -> Decimal | None:
        v = self._get(name, required)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | Decimal):
            raise _FieldError(self.prefix + name, f"expected a number, got {_kind(v)}")
        d = Decimal(v)
        if not d.is_finite():
            raise _FieldError(self.prefix + name, f"not a finite number: {v}")
        return d

    def req_dec(self, name: str) -> Decimal:
        d = self.dec(name)
        assert d is not None
        return d

    def int_(self, name: str, required: bool = True) -> int | None:
        v = self._get(name, required)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            if not (isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value()):
                raise _FieldError(self.prefix + name, f"expected a whole number, got {_kind(v)}")
            v = int(v)
        if not -(2**63) <= v < 2**63:  # SQLite INTEGER
            raise _FieldError(self.prefix + name, f"whole number out of range: {v}")
        return v

    def str_(self, name: str, required: bool = True) -> str | None:
        v = self._get(name, required)
        if v is None:
            return None
        if not isinstance(v, str):
            raise _FieldError(self.prefix + name, f"expected a string, got {_kind(v)}")
        return _utf8(v)

    def req_str(self, name: str) -> str:
        s = self.str_(name)
        assert s is not None
        if not s:
            raise _FieldError(self.prefix + name, "empty string")
        return s

    def bool_(self, name: str) -> bool | None:
        v = self._get(name, False)
        if v is None:
            return None
        if not isinstance(v, bool):
            raise _FieldError(self.prefix + name, f"expected true/false, got {_kind(v)}")
        return v

    def ts(self, name: str, required: bool = True) -> str | None:
        d = self.dec(name, required)
        if d is None:
            return None
        try:
            return epoch_iso(d)
        except (OverflowError, ValueError):
            raise _FieldError(self.prefix + name, f"not an epoch time: {d}") from None

    def req_ts(self, name: str) -> str:
        t = self.ts(name)
        assert t is not None
        return t

    def obj(self, name: str) -> dict[str, Any]:
        v = self._get(name, False)
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise _FieldError(self.prefix + name, f"expected an object, got {_kind(v)}")
        return v


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"boolean {v}".lower()
    if isinstance(v, int | Decimal):
        return f"number {v}"
    if isinstance(v, str):
        return f"string {v[:40]!r}"
    if isinstance(v, list):
        return "an array"
    return "an object" if isinstance(v, dict) else type(v).__name__


# --- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    model_id: str
    rank: int
    equity: Decimal
    return_pct: Decimal
    num_trades: int
    num_wins: int | None
    num_losses: int | None
    win_dollars: Decimal | None
    lose_dollars: Decimal | None
    sharpe: Decimal | None
    raw: str


@dataclass(frozen=True, slots=True)
class TradeRow:
    trade_id: str
    nof1_id: str | None
    model_id: str
    symbol: str
    side: str
    trade_type: str | None
    quantity: Decimal
    entry_sz: Decimal | None
    exit_sz: Decimal | None
    leverage: int
    confidence: Decimal | None
    entry_price: Decimal
    exit_price: Decimal | None
    opened_at: str
    closed_at: str | None
    entry_oid: int | None
    exit_oid: int | None
    entry_tid: int | None
    exit_tid: int | None
    entry_crossed: bool | None
    exit_crossed: bool | None
    entry_commission: Decimal | None
    exit_commission: Decimal | None
    total_commission: Decimal | None
    entry_closed_pnl: Decimal | None
    exit_closed_pnl: Decimal | None
    realized_gross_pnl: Decimal | None
    realized_net_pnl: Decimal | None
    exit_plan: str
    entry_liquidation: str | None
    exit_liquidation: str | None
    raw: str

    @property
    def status(self) -> str:
        if self.closed_at is None:
            return "open"
        return "cancelled" if self.exit_liquidation is not None else "closed"

    @property
    def pnl_percent(self) -> float | None:
        """Gross P&L over the entry notional, percent (the arena's trade_log convention)."""
        cost = self.entry_price * abs(self.quantity)
        if self.realized_gross_pnl is None or not cost:
            return None
        return float(self.realized_gross_pnl / cost * 100)


@dataclass(frozen=True, slots=True)
class ChatDecision:
    coin: str
    signal: str
    quantity: Decimal | None
    leverage: Decimal | None
    confidence: Decimal | None
    stop_loss: Decimal | None
    profit_target: Decimal | None
    risk_usd: Decimal | None
    invalidation_condition: str | None
    justification: str | None
    raw: str

    @property
    def confidence01(self) -> float | None:
        """Confidence as a fraction: the models answer 0-1, a few 0-100."""
        if self.confidence is None:
            return None
        c = float(self.confidence)
        if c > 1:
            c /= 100
        return min(max(c, 0.0), 1.0)

    @property
    def decision(self) -> str:
        """decision_log's verb for the signal."""
        return SIGNAL_DECISION.get(self.signal, self.signal)


# The API's signals → decision_log verbs, and → the seed's ChatDecision enum.
SIGNAL_DECISION = {
    "buy_to_enter": "buy",
    "sell_to_enter": "sell",
    "hold": "hold",
    "close_position": "close",
}
SIGNAL_SEED = {
    "buy_to_enter": "buy",
    "sell_to_enter": "sell",
    "hold": "hold",
    "close_position": "none",
}


@dataclass(frozen=True, slots=True)
class ChatRow:
    chat_id: str
    model_id: str
    cycle_id: int | None
    run_id: str | None
    skill: str | None
    ts: str
    inserted_at: str | None
    user_prompt: str | None
    content: str
    summary: str | None
    llm_response: str
    decisions: tuple[ChatDecision, ...]
    raw: str

    def headline(self) -> ChatDecision | None:
        """The decision the chat is about: its first non-hold one, else its first."""
        for d in self.decisions:
            if d.signal != "hold":
                return d
        return self.decisions[0] if self.decisions else None


@dataclass(frozen=True, slots=True)
class PositionRow:
    symbol: str
    quantity: Decimal
    entry_price: Decimal | None
    current_price: Decimal | None
    leverage: Decimal | None
    margin: Decimal | None
    unrealized_pnl: Decimal | None
    closed_pnl: Decimal | None
    commission: Decimal | None
    liquidation_price: Decimal | None
    risk_usd: Decimal | None
    confidence: Decimal | None
    exit_plan: str
    entry_time: str | None
    entry_oid: int | None
    raw: str


@dataclass(frozen=True, slots=True)
class AccountTotalRow:
    nof1_id: str | None
    model_id: str
    ts: str
    dollar_equity: Decimal
    realized_pnl: Decimal | None
    total_unrealized_pnl: Decimal | None
    cum_pnl_pct: Decimal | None
    sharpe_ratio: Decimal | None
    hourly_marker: int | None
    minute_marker: int | None
    positions: tuple[PositionRow, ...]
    raw: str


@dataclass(frozen=True, slots=True)
class SinceInceptionRow:
    nof1_id: str
    model_id: str
    nav: Decimal
    inception_date: str
    num_invocations: int | None
    raw: str


@dataclass(frozen=True, slots=True)
class AnalyticsRow:
    model_id: str
    updated_at: str
    total_trades: int | None
    win_rate: Decimal | None
    pnl_with_fees: Decimal | None
    fees_paid: Decimal | None
    raw: str


@dataclass(frozen=True, slots=True)
class PriceRow:
    symbol: str
    ts: str
    price: Decimal
    raw: str


@dataclass
class Parsed:
    """One endpoint's response: the good rows, the skipped ones, and envelope figures."""

    endpoint: str
    rows: list[Any] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    server_time: str | None = None
    last_hourly_marker: int | None = None


# --- per endpoint -----------------------------------------------------------------------------


def _envelope_list(doc: Any, endpoint: str, key: str) -> list[Any]:
    if not isinstance(doc, dict):
        raise ResponseError(endpoint, f"expected a JSON object, got {_kind(doc)}")
    items = doc.get(key)
    if not isinstance(items, list):
        raise ResponseError(
            endpoint,
            f"expected {key!r} to be an array, got {_kind(items)}"
            f" (keys: {', '.join(sorted(doc)) or 'none'})",
        )
    return items


def _row_id(item: Any, index: int, *keys: str) -> str:
    if isinstance(item, dict):
        for k in keys:
            v = item.get(k)
            if isinstance(v, str | int) and not isinstance(v, bool):
                return str(v)
    return f"#{index}"


def _each(
    parsed: Parsed, items: list[Any], id_keys: tuple[str, ...], fn: Callable[[_Row, str], Any]
) -> None:
    for i, item in enumerate(items):
        rid = _row_id(item, i, *id_keys)
        try:
            parsed.rows.append(fn(_Row(item), rid))
        except _FieldError as e:
            parsed.errors.append(RowError(parsed.endpoint, rid, e.field, e.message))


def _server_time(doc: Any, parsed: Parsed) -> None:
    v = doc.get("serverTime") if isinstance(doc, dict) else None
    if isinstance(v, int | Decimal) and not isinstance(v, bool):
        parsed.server_time = epoch_iso(v)


def parse_leaderboard(doc: Any) -> Parsed:
    p = Parsed("leaderboard")
    items = _envelope_list(doc, p.endpoint, "leaderboard")
    staged: list[tuple[_Row, str]] = []

    def one(r: _Row, rid: str) -> tuple[_Row, str]:
        r.req_str("id"), r.req_dec("equity"), r.req_dec("return_pct")
        r.int_("num_trades", False), r.int_("num_wins", False), r.int_("num_losses", False)
        r.dec("win_dollars", False), r.dec("lose_dollars", False), r.dec("sharpe", False)
        return r, rid

    _each(p, items, ("id",), one)
    staged, p.rows = p.rows, []
    ordered = sorted(staged, key=lambda x: x[0].req_dec("equity"), reverse=True)
    for rank, (r, _) in enumerate(ordered, start=1):
        p.rows.append(
            LeaderboardRow(
                model_id=r.req_str("id"),
                rank=rank,
                equity=r.req_dec("equity"),
                return_pct=r.req_dec("return_pct"),
                num_trades=r.int_("num_trades", False) or 0,
                num_wins=r.int_("num_wins", False),
                num_losses=r.int_("num_losses", False),
                win_dollars=r.dec("win_dollars", False),
                lose_dollars=r.dec("lose_dollars", False),
                sharpe=r.dec("sharpe", False),
                raw=dumps(r.d),
            )
        )
    _server_time(doc, p)
    return p


def _liq(r: _Row, name: str) -> str | None:
    v = r.d.get(name)
    return None if v is None else dumps(v)


def _trade(r: _Row, rid: str) -> TradeRow:
    side = r.req_str("side")
    if side not in ("long", "short"):
        raise _FieldError("side", f"expected 'long' or 'short', got {side!r}")
    lev = r.int_("leverage", False)
    return TradeRow(
        trade_id=r.req_str("trade_id"),
        nof1_id=r.str_("id", False),
        model_id=r.req_str("model_id"),
        symbol=r.req_str("symbol"),
        side=side,
        trade_type=r.str_("trade_type", False),
        quantity=r.req_dec("quantity"),
        entry_sz=r.dec("entry_sz", False),
        exit_sz=r.dec("exit_sz", False),
        leverage=1 if lev is None else lev,
        confidence=r.dec("confidence", False),
        entry_price=r.req_dec("entry_price"),
        exit_price=r.dec("exit_price", False),
        opened_at=r.req_ts("entry_time"),
        closed_at=r.ts("exit_time", False),
        entry_oid=r.int_("entry_oid", False),
        exit_oid=r.int_("exit_oid", False),
        entry_tid=r.int_("entry_tid", False),
        exit_tid=r.int_("exit_tid", False),
        entry_crossed=r.bool_("entry_crossed"),
        exit_crossed=r.bool_("exit_crossed"),
        entry_commission=r.dec("entry_commission_dollars", False),
        exit_commission=r.dec("exit_commission_dollars", False),
        total_commission=r.dec("total_commission_dollars", False),
        entry_closed_pnl=r.dec("entry_closed_pnl", False),
        exit_closed_pnl=r.dec("exit_closed_pnl", False),
        realized_gross_pnl=r.dec("realized_gross_pnl", False),
        realized_net_pnl=r.dec("realized_net_pnl", False),
        exit_plan=dumps(r.obj("exit_plan")),
        entry_liquidation=_liq(r, "entry_liquidation"),
        exit_liquidation=_liq(r, "exit_liquidation"),
        raw=dumps(r.d),
    )


def parse_trades(doc: Any) -> Parsed:
    p = Parsed("trades")
    _each(p, _envelope_list(doc, p.endpoint, "trades"), ("trade_id", "id"), _trade)
    _server_time(doc, p)
    return p


def _decision(coin: str, v: Any) -> ChatDecision:
    r = _Row(v, prefix=f"llm_response.{coin}.")
    sig = r.req_str("signal")
    return ChatDecision(
        coin=r.str_("coin", False) or _utf8(coin),
        signal=sig,
        quantity=r.dec("quantity", False),
        leverage=r.dec("leverage", False),
        confidence=r.dec("confidence", False),
        stop_loss=r.dec("stop_loss", False),
        profit_target=r.dec("profit_target", False),
        risk_usd=r.dec("risk_usd", False),
        invalidation_condition=r.str_("invalidation_condition", False),
        justification=r.str_("justification", False),
        raw=dumps(v),
    )


# Chat fields stored verbatim in their own columns (user_prompt; content when the trace is
# text) are left out of the chat's raw JSON: they are most of a chat's ~15 kB.
VERBATIM_CHAT_FIELDS = ("user_prompt", "cot_trace")


def _without_verbatim_text(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not (k in VERBATIM_CHAT_FIELDS and isinstance(v, str))}


def parse_conversations(doc: Any) -> Parsed:
    """Chats. A per-coin decision with a wrong type is skipped on its own (row id
    ``<chat id>:<coin>``); the chat and its other decisions are kept. A non-object entry of
    ``llm_response`` (the API's ``failed_json_response_raw_text`` when the model's answer was
    not JSON) is no decision, and stays in the raw JSON. The raw JSON leaves out the texts
    kept verbatim in columns (``VERBATIM_CHAT_FIELDS``)."""
    p = Parsed("conversations")

    def one(r: _Row, rid: str) -> ChatRow:
        cot = r.d.get("cot_trace")
        if cot is None:
            content = ""
        elif isinstance(cot, str):
            content = _utf8(cot)
        elif isinstance(cot, dict | list):
            content = dumps(cot)
        else:
            raise _FieldError("cot_trace", f"expected text or an object, got {_kind(cot)}")
        resp = r.obj("llm_response")
        decisions: list[ChatDecision] = []
        for coin, v in resp.items():
            if not isinstance(v, dict):
                continue
            try:
                decisions.append(_decision(coin, v))
            except _FieldError as e:
                p.errors.append(RowError(p.endpoint, f"{rid}:{coin}", e.field, e.message))
        return ChatRow(
            chat_id=r.req_str("id"),
            model_id=r.req_str("model_id"),
            cycle_id=r.int_("cycle_id", False),
            run_id=r.str_("run_id", False),
            skill=r.str_("skill", False),
            ts=r.req_ts("timestamp"),
            inserted_at=r.ts("inserted_at", False),
            user_prompt=r.str_("user_prompt", False),
            content=content,
            summary=r.str_("cot_trace_summary", False),
            llm_response=dumps(resp),
            decisions=tuple(decisions),
            raw=dumps(_without_verbatim_text(r.d)),
        )

    _each(p, _envelope_list(doc, p.endpoint, "conversations"), ("id",), one)
    _server_time(doc, p)
    return p


def _position(coin: str, v: Any) -> PositionRow:
    r = _Row(v, prefix=f"positions.{coin}.")
    return PositionRow(
        symbol=r.str_("symbol", False) or _utf8(coin),
        quantity=r.req_dec("quantity"),
        entry_price=r.dec("entry_price", False),
        current_price=r.dec("current_price", False),
        leverage=r.dec("leverage", False),
        margin=r.dec("margin", False),
        unrealized_pnl=r.dec("unrealized_pnl", False),
        closed_pnl=r.dec("closed_pnl", False),
        commission=r.dec("commission", False),
        liquidation_price=r.dec("liquidation_price", False),
        risk_usd=r.dec("risk_usd", False),
        confidence=r.dec("confidence", False),
        exit_plan=dumps(r.obj("exit_plan")),
        entry_time=r.ts("entry_time", False),
        entry_oid=r.int_("entry_oid", False),
        raw=dumps(v),
    )


def parse_account_totals(doc: Any) -> Parsed:
    """Account totals with their open positions; a bad position skips its whole row (a
    partial set of positions would misstate the account)."""
    p = Parsed("account-totals")

    def one(r: _Row, rid: str) -> AccountTotalRow:
        positions = tuple(_position(c, v) for c, v in r.obj("positions").items())
        return AccountTotalRow(
            nof1_id=r.str_("id", False),
            model_id=r.req_str("model_id"),
            ts=r.req_ts("timestamp"),
            dollar_equity=r.req_dec("dollar_equity"),
            realized_pnl=r.dec("realized_pnl", False),
            total_unrealized_pnl=r.dec("total_unrealized_pnl", False),
            cum_pnl_pct=r.dec("cum_pnl_pct", False),
            sharpe_ratio=r.dec("sharpe_ratio", False),
            hourly_marker=r.int_("since_inception_hourly_marker", False),
            minute_marker=r.int_("since_inception_minute_marker", False),
            positions=positions,
            raw=dumps(r.d),
        )

    _each(p, _envelope_list(doc, p.endpoint, "accountTotals"), ("id",), one)
    _server_time(doc, p)
    marker = doc.get("lastHourlyMarkerRead")
    if isinstance(marker, int) and not isinstance(marker, bool):
        p.last_hourly_marker = marker
    else:
        marks = [r.hourly_marker for r in p.rows if r.hourly_marker is not None]
        p.last_hourly_marker = max(marks) if marks else None
    return p


def parse_since_inception(doc: Any) -> Parsed:
    p = Parsed("since-inception-values")
    _each(
        p,
        _envelope_list(doc, p.endpoint, "sinceInceptionValues"),
        ("id", "model_id"),
        lambda r, rid: SinceInceptionRow(
            nof1_id=r.req_str("id"),
            model_id=r.req_str("model_id"),
            nav=r.req_dec("nav_since_inception"),
            inception_date=r.req_ts("inception_date"),
            num_invocations=r.int_("num_invocations", False),
            raw=dumps(r.d),
        ),
    )
    _server_time(doc, p)
    return p


def parse_analytics(doc: Any) -> Parsed:
    p = Parsed("analytics")

    def one(r: _Row, rid: str) -> AnalyticsRow:
        fees = _Row(r.obj("fee_pnl_moves_breakdown_table"), "fee_pnl_moves_breakdown_table.")
        wl = _Row(r.obj("winners_losers_breakdown_table"), "winners_losers_breakdown_table.")
        ov = _Row(r.obj("overall_trades_overview_table"), "overall_trades_overview_table.")
        return AnalyticsRow(
            model_id=r.req_str("model_id"),
            updated_at=r.req_ts("updated_at"),
            total_trades=ov.int_("total_trades", False),
            win_rate=wl.dec("win_rate", False),
            pnl_with_fees=fees.dec("overall_pnl_with_fees", False),
            fees_paid=fees.dec("total_fees_paid", False),
            raw=dumps(r.d),
        )

    _each(p, _envelope_list(doc, p.endpoint, "analytics"), ("model_id", "id"), one)
    _server_time(doc, p)
    return p


def parse_crypto_prices(doc: Any) -> Parsed:
    p = Parsed("crypto-prices")
    if not isinstance(doc, dict) or not isinstance(doc.get("prices"), dict):
        raise ResponseError(p.endpoint, "expected an object with a 'prices' object")
    for sym, v in doc["prices"].items():
        try:
            r = _Row(v, prefix="")
            p.rows.append(
                PriceRow(
                    symbol=r.str_("symbol", False) or _utf8(sym),
                    ts=r.req_ts("timestamp"),
                    price=r.req_dec("price"),
                    raw=dumps(v),
                )
            )
        except _FieldError as e:
            p.errors.append(RowError(p.endpoint, sym, e.field, e.message))
    _server_time(doc, p)
    return p


PARSERS: dict[str, Callable[[Any], Parsed]] = {
    "leaderboard": parse_leaderboard,
    "trades": parse_trades,
    "account-totals": parse_account_totals,
    "since-inception-values": parse_since_inception,
    "conversations": parse_conversations,
    "analytics": parse_analytics,
    "crypto-prices": parse_crypto_prices,
}


def parse(endpoint: str, body: bytes | str) -> Parsed:
    """Parse one endpoint's body (raises :class:`ResponseError` for an unusable body)."""
    fn = PARSERS.get(endpoint)
    if fn is None:
        raise ResponseError(endpoint, f"unknown endpoint (known: {', '.join(ENDPOINTS)})")
    return fn(loads(body, endpoint))


def decimal_text(d: Decimal | None) -> str | None:
    """A decimal as TEXT for the database (the API's digits, no exponent for normal values)."""
    return None if d is None else format(d, "f")


__all__ = [
    "ENDPOINTS",
    "AccountTotalRow",
    "AnalyticsRow",
    "ChatDecision",
    "ChatRow",
    "LeaderboardRow",
    "Parsed",
    "PositionRow",
    "PriceRow",
    "ResponseError",
    "RowError",
    "SinceInceptionRow",
    "TradeRow",
    "decimal_text",
    "dumps",
    "epoch_iso",
    "loads",
    "parse",
]
