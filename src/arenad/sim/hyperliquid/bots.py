"""Synthetic traders and the replay of recorded Alpha Arena round trips.

Bots are the wallets the fade engine follows in a demo. They trade through the same
clearinghouse as any client (so their fills, positions and order updates are real in every
`/info` and `/ws` shape), but they skip signing: they are inside the venue.

Each bot's wallet is the address of a private key derived from the simulator seed and the
bot's name, so addresses are stable across runs of the same seed, and a test can even sign as
a bot (`bot_key`).

Replay turns a nof1 `trades.json` (entry/exit price, size, side, times of each round trip) into
two fills per trade on the bot whose name matches the model, time-compressed onto the
simulator's steps.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from eth_account import Account

from arenad.sim.hyperliquid.engine import Clearinghouse
from arenad.sim.market import wire
from arenad.sim.settings import SimBotSettings, SimReplaySettings
from arenad.venues.hyperliquid.rules import round_price, round_size

# nof1 model ids that differ from our default bot names.
NOF1_ALIASES = {
    "claude-sonnet-4-5": "claude-sonnet-4.5",
    "deepseek-chat-v3.1": "deepseek-v3.1",
}


def bot_key(seed: int, name: str) -> str:
    """The private key (hex) of a bot's wallet: only ever a simulator identity."""
    return "0x" + hashlib.sha256(f"arenad-sim-bot:{seed}:{name}".encode()).hexdigest()


def bot_address(seed: int, name: str) -> str:
    return str(Account.from_key(bot_key(seed, name)).address).lower()


@dataclass
class Bot:
    name: str
    address: str
    strategy: str
    coins: list[str]
    rng: random.Random
    trades: int = 0
    rejected: int = 0


class Bots:
    def __init__(
        self,
        house: Clearinghouse,
        configs: list[SimBotSettings],
        *,
        seed: int,
        interval_s: float,
        max_notional: Decimal,
    ) -> None:
        self.house = house
        self.interval_s = interval_s
        self.max_notional = max_notional
        self.bots: list[Bot] = []
        for cfg in configs:
            address = (cfg.address or bot_address(seed, cfg.name)).lower()
            coins = [c for c in cfg.coins if c in house.asset_of]
            if not coins:
                raise ValueError(f"bot {cfg.name!r}: none of its coins {cfg.coins} is listed")
            self.bots.append(
                Bot(cfg.name, address, cfg.strategy, coins, random.Random(f"bot:{seed}:{cfg.name}"))
            )
            house.account(address)
        self._last_mid: dict[str, Decimal] = {c: house.market.mid(c) for c in house.coins}

    def by_name(self) -> dict[str, Bot]:
        return {b.name: b for b in self.bots}

    def step(self, dt_s: float, now_ms: int) -> None:
        """Each bot trades with probability dt/interval (a Poisson pace)."""
        p = 1.0 - math.exp(-dt_s / self.interval_s)
        market = self.house.market
        for bot in self.bots:
            if bot.rng.random() >= p:
                continue
            coin = bot.rng.choice(bot.coins)
            acct = self.house.accounts[bot.address]
            pos = acct.positions.get(coin)
            mid = market.mid(coin)
            move = mid - self._last_mid.get(coin, mid)
            if pos is not None and pos.szi != 0 and bot.rng.random() < 0.45:
                is_buy = pos.szi < 0
                size = abs(pos.szi)
                reduce_only = True
            else:
                if bot.strategy == "momentum" and move != 0:
                    is_buy = move > 0
                elif bot.strategy == "mean_reversion" and move != 0:
                    is_buy = move < 0
                else:
                    is_buy = bot.rng.random() < 0.5
                notional = Decimal(repr(bot.rng.uniform(50.0, float(self.max_notional))))
                spec = market.spec(coin)
                size = round_size(notional / mid, spec.sz_decimals)
                reduce_only = False
            self._order(bot, coin, is_buy, size, reduce_only, now_ms)
        self._last_mid = {c: market.mid(c) for c in self.house.coins}

    def _order(
        self, bot: Bot, coin: str, is_buy: bool, size: Decimal, reduce_only: bool, now_ms: int
    ) -> None:
        spec = self.house.market.spec(coin)
        mid = self.house.market.mid(coin)
        # A marketable IOC, 1% through the mid, as the SDK's market_open does (with 5%).
        px = round_price(
            mid * (Decimal("1.01") if is_buy else Decimal("0.99")),
            spec.sz_decimals,
            ROUND_CEILING if is_buy else ROUND_FLOOR,
        )
        if size <= 0:
            return
        wire_order = {
            "a": self.house.asset_of[coin],
            "b": is_buy,
            "p": wire(px),
            "s": wire(size),
            "r": reduce_only,
            "t": {"limit": {"tif": "Ioc"}},
        }
        (status,) = self.house.place(bot.address, [wire_order], now_ms)
        if "error" in status:
            bot.rejected += 1
        else:
            bot.trades += 1


@dataclass(frozen=True)
class ReplayEvent:
    at_s: float
    """Seconds after the first recorded entry."""
    bot: str
    coin: str
    is_buy: bool
    px: Decimal
    sz: Decimal


def load_replay(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"replay file {path}: {e}") from e
    trades = data.get("trades") if isinstance(data, dict) else data
    if not isinstance(trades, list):
        raise ValueError(f"replay file {path}: expected a 'trades' list")
    return trades


def replay_events(
    trades: list[dict[str, Any]], bot_names: set[str]
) -> tuple[list[ReplayEvent], int]:
    """Entry and exit fills of each round trip whose model has a bot; and how many trades were
    skipped (unknown model or malformed)."""
    raw: list[tuple[float, str, str, bool, Decimal, Decimal]] = []
    skipped = 0
    for t in trades:
        try:
            model = str(t["model_id"])
            bot = NOF1_ALIASES.get(model, model)
            coin = str(t["symbol"])
            long = str(t["side"]).lower() == "long"
            qty = abs(Decimal(str(t["quantity"])))
            entry = (float(t["entry_time"]), Decimal(str(t["entry_price"])))
            exit_ = (float(t["exit_time"]), Decimal(str(t["exit_price"])))
        except (KeyError, TypeError, ValueError, ArithmeticError):
            skipped += 1
            continue
        if bot not in bot_names or qty == 0:
            skipped += 1
            continue
        raw.append((entry[0], bot, coin, long, entry[1], qty))
        raw.append((exit_[0], bot, coin, not long, exit_[1], qty))
    if not raw:
        return [], skipped
    t0 = min(r[0] for r in raw)
    events = [ReplayEvent(r[0] - t0, r[1], r[2], r[3], r[4], r[5]) for r in raw]
    events.sort(key=lambda e: e.at_s)
    return events, skipped


class Replay:
    def __init__(self, house: Clearinghouse, bots: Bots, cfg: SimReplaySettings) -> None:
        if cfg.trades_path is None:
            raise ValueError("replay.enabled needs replay.trades_path")
        self.house = house
        self.cfg = cfg
        names = bots.by_name()
        self.addresses = {n: b.address for n, b in names.items()}
        self.events, self.skipped = replay_events(load_replay(cfg.trades_path), set(names))
        self.span_s = self.events[-1].at_s if self.events else 0.0
        self.cursor_s = 0.0
        self.index = 0
        self.fed = 0

    def step(self, dt_s: float, now_ms: int) -> None:
        if not self.events:
            return
        self.cursor_s += dt_s * self.cfg.time_compression
        while self.index < len(self.events) and self.events[self.index].at_s <= self.cursor_s:
            e = self.events[self.index]
            self.index += 1
            if e.coin not in self.house.asset_of:
                self.skipped += 1
                continue
            spec = self.house.market.spec(e.coin)
            sz = round_size(e.sz, spec.sz_decimals)
            if sz > 0:
                self.house.inject_fill(self.addresses[e.bot], e.coin, e.is_buy, e.px, sz, now_ms)
                self.fed += 1
        if self.index >= len(self.events) and self.cfg.loop:
            self.index = 0
            self.cursor_s = 0.0
