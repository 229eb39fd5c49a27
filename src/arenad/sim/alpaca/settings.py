"""The `[sim.alpaca]` section: what only the simulated Alpaca needs.

Shared simulator settings (host, `alpaca_port`, seed, `always_open`, `alpaca_starting_cash`,
faults) stay in `[sim]`; the fields here are Alpaca's own limits and the knobs of the stock
market model, with defaults that match a free Alpaca paper account.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator

from arenad.config.section import Section

DEFAULT_SYMBOLS: tuple[str, ...] = (
    "SPY", "QQQ", "IWM", "TLT", "GLD",
    "AAPL", "MSFT", "NVDA", "GOOG", "GOOGL", "AMZN", "META", "TSLA", "AMD",
)  # fmt: skip


class AlpacaSimSettings(Section):
    """The simulated Alpaca paper venue (trading API, market data, both streams)."""

    symbols: list[str] = Field(default_factory=lambda: list(DEFAULT_SYMBOLS))
    """Listed assets. Known tickers get realistic prices and volatility; other valid tickers
    get parameters derived from the seed. Orders for anything else get "asset not found"."""
    margin_multiplier: Decimal = Field(default=Decimal(2), ge=1, le=4)
    """Buying power per dollar of equity (1: cash account; 2: Reg T margin account)."""
    requests_per_minute: int = Field(default=200, ge=1, le=100_000)
    """REST requests one key may make per minute before getting 429 (Alpaca: 200)."""
    tick_interval_s: float = Field(default=0.5, gt=0.0, le=60.0)
    """How often (wall seconds) resting orders are checked against the price and trades and
    quotes are pushed on the market-data stream."""
    time_scale: float = Field(default=1.0, gt=0.0, le=10_000.0)
    """Simulated seconds per wall second for the stock market (60: a minute bar every second).
    Market hours follow the simulated time."""
    max_fill_qty: Decimal = Field(default=Decimal(10_000), gt=0)
    """Most shares one fill may take; bigger orders fill over several ticks, with
    `partial_fill` updates."""
    spread_bps: Decimal = Field(default=Decimal(2), ge=0, le=500)
    """Quoted bid-ask spread in basis points of the price; market orders cross it."""
    stream_auth_timeout_s: float = Field(default=10.0, gt=0.0, le=600.0)
    """A market-data connection that has not authenticated after this long gets error 404
    "auth timeout" and is closed (Alpaca: 10 s)."""
    stream_symbol_limit: int = Field(default=30, ge=1, le=100_000)
    """Distinct symbols one market-data connection may subscribe to (IEX plan: 30); more gets
    error 405. A `*` subscription does not count."""
    stream_outbox_limit: int = Field(default=10_000, ge=10)
    """Messages queued for one stream connection before it is a slow client (error 407)."""
    sip_enabled: bool = False
    """Whether keys may use the `/v2/sip` feed; off, auth there gets 409 "insufficient
    subscription", as for a free plan."""

    @field_validator("symbols")
    @classmethod
    def _tickers(cls, value: list[str]) -> list[str]:
        from arenad.sim.alpaca.prices import valid_symbol

        bad = [s for s in value if not valid_symbol(s)]
        if bad:
            raise ValueError(
                "not a US stock ticker (1-6 capital letters, optional .CLASS suffix): "
                + ", ".join(bad)
            )
        if len(set(value)) != len(value):
            raise ValueError("symbols must be unique")
        if not value:
            raise ValueError("at least one symbol must be listed")
        return value
