"""Bars and the indicators shown to models and used by the baselines.

Bars carry exact ``Decimal`` prices (they set order and exit prices); indicators are derived
analytics and are floats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any, Protocol

from arenad.errors import SkipError


@dataclass(frozen=True, slots=True)
class Bar:
    t: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @classmethod
    def from_alpaca(cls, raw: Mapping[str, Any]) -> Bar:
        """From a ``/v2/stocks/bars`` bar (``t o h l c v``); a bad bar is a SkipError."""
        try:
            return cls(
                datetime.fromisoformat(str(raw["t"]).replace("Z", "+00:00")),
                Decimal(str(raw["o"])),
                Decimal(str(raw["h"])),
                Decimal(str(raw["l"])),
                Decimal(str(raw["c"])),
                Decimal(str(raw.get("v", 0))),
            )
        except (KeyError, ValueError, InvalidOperation, TypeError) as e:
            raise SkipError(f"bad bar {dict(raw)!r}: {e}") from e


class MarketData(Protocol):
    async def bars(self, symbols: Sequence[str], limit: int) -> dict[str, list[Bar]]:
        """The newest ``limit`` bars per symbol, oldest first (missing symbols: empty)."""
        ...


@dataclass(frozen=True, slots=True)
class Indicators:
    last: Decimal | None
    change_1: float | None
    """Last bar's change, %."""
    change_n: float | None
    """Change over the whole window, %."""
    sma_fast: float | None
    sma_slow: float | None
    rsi: float | None
    volatility: float | None
    """Standard deviation of bar-to-bar returns, %."""

    def wire(self) -> dict[str, Any]:
        return {
            "last": None if self.last is None else str(self.last),
            "change_1_pct": _r(self.change_1),
            "change_window_pct": _r(self.change_n),
            "sma_fast": _r(self.sma_fast),
            "sma_slow": _r(self.sma_slow),
            "rsi": _r(self.rsi),
            "volatility_pct": _r(self.volatility),
        }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def sma(closes: Sequence[float], n: int) -> float | None:
    if n <= 0 or len(closes) < n:
        return None
    return sum(closes[-n:]) / n


def rsi(closes: Sequence[float], n: int = 14) -> float | None:
    """Wilder's RSI over the whole series (needs n+1 closes)."""
    if len(closes) < n + 1:
        return None
    gains = losses = 0.0
    for a, b in pairwise(closes[: n + 1]):
        d = b - a
        gains += max(d, 0.0)
        losses += max(-d, 0.0)
    avg_g, avg_l = gains / n, losses / n
    for a, b in pairwise(closes[n:]):
        d = b - a
        avg_g = (avg_g * (n - 1) + max(d, 0.0)) / n
        avg_l = (avg_l * (n - 1) + max(-d, 0.0)) / n
    if avg_l == 0:
        return 100.0 if avg_g > 0 else 50.0
    return 100.0 - 100.0 / (1.0 + avg_g / avg_l)


def indicators(bars: Sequence[Bar], fast: int = 5, slow: int = 20, rsi_n: int = 14) -> Indicators:
    closes = [float(b.close) for b in bars]
    if not closes:
        return Indicators(None, None, None, None, None, None, None)
    rets = [(b / a - 1.0) * 100 for a, b in pairwise(closes) if a]
    vol = None
    if len(rets) >= 2:
        mean = sum(rets) / len(rets)
        vol = math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1))
    return Indicators(
        last=bars[-1].close,
        change_1=rets[-1] if rets else None,
        change_n=(closes[-1] / closes[0] - 1.0) * 100 if closes[0] else None,
        sma_fast=sma(closes, fast),
        sma_slow=sma(closes, slow),
        rsi=rsi(closes, rsi_n),
        volatility=vol,
    )
