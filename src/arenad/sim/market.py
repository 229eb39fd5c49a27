"""The simulated perp market: seeded price paths, an order book of synthetic liquidity around
each mid, fills that walk that book, and funding rates.

Everything here is pure and stepped: `Market.step(dt_s)` moves every price by one seeded
random-walk increment and rebuilds the books, so the same seed and the same sequence of steps
and takes give the same prices and fills, whatever the wall clock did. The server drives the
steps on a timer; tests drive them directly.

Prices are `Decimal` at every interface. The walk itself is in floats (it is a model, not
money); each published price is rounded to the venue's tick rules (≤ 5 significant figures,
≤ 6 − szDecimals decimals, integers always allowed), as mainnet's books are.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from arenad.venues.hyperliquid.rules import round_price, round_size, tick_at

BOOK_LEVELS = 20
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class CoinSpec:
    """A listed perpetual; szDecimals and max leverage follow mainnet."""

    name: str
    sz_decimals: int
    max_leverage: int
    start_px: float
    daily_vol: float
    """Standard deviation of one day's log return (0.03 = 3%)."""
    depth_usd: float
    """Notional resting at the best level of each side; deeper levels hold more."""


# Mainnet-like parameters (szDecimals from the recorded meta; prices from late 2025).
KNOWN_COINS: dict[str, CoinSpec] = {
    c.name: c
    for c in (
        CoinSpec("BTC", 5, 40, 112_000.0, 0.025, 400_000.0),
        CoinSpec("ETH", 4, 25, 4_000.0, 0.035, 250_000.0),
        CoinSpec("SOL", 2, 20, 195.0, 0.05, 120_000.0),
        CoinSpec("BNB", 3, 10, 1_150.0, 0.03, 60_000.0),
        CoinSpec("DOGE", 0, 10, 0.2, 0.06, 60_000.0),
        CoinSpec("XRP", 0, 20, 2.6, 0.05, 80_000.0),
        CoinSpec("AVAX", 2, 10, 20.0, 0.055, 40_000.0),
        CoinSpec("LINK", 1, 10, 18.0, 0.05, 40_000.0),
        CoinSpec("ARB", 1, 10, 0.32, 0.06, 30_000.0),
        CoinSpec("SUI", 1, 10, 2.6, 0.06, 40_000.0),
        CoinSpec("LTC", 2, 10, 95.0, 0.045, 30_000.0),
        CoinSpec("ATOM", 2, 10, 3.2, 0.05, 20_000.0),
        CoinSpec("kPEPE", 0, 10, 0.0068, 0.07, 30_000.0),
    )
}


def coin_spec(name: str) -> CoinSpec:
    """Known coins get their mainnet parameters; others a generic mid-cap profile."""
    return KNOWN_COINS.get(name) or CoinSpec(name, 1, 10, 10.0, 0.05, 30_000.0)


# --- tick and lot rules ---------------------------------------------------------------------


def wire(x: Decimal) -> str:
    """Hyperliquid's number strings in responses: plain notation, no trailing zeros, but an
    integral value keeps one decimal ("45986.0", "0.0"), as mainnet writes them."""
    s = format(x.normalize(), "f")
    if s in ("-0", "", "0"):
        return "0.0"
    return s if "." in s else s + ".0"


wire_px = wire


# --- the book -------------------------------------------------------------------------------


@dataclass(slots=True)
class Level:
    px: Decimal
    sz: Decimal
    n: int


@dataclass(frozen=True, slots=True)
class Take:
    """One slice of a take against synthetic liquidity."""

    px: Decimal
    sz: Decimal


@dataclass(slots=True)
class CoinState:
    spec: CoinSpec
    rng: random.Random
    mid_f: float
    prev_day_f: float
    funding_rate: float = 0.0000125
    bids: list[Level] = field(default_factory=list)
    asks: list[Level] = field(default_factory=list)
    day_volume: Decimal = Decimal(0)


class Market:
    """Seeded prices and books for a set of perps."""

    def __init__(self, coins: Sequence[str], *, seed: int) -> None:
        if not coins:
            raise ValueError("the market needs at least one coin")
        self.seed = seed
        self.coins: dict[str, CoinState] = {}
        for name in coins:
            spec = coin_spec(name)
            rng = random.Random(f"market:{seed}:{name}")
            # Start each run somewhere near the reference price, not exactly on it.
            start = spec.start_px * math.exp(rng.gauss(0.0, spec.daily_vol))
            self.coins[name] = CoinState(spec, rng, start, start)
            self._rebuild(self.coins[name])
        self.steps = 0

    # --- reading ------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return list(self.coins)

    def spec(self, coin: str) -> CoinSpec:
        return self.coins[coin].spec

    def best_bid(self, coin: str) -> Decimal:
        return self.coins[coin].bids[0].px

    def best_ask(self, coin: str) -> Decimal:
        return self.coins[coin].asks[0].px

    def mid(self, coin: str) -> Decimal:
        """The mid of the synthetic book (what `allMids` reports)."""
        c = self.coins[coin]
        return (c.bids[0].px + c.asks[0].px) / 2

    def mark(self, coin: str) -> Decimal:
        """Mark/oracle price: the model price at tick precision."""
        c = self.coins[coin]
        return round_price(Decimal(repr(c.mid_f)), c.spec.sz_decimals)

    def prev_day_px(self, coin: str) -> Decimal:
        c = self.coins[coin]
        return round_price(Decimal(repr(c.prev_day_f)), c.spec.sz_decimals)

    def funding_rate(self, coin: str) -> Decimal:
        return Decimal(f"{self.coins[coin].funding_rate:.8f}")

    def levels(self, coin: str, side: str) -> list[Level]:
        c = self.coins[coin]
        return c.bids if side == "bid" else c.asks

    # --- moving ---------------------------------------------------------------------------

    def step(self, dt_s: float) -> None:
        """Advance every price by one random-walk increment of `dt_s` seconds and rebuild the
        books (consumed liquidity is replenished)."""
        if dt_s <= 0:
            raise ValueError("dt_s must be positive")
        self.steps += 1
        for c in self.coins.values():
            sigma = c.spec.daily_vol * math.sqrt(dt_s / SECONDS_PER_DAY)
            c.mid_f *= math.exp(sigma * c.rng.gauss(0.0, 1.0) - 0.5 * sigma * sigma)
            # Funding drifts slowly around the 0.00125%/h baseline.
            c.funding_rate = 0.95 * c.funding_rate + 0.05 * (0.0000125 + c.rng.gauss(0.0, 0.00003))
            self._rebuild(c)

    def _rebuild(self, c: CoinState) -> None:
        spec = c.spec
        mid = Decimal(repr(c.mid_f))
        tick = tick_at(mid, spec.sz_decimals)
        gap = max(tick, round_price(mid * Decimal("0.0001"), spec.sz_decimals))
        lot = Decimal(1).scaleb(-spec.sz_decimals)
        bids: list[Level] = []
        asks: list[Level] = []
        for i in range(BOOK_LEVELS):
            offset = gap * (Decimal(i) + Decimal("0.5"))
            notional = spec.depth_usd * (1.0 + 0.35 * i) * math.exp(c.rng.gauss(0.0, 0.35))
            n = 1 + int(c.rng.random() * 4)
            for side, book in ((-1, bids), (1, asks)):
                raw = mid + side * offset
                if raw <= 0:
                    continue
                px = round_price(raw, spec.sz_decimals, ROUND_FLOOR if side < 0 else ROUND_CEILING)
                if book and book[-1].px == px:
                    continue
                sz = max(lot, round_size(Decimal(repr(notional)) / px, spec.sz_decimals))
                book.append(Level(px, sz, n))
        c.bids, c.asks = bids, asks

    def take(
        self,
        coin: str,
        is_buy: bool,
        size: Decimal,
        limit_px: Decimal,
        *,
        max_levels: int | None = None,
    ) -> list[Take]:
        """Consume synthetic liquidity up to `size` at prices no worse than `limit_px`. The
        consumed size stays gone until the next step, and the model price moves half way to
        the last price taken: size moves price."""
        c = self.coins[coin]
        book = c.asks if is_buy else c.bids
        takes: list[Take] = []
        left = size
        while left > 0 and book and (max_levels is None or len(takes) < max_levels):
            lvl = book[0]
            if (is_buy and lvl.px > limit_px) or (not is_buy and lvl.px < limit_px):
                break
            q = min(left, lvl.sz)
            takes.append(Take(lvl.px, q))
            left -= q
            lvl.sz -= q
            if lvl.sz <= 0:
                book.pop(0)
        if takes:
            last = float(takes[-1].px)
            c.mid_f += (last - c.mid_f) * 0.5
            c.day_volume += sum((t.px * t.sz for t in takes), Decimal(0))
            if not book:
                self._rebuild(c)
        return takes

    def impact_prices(self, coin: str, notional: Decimal = Decimal(10_000)) -> tuple[str, str]:
        """The average prices to sell and buy `notional` (metaAndAssetCtxs' impactPxs)."""
        return (
            wire(_impact(self.coins[coin].bids, notional)),
            wire(_impact(self.coins[coin].asks, notional)),
        )


def _impact(levels: Iterable[Level], notional: Decimal) -> Decimal:
    left = notional
    last = Decimal(0)
    for lvl in levels:
        last = lvl.px
        left -= lvl.px * lvl.sz
        if left <= 0:
            break
    return last
