"""A seeded stock price model with random access in time.

The Hyperliquid market is stepped; stocks are not: Alpaca serves years of historical bars, so
the price of any symbol at any instant must be computable directly, and must not depend on
which requests came first. The model is two-level and pure:

- one log-normal daily walk per symbol, from 2000-01-01 for 100 years, drawn at once from a
  generator seeded by (seed, symbol) and anchored so the price on 2025-01-02 is the symbol's
  reference price;
- per UTC day (whose midnight falls outside US trading hours), a Brownian bridge of 1,440
  minute steps from the previous day's close to that day's close, drawn from a generator
  seeded by (seed, symbol, day).

Between two minute marks the live price moves linearly, so a limit or stop order sees the
price cross its level at a definite instant. A minute bar's open and close are its two marks;
its high and low lie beyond both by a seeded excursion, so every live price falls within the
bar. Volume is log-normal around a per-symbol average. Same seed, same prices, whatever the
order of questions.

Prices are floats here (a model); the trading engine rounds them to cents as Decimals.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

EPOCH = date(2000, 1, 1)
DAYS = 36_525
ANCHOR = date(2025, 1, 2)
MINUTES = 1_440
CACHE_DAYS = 4_096

_SYMBOL = re.compile(r"^[A-Z]{1,6}(\.[A-Z]{1,3})?$")


def valid_symbol(symbol: str) -> bool:
    return bool(_SYMBOL.match(symbol))


@dataclass(frozen=True, slots=True)
class StockSpec:
    symbol: str
    name: str
    exchange: str
    price: float
    """Reference price on 2025-01-02."""
    annual_vol: float
    minute_volume: float
    """Average shares per minute on the IEX feed."""
    etf: bool = False


KNOWN: dict[str, StockSpec] = {
    s.symbol: s
    for s in (
        StockSpec("SPY", "SPDR S&P 500 ETF Trust", "ARCA", 585.0, 0.16, 9_000, etf=True),
        StockSpec("QQQ", "Invesco QQQ Trust", "NASDAQ", 510.0, 0.21, 5_000, etf=True),
        StockSpec("IWM", "iShares Russell 2000 ETF", "ARCA", 220.0, 0.22, 3_000, etf=True),
        StockSpec("TLT", "iShares 20+ Year Treasury Bond ETF", "NASDAQ", 87.0, 0.15, 4_000,
                  etf=True),
        StockSpec("GLD", "SPDR Gold Shares", "ARCA", 240.0, 0.15, 1_500, etf=True),
        StockSpec("AAPL", "Apple Inc. Common Stock", "NASDAQ", 243.0, 0.27, 6_000),
        StockSpec("MSFT", "Microsoft Corporation Common Stock", "NASDAQ", 418.0, 0.25, 2_500),
        StockSpec("NVDA", "NVIDIA Corporation Common Stock", "NASDAQ", 138.0, 0.50, 25_000),
        StockSpec("GOOG", "Alphabet Inc. Class C Capital Stock", "NASDAQ", 191.0, 0.30, 2_500),
        StockSpec("GOOGL", "Alphabet Inc. Class A Common Stock", "NASDAQ", 190.0, 0.30, 3_000),
        StockSpec("AMZN", "Amazon.com, Inc. Common Stock", "NASDAQ", 220.0, 0.32, 4_000),
        StockSpec("META", "Meta Platforms, Inc. Class A Common Stock", "NASDAQ", 599.0, 0.38,
                  1_500),
        StockSpec("TSLA", "Tesla, Inc. Common Stock", "NASDAQ", 410.0, 0.60, 9_000),
        StockSpec("AMD", "Advanced Micro Devices, Inc. Common Stock", "NASDAQ", 122.0, 0.50,
                  4_000),
    )
}  # fmt: skip


def _hash_ints(*parts: object) -> list[int]:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return [int.from_bytes(digest[i : i + 4], "big") for i in range(0, 16, 4)]


def spec_for(symbol: str, seed: int) -> StockSpec:
    """Known parameters, or plausible ones derived from (seed, symbol)."""
    if symbol in KNOWN:
        return KNOWN[symbol]
    h = _hash_ints("spec", seed, symbol)
    price = 10.0 + (h[0] % 49_000) / 100.0
    vol = 0.25 + (h[1] % 400) / 1_000.0
    return StockSpec(symbol, f"{symbol} Common Stock", "NYSE", price, vol, 500 + h[2] % 3_000)


@dataclass(frozen=True, slots=True)
class MinuteBar:
    t: datetime
    o: float
    h: float
    l: float  # noqa: E741 - Alpaca's wire name
    c: float
    v: int
    n: int
    vw: float


def cents_up(x: float) -> float:
    return math.ceil(x * 100 - 1e-6) / 100


def cents_down(x: float) -> float:
    return math.floor(x * 100 + 1e-6) / 100


def cents(x: float) -> float:
    return round(x, 2)


class PriceModel:
    def __init__(self, seed: int, symbols: list[str]) -> None:
        self.seed = seed
        self.specs = {s: spec_for(s, seed) for s in symbols}
        self._log_closes: dict[str, np.ndarray] = {}
        self._days: OrderedDict[tuple[str, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = (
            OrderedDict()
        )

    def listed(self, symbol: str) -> bool:
        return symbol in self.specs

    # --- the two levels -----------------------------------------------------------------

    def _daily(self, symbol: str) -> np.ndarray:
        closes = self._log_closes.get(symbol)
        if closes is None:
            spec = self.specs[symbol]
            rng = np.random.default_rng(_hash_ints("daily", self.seed, symbol))
            sigma = spec.annual_vol / math.sqrt(365.0)
            steps = rng.standard_normal(DAYS) * sigma - 0.5 * sigma * sigma
            walk = np.cumsum(steps)
            anchor = (ANCHOR - EPOCH).days
            closes = walk - walk[anchor] + math.log(spec.price)
            self._log_closes[symbol] = closes
        return closes

    def _day(self, symbol: str, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(1,441 minute-mark prices, high/low excursions, volumes) of one UTC day."""
        key = (symbol, day)
        hit = self._days.get(key)
        if hit is not None:
            self._days.move_to_end(key)
            return hit
        if not 1 <= day < DAYS:
            raise ValueError(f"{symbol}: no prices outside {EPOCH} .. 2099")
        closes = self._daily(symbol)
        start, end = closes[day - 1], closes[day]
        spec = self.specs[symbol]
        rng = np.random.default_rng(_hash_ints("intraday", self.seed, symbol, day))
        sigma_m = spec.annual_vol / math.sqrt(365.0 * MINUTES)
        w = np.concatenate(([0.0], np.cumsum(rng.standard_normal(MINUTES) * sigma_m)))
        frac = np.arange(MINUTES + 1) / MINUTES
        bridge = w - frac * w[-1]
        marks = np.exp(start + frac * (end - start) + bridge)
        excursion = np.abs(rng.standard_normal((2, MINUTES))) * sigma_m * 0.5
        volumes = np.maximum(
            1, (spec.minute_volume * rng.lognormal(-0.5, 1.0, MINUTES)).astype(np.int64)
        )
        out = (marks, excursion, volumes)
        self._days[key] = out
        if len(self._days) > CACHE_DAYS:
            self._days.popitem(last=False)
        return out

    # --- questions ----------------------------------------------------------------------

    @staticmethod
    def _locate(t: datetime) -> tuple[int, int, float]:
        """(day index, minute of the UTC day, fraction of that minute elapsed)."""
        u = t.astimezone(UTC)
        day = (u.date() - EPOCH).days
        seconds = u.hour * 3600 + u.minute * 60 + u.second + u.microsecond / 1e6
        minute = int(seconds // 60)
        return day, minute, (seconds - minute * 60) / 60.0

    def price(self, symbol: str, t: datetime) -> float:
        day, minute, frac = self._locate(t)
        marks = self._day(symbol, day)[0]
        return float(marks[minute] + (marks[minute + 1] - marks[minute]) * frac)

    def quote(self, symbol: str, t: datetime, spread_bps: float) -> tuple[float, float]:
        """(bid, ask) in cents around the price; at least one cent apart."""
        p = self.price(symbol, t)
        half = p * spread_bps / 20_000.0
        bid, ask = cents_down(p - half), cents_up(p + half)
        if ask <= bid:
            ask = round(bid + 0.01, 2)
        return bid, ask

    def minute_bar(self, symbol: str, t: datetime) -> MinuteBar:
        """The bar of the minute starting at ``t`` (a whole UTC minute)."""
        return self.range_bar(symbol, t, t + timedelta(minutes=1), t)

    def range_bar(self, symbol: str, t0: datetime, t1: datetime, stamp: datetime) -> MinuteBar:
        """One bar over the whole minutes [t0, t1), stamped ``stamp`` (vectorized: a daily bar
        costs a few array slices, not 390 minute bars)."""
        d0, m0, _ = self._locate(t0)
        d1, m1, _ = self._locate(t1)
        if (d1, m1) <= (d0, m0):
            raise ValueError("empty bar range")
        o = c = 0.0
        hi, lo = -math.inf, math.inf
        volume = 0
        weighted = 0.0
        day, minute = d0, m0
        while (day, minute) < (d1, m1):
            stop = m1 if day == d1 else MINUTES
            marks, exc, vols = self._day(symbol, day)
            opens, closes = marks[minute:stop], marks[minute + 1 : stop + 1]
            highs = np.maximum(opens, closes) * (1 + exc[0, minute:stop])
            lows = np.minimum(opens, closes) * (1 - exc[1, minute:stop])
            v = vols[minute:stop]
            if volume == 0:
                o = float(opens[0])
            c = float(closes[-1])
            hi = max(hi, float(highs.max()))
            lo = min(lo, float(lows.min()))
            volume += int(v.sum())
            weighted += float((((opens + highs + lows + closes) / 4) * v).sum())
            day, minute = day + 1, 0
        return MinuteBar(
            t=stamp,
            o=cents(o),
            h=cents_up(hi),
            l=cents_down(lo),
            c=cents(c),
            v=volume,
            n=max(1, volume // 90),
            vw=round(weighted / volume, 4),
        )


def aggregate(bars: list[MinuteBar], t: datetime) -> MinuteBar:
    """One bar stamped ``t`` from consecutive minute bars."""
    v = sum(b.v for b in bars)
    vw = sum(b.vw * b.v for b in bars) / v if v else bars[-1].c
    return MinuteBar(
        t=t,
        o=bars[0].o,
        h=max(b.h for b in bars),
        l=min(b.l for b in bars),
        c=bars[-1].c,
        v=v,
        n=sum(b.n for b in bars),
        vw=round(vw, 4),
    )


def floor_minute(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(second=0, microsecond=0)
