"""A model's decision for one symbol (seed 000's fields), and the tolerant parser that turns a
model's raw answer into one — or into a recorded failure, never an exception.

Why tolerant: models wrap JSON in code fences, prefix it with prose, or answer ``"buy"`` for
``"BUY"``. Those are recoverable and are recovered. What is not recoverable — no JSON, JSON cut
off by the token limit, the wrong shape, a stop loss on the wrong side of the entry, another
symbol than the one asked — becomes a :class:`ParseOutcome` with ``decision=None`` and a reason
naming what was wrong; the caller records it with the raw text and the model holds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Action = Literal["BUY", "SELL", "HOLD"]
Timeframe = Literal["day", "swing", "position", "long-term"]
TIMEFRAMES: tuple[str, ...] = ("day", "swing", "position", "long-term")


class Reasoning(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    bullish: str = ""
    """The case for the stock going up."""
    bearish: str = ""
    """The case against."""
    technical: str = ""
    """What the bars and indicators say."""
    fundamental: str = ""
    """Business, valuation, news (as far as the model knows)."""
    summary: str = ""
    """Optional one-line conclusion."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, v: Any) -> Any:
        # Some models answer the reasoning as one string; keep it rather than fail the decision.
        if isinstance(v, str):
            return {"summary": v}
        return v


class Decision(BaseModel):
    """One decision for one symbol. Prices are Decimal (they become order prices)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    symbol: str
    action: Action
    quantity: int | None = Field(default=None, ge=0)
    """Whole shares; required (> 0) for BUY and SELL."""
    entry_price: Decimal | None = Field(default=None, gt=0)
    """Limit price; None: at the market."""
    stop_loss: Decimal | None = Field(default=None, gt=0)
    take_profit: Decimal | None = Field(default=None, gt=0)
    confidence: float = Field(default=0.5, ge=0, le=1)
    timeframe: Timeframe = "swing"
    reasoning: Reasoning = Reasoning()

    @field_validator("symbol", mode="before")
    @classmethod
    def _symbol(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("action", mode="before")
    @classmethod
    def _action(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("timeframe", mode="before")
    @classmethod
    def _timeframe(cls, v: Any) -> Any:
        if isinstance(v, str):
            t = v.strip().lower().replace("_", "-").replace(" ", "-")
            return {"longterm": "long-term", "intraday": "day", "daytrade": "day"}.get(t, t)
        return v

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, v: Any) -> Any:
        # 10.0 is ten shares; 10.5 is not a whole number of shares and fails below.
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str) and re.fullmatch(r"\s*\d+(\.0+)?\s*", v):
            return int(float(v))
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Decision:
        if self.action == "HOLD":
            return self
        if not self.quantity:
            raise ValueError(f"{self.action} needs a quantity of at least 1 share")
        return self

    def check_prices(self, reference: Decimal | None) -> str | None:
        """Why the stop loss / take profit do not fit the side, or None. ``reference`` is the
        entry price if given, else the current price."""
        ref = self.entry_price or reference
        stop, target = self.stop_loss, self.take_profit
        if self.action == "BUY":
            if stop is not None and ref is not None and stop >= ref:
                return f"stop_loss {stop} is not below the entry {ref} of a BUY"
            if target is not None and ref is not None and target <= ref:
                return f"take_profit {target} is not above the entry {ref} of a BUY"
            if stop is not None and target is not None and stop >= target:
                return f"stop_loss {stop} is not below take_profit {target} of a BUY"
        elif self.action == "SELL" and stop is not None and target is not None and stop <= target:
            return f"stop_loss {stop} is not above take_profit {target} of a SELL"
        return None

    def wire(self) -> dict[str, Any]:
        """JSON-ready (Decimals as strings)."""
        return {
            "symbol": self.symbol,
            "action": self.action,
            "quantity": self.quantity,
            "entry_price": _s(self.entry_price),
            "stop_loss": _s(self.stop_loss),
            "take_profit": _s(self.take_profit),
            "confidence": self.confidence,
            "timeframe": self.timeframe,
            "reasoning": self.reasoning.model_dump(),
        }


def _s(d: Decimal | None) -> str | None:
    return None if d is None else str(d)


def hold(symbol: str, why: str) -> Decision:
    """What a model that failed to decide does."""
    return Decision(symbol=symbol, action="HOLD", confidence=0.0, reasoning=Reasoning(summary=why))


_NUM_OR_NULL = {"type": ["number", "null"]}

# The schema sent to providers (structured output) and written into the prompt. Every property
# is required and extra ones forbidden: that is what OpenAI's strict mode accepts.
DECISION_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "symbol",
        "action",
        "quantity",
        "entry_price",
        "stop_loss",
        "take_profit",
        "confidence",
        "timeframe",
        "reasoning",
    ],
    "properties": {
        "symbol": {"type": "string", "description": "The ticker asked about."},
        "action": {"type": "string", "enum": ["BUY", "SELL", "HOLD"]},
        "quantity": {
            "type": ["integer", "null"],
            "description": "Whole shares to buy or sell; null for HOLD.",
        },
        "entry_price": {**_NUM_OR_NULL, "description": "Limit price; null for market."},
        "stop_loss": {**_NUM_OR_NULL, "description": "BUY: below entry. SELL short: above."},
        "take_profit": {**_NUM_OR_NULL, "description": "BUY: above entry. SELL short: below."},
        "confidence": {"type": "number", "description": "0 to 1."},
        "timeframe": {"type": "string", "enum": list(TIMEFRAMES)},
        "reasoning": {
            "type": "object",
            "additionalProperties": False,
            "required": ["bullish", "bearish", "technical", "fundamental"],
            "properties": {
                "bullish": {"type": "string"},
                "bearish": {"type": "string"},
                "technical": {"type": "string"},
                "fundamental": {"type": "string"},
            },
        },
    },
}


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    decision: Decision | None
    """The valid decision, or None when the answer was unusable."""
    error: str | None
    """Why it was unusable (None when valid)."""


class JsonNotFound(ValueError):
    pass


_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.S)


def extract_json(text: str) -> Any:
    """The first JSON value a model's answer contains: whole, fenced, or wrapped in prose."""
    stripped = text.strip().lstrip("\ufeff")
    if not stripped:
        raise JsonNotFound("the answer is empty")
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    for m in _FENCE.finditer(stripped):
        try:
            return json.loads(m.group(1).strip())
        except json.JSONDecodeError:
            continue
    decoder = json.JSONDecoder()
    truncated = False
    starts = [m.start() for m in re.finditer(r"[{\[]", stripped)]
    for pos in starts[:200]:
        try:
            value, _ = decoder.raw_decode(stripped, pos)
        except json.JSONDecodeError:
            # An object that is never closed was cut off (token limit), not malformed.
            truncated = truncated or _unclosed(stripped[pos:])
            continue
        if isinstance(value, dict | list):
            return value
    if truncated:
        raise JsonNotFound("the JSON in the answer is truncated (cut off before its end)")
    if starts:
        raise JsonNotFound("the answer contains no valid JSON object")
    raise JsonNotFound("the answer contains no JSON object (prose only)")


def _unclosed(text: str) -> bool:
    """Whether brackets opened in ``text`` (outside strings) are still open at its end."""
    depth = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return False
    return depth > 0


def _pick(value: Any, symbol: str) -> Any:
    """The object for ``symbol`` out of the shapes models use."""
    if isinstance(value, dict) and "decisions" in value and isinstance(value["decisions"], list):
        value = value["decisions"]
    elif isinstance(value, dict) and "decision" in value and isinstance(value["decision"], dict):
        value = value["decision"]
    if isinstance(value, list):
        objs = [v for v in value if isinstance(v, dict)]
        for v in objs:
            if str(v.get("symbol", "")).strip().upper() == symbol:
                return v
        if len(objs) == 1:
            return objs[0]
        raise ValueError(f"the answer lists {len(objs)} decisions and none is for {symbol}")
    return value


def _validation_reason(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"]) or "decision"
        parts.append(f"{loc}: {err['msg']}")
    more = f" (+{e.error_count() - 5} more)" if e.error_count() > 5 else ""
    return "schema: " + "; ".join(parts) + more


def parse_decision(
    text: str,
    symbol: str,
    allowed_symbols: frozenset[str] | set[str] | list[str],
    reference_price: Decimal | None = None,
) -> ParseOutcome:
    """Parse a model's answer for ``symbol``. Never raises on bad input."""
    try:
        value = extract_json(text)
        value = _pick(value, symbol)
    except ValueError as e:
        return ParseOutcome(None, str(e))
    if not isinstance(value, dict):
        return ParseOutcome(None, f"schema: expected a JSON object, got {type(value).__name__}")
    if "symbol" not in value:
        value = {**value, "symbol": symbol}
    try:
        d = Decision.model_validate(value)
    except ValidationError as e:
        return ParseOutcome(None, _validation_reason(e))
    if d.symbol not in allowed_symbols:
        return ParseOutcome(
            None, f"unknown symbol {d.symbol!r} (allowed: {sorted(allowed_symbols)})"
        )
    if d.symbol != symbol:
        return ParseOutcome(None, f"asked about {symbol}, answered about {d.symbol}")
    problem = d.check_prices(reference_price)
    if problem:
        return ParseOutcome(None, f"inconsistent prices: {problem}")
    return ParseOutcome(d, None)
