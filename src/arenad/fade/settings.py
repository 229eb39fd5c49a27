"""The `[fade]` section of config.toml: which bots are faded, how, and within which limits."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from arenad.config.section import Section

WALLET = re.compile(r"^0x[0-9a-fA-F]{40}$")


class FadeBotSettings(Section):
    """One tracked bot (`[[fade.bots]]`): its wallet is watched and its fade book trades the
    inverse of its positions."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,39}$")
    """Short id (lower case); the bot's book is `bot:<id>`, its fade book `fade:<id>`."""
    name: str = ""
    """Display name (defaults to the id)."""
    wallet: str
    """The bot's Hyperliquid wallet address (0x and 40 hex digits)."""
    enabled: bool = True
    """Fade this bot. A disabled bot's fills are still recorded and decided `skip`."""
    leverage_multiplier: Decimal = Field(default=Decimal(1), gt=0, le=10)
    """k in the fade target −k × the bot's position (1 = the same size, opposite side)."""
    max_notional_usd: Decimal | None = Field(default=None, gt=0)
    """Cap on this fade book's notional in any one coin (USD); orders are clipped to it."""

    @field_validator("wallet")
    @classmethod
    def _wallet(cls, v: str) -> str:
        if not WALLET.match(v):
            raise ValueError("must be 0x followed by 40 hex digits")
        return v.lower()

    @property
    def display_name(self) -> str:
        return self.name or self.id

    @property
    def book_id(self) -> str:
        return f"bot:{self.id}"

    @property
    def fade_book_id(self) -> str:
        return f"fade:{self.id}"


class FadeSettings(Section):
    """FadeArena: watch AI bots' wallets on Hyperliquid and hold the inverse of their
    positions, behind the kill switch, exposure caps and the daily loss limit (`[risk]`)."""

    enabled: bool = True
    """Run the fade loop (ingest, decisions, orders)."""
    mode: Literal["simulation", "live"] = "simulation"
    """`simulation`: orders fill on paper inside arenad against the live order book (taker
    fee charged); `live`: IOC limit orders are sent to `network`."""
    network: Literal["sim", "testnet", "mainnet"] = "sim"
    """Where market data comes from and live orders go: the built-in simulator (`[sim]`),
    Hyperliquid testnet or mainnet. Live orders anywhere but `sim` need `arenad run --live`."""
    info_url: str = ""
    """Override of the network's info/exchange base URL (empty: the network's own)."""
    ws_url: str = ""
    """Override of the network's websocket URL (empty: the network's own)."""
    bots: list[FadeBotSettings] = Field(default_factory=list)
    """The bots to watch (`[[fade.bots]]`)."""
    initial_capital_usd: Decimal = Field(default=Decimal(10_000), gt=0)
    """Starting capital of each fade book (its equity curve and return start here)."""
    scale_by_equity_ratio: bool = False
    """Scale each fade target by (fade book equity / bot equity), so a fade book smaller than
    its bot holds proportionally smaller positions."""
    global_exposure_cap_usd: Decimal | None = Field(default=Decimal(50_000), gt=0)
    """Cap on the account's total notional over all coins (USD); orders that would pass it
    are clipped, or skipped when nothing is left. Unset: no cap."""
    asset_caps_usd: dict[str, Decimal] = Field(default_factory=dict)
    """Cap on the account's notional in one coin, by coin (`{BTC = 20000}`)."""
    default_asset_cap_usd: Decimal | None = Field(default=Decimal(20_000), gt=0)
    """Cap for coins not in `asset_caps_usd`. Unset: no cap."""
    max_order_notional_usd: Decimal | None = Field(default=Decimal(10_000), gt=0)
    """Largest single order (USD); larger ones are clipped to it."""
    max_orders_per_minute: int = Field(default=30, ge=1, le=10_000)
    """Order rate limit over a sliding minute; over it, decisions are `skip`."""
    rate_guard_warn_share: float = Field(default=0.1, ge=0.0, le=1.0)
    """A warning event when the order rate limit skipped more than this share of the fade's
    decisions over the last minute (at most one a minute): the fade books fall behind their
    targets. `fade.stats` reports the share."""
    min_order_notional_usd: Decimal = Field(default=Decimal(10), ge=0)
    """Hyperliquid's minimum order value; smaller orders are skipped (the target heals later)."""
    slippage_bps: Decimal = Field(default=Decimal(50), ge=0, le=1000)
    """Live IOC orders are limited at the best price ± this many basis points."""
    taker_fee_bps: Decimal = Field(default=Decimal("4.5"), ge=0, le=100)
    """Taker fee charged on paper fills (Hyperliquid's base tier is 4.5 bps)."""
    snapshot_interval_s: float = Field(default=300.0, ge=1.0, le=86_400.0)
    """Equity snapshot of every bot and fade book this often."""
    large_move_pct: float = Field(default=2.0, gt=0, le=100)
    """An extra snapshot when a book's equity moved this much since the last one."""
    clearinghouse_check_interval_s: float = Field(default=60.0, ge=5.0, le=86_400.0)
    """Bot positions from fills are compared with `clearinghouseState` this often (drift is an
    event)."""
    poll_interval_s: float = Field(default=5.0, ge=0.5, le=3600.0)
    """Polling period for wallets beyond the 10 a websocket may track."""
    order_expiry_s: float = Field(default=3.0, ge=0.5, le=30.0)
    """Live orders carry Hyperliquid's `expiresAfter` = the intent's time + this window: the
    venue refuses an order that reaches it later, so one whose answer was lost cannot fill
    late. An order the venue does not know `order_expiry_s` + `clock_margin_s` after its
    intent is booked `not_sent` (a fact, not a guess)."""
    clock_margin_s: float = Field(default=2.0, ge=0.0, le=60.0)
    """Allowance for the difference between our clock and the venue's when deciding that an
    expired order never reached it."""
    account_drift_tolerance_usd: Decimal = Field(default=Decimal(1), ge=0)
    """Own-account reconciliation (live): the account book's positions are compared with the
    venue's `clearinghouseState` for our address at every upkeep and after every restart's
    backfill. Any difference is a drift event; one worth more than this (USD at the mark) also
    moves trading to `account_drift_state` until the operator acknowledges it
    (`arenad fade ack-drift`)."""
    account_drift_state: Literal["REDUCING", "HALTED"] = "REDUCING"
    """What a drift above the tolerance does: `REDUCING` (only exposure-reducing orders) or
    `HALTED` (the kill switch, by `account_drift`)."""

    @model_validator(mode="after")
    def _unique(self) -> FadeSettings:
        ids = [b.id for b in self.bots]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"bots: duplicate id {', '.join(dup)}")
        wallets = [b.wallet for b in self.bots]
        dupw = sorted({w for w in wallets if wallets.count(w) > 1})
        if dupw:
            raise ValueError(f"bots: the same wallet twice ({', '.join(dupw)})")
        return self

    def bot(self, bot_id: str) -> FadeBotSettings | None:
        return next((b for b in self.bots if b.id == bot_id), None)

    def asset_cap(self, coin: str) -> Decimal | None:
        return self.asset_caps_usd.get(coin, self.default_asset_cap_usd)
