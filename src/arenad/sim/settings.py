"""The `[sim]` section of config.toml.

The simulator is the only TCP listener arenad ever opens, so its host must be a loopback
address: a misconfigured `0.0.0.0` would expose an unauthenticated "exchange" to the network.
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from arenad.config.section import Section
from arenad.sim.alpaca.settings import AlpacaSimSettings

DEFAULT_BOT_NAMES: tuple[str, ...] = (
    "gpt-5",
    "gemini-2.5-pro",
    "claude-sonnet-4.5",
    "grok-4",
    "deepseek-v3.1",
    "qwen3-max",
)
DEFAULT_COINS: tuple[str, ...] = (
    "BTC",
    "ETH",
    "SOL",
    "BNB",
    "DOGE",
    "XRP",
    "AVAX",
    "LINK",
    "ARB",
    "SUI",
)


class FaultSettings(Section):
    """Faults injected from start-up; the control endpoint `POST /_sim/faults` changes them
    at run time. All off by default."""

    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Probability that a websocket connection is closed (abruptly, no close frame reason)
    instead of sending the next message."""
    latency_ms: float = Field(default=0.0, ge=0.0, le=60_000.0)
    """Delay added before every HTTP request is handled and every websocket message (a slow
    network on the way in: an order is acted on only after it)."""
    reply_latency_ms: float = Field(default=0.0, ge=0.0, le=60_000.0)
    """Delay added after an HTTP request is handled, before its answer (the venue acted, the
    answer is late: what a client sees when its connection dies mid-request)."""
    late_action_ms: float = Field(default=0.0, ge=0.0, le=600_000.0)
    """Hyperliquid `/exchange` only: the venue takes the action in, its answer is lost (the
    connection is cut before any reply), and a slow path inside the venue applies the action
    this many ms later — refused then if its `expiresAfter` has passed (0: off)."""
    http_error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Probability that an HTTP request is answered with `http_error_status` instead (REST
    only: websocket handshakes are not refused; their faults are the three below)."""
    http_error_status: int = Field(default=429, ge=400, le=599)
    """Status of injected HTTP errors: 429 (rate limited) or a 5xx."""
    malformed_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Probability that a websocket message is sent truncated (invalid JSON/msgpack)."""
    paused_streams: list[str] = Field(default_factory=list)
    """Streams that send nothing while listed (their messages are lost, as in a stall):
    Hyperliquid subscription types (`allMids`, `userFills`, ...), or `*` for all."""


class SimBotSettings(Section):
    """One synthetic trader on the simulated Hyperliquid."""

    name: str = Field(min_length=1, max_length=64)
    """Display name; also the seed of the wallet address unless `address` is given."""
    address: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")
    """Fixed wallet address (0x + 40 hex). Empty: derived from the simulator seed and name."""
    strategy: Literal["random", "momentum", "mean_reversion"] = "random"
    """How the bot picks its trades: coin flips, following or fading the last move."""
    coins: list[str] = Field(default_factory=lambda: ["BTC", "ETH", "SOL", "BNB", "DOGE", "XRP"])
    """Coins the bot trades."""


def _default_bots() -> list[SimBotSettings]:
    return [SimBotSettings(name=n) for n in DEFAULT_BOT_NAMES]


class SimReplaySettings(Section):
    """Replay of recorded Alpha Arena round trips as fills on the bot wallets."""

    enabled: bool = False
    """Feed recorded trades instead of (in addition to) the synthetic strategies."""
    trades_path: Path | None = None
    """A nof1 `trades.json` file. Relative paths are relative to the working directory."""
    time_compression: float = Field(default=3600.0, gt=0.0, le=1e9)
    """Recorded seconds per simulated second (3600: an hour of history per second)."""
    loop: bool = True
    """Start over when the recording ends."""


class SimSettings(Section):
    """Settings of the built-in simulator (`arenad sim`, and `arenad demo` in-process)."""

    host: str = "127.0.0.1"
    """Address the simulator listens on. Must be loopback (127.0.0.0/8, ::1 or localhost)."""
    hyperliquid_port: int = Field(default=8765, ge=0, le=65535)
    """Port serving Hyperliquid's `/info`, `/exchange` and `/ws` (0: any free port)."""
    alpaca_port: int = Field(default=8766, ge=0, le=65535)
    """Port serving Alpaca's trading and market-data REST and both streams (0: any free port)."""
    seed: int = 42
    """Seed of every random choice: prices, bots, faults. Same seed, same fills."""
    always_open: bool = True
    """Treat the stock market as always open (demos at night); false follows NYSE sessions."""
    starting_usdc: Decimal = Field(default=Decimal(10_000), gt=0)
    """USDC balance credited to any Hyperliquid address the first time it signs an action."""
    auto_fund_signers: bool = True
    """Give an account to any address that signs a Hyperliquid action. Off: only bots and
    addresses funded with `POST /_sim/fund` exist; others get "User or API Wallet ... does not
    exist.", as on mainnet."""
    alpaca_starting_cash: Decimal = Field(default=Decimal(100_000), gt=0)
    """Cash of the paper account each new Alpaca key pair gets."""
    tick_interval_s: float = Field(default=1.0, gt=0.0, le=3600.0)
    """Simulated market time step: prices move and `allMids`/`l2Book` are pushed this often."""
    manual_ticks: bool = False
    """Stop both venues' tickers: time moves only when asked (`POST /_sim/step`, or `step()`
    in-process), each step still `tick_interval_s` long. For tests that drive the market by
    hand and must not race a timer."""
    coins: list[str] = Field(default_factory=lambda: list(DEFAULT_COINS))
    """Perpetuals listed on the simulated Hyperliquid (known names get mainnet-like prices,
    volatility and szDecimals)."""
    taker_fee_rate: Decimal = Field(default=Decimal("0.00045"), ge=0, le=Decimal("0.01"))
    """Fee on the notional of a fill that takes liquidity (Hyperliquid base tier: 0.045%)."""
    maker_fee_rate: Decimal = Field(default=Decimal("0.00015"), ge=-1, le=Decimal("0.01"))
    """Fee on the notional of a fill that adds liquidity (base tier: 0.015%)."""
    funding_interval_s: float = Field(default=3600.0, gt=0.0)
    """How often funding is paid on open perp positions (Hyperliquid: hourly)."""
    ws_idle_timeout_s: float = Field(default=60.0, gt=0.0, le=3600.0)
    """A websocket that sends nothing for this long is closed (Hyperliquid: 60 s)."""
    ws_max_users: int = Field(default=10, ge=1, le=1000)
    """Distinct users one websocket may subscribe to across user streams (Hyperliquid: 10)."""
    bots_enabled: bool = True
    """Let the synthetic bots trade. Their wallets exist either way (replay uses them)."""
    bot_interval_s: float = Field(default=5.0, gt=0.0, le=86400.0)
    """Mean time between two trades of one bot."""
    bot_max_notional_usd: Decimal = Field(default=Decimal(2_000), gt=10)
    """Largest notional of one bot order."""
    bots: list[SimBotSettings] = Field(default_factory=_default_bots)
    """The synthetic traders (default: six named after the Alpha Arena models)."""
    replay: SimReplaySettings = SimReplaySettings()
    """Replay of recorded Alpha Arena trades."""
    faults: FaultSettings = FaultSettings()
    """Fault injection at start-up."""
    alpaca: AlpacaSimSettings = AlpacaSimSettings()
    """The simulated Alpaca venue: listed symbols, margin, rate limit, stream limits."""

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value == "localhost":
            return value
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"host must be a loopback IP address, got {value!r}") from None
        if not address.is_loopback:
            raise ValueError(
                f"host must be loopback (127.0.0.1 or ::1): the simulator accepts any key, "
                f"got {value!r}"
            )
        return value

    @field_validator("bots")
    @classmethod
    def _unique_bot_names(cls, value: list[SimBotSettings]) -> list[SimBotSettings]:
        names = [b.name for b in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"bot names must be unique, repeated: {', '.join(dupes)}")
        return value
