"""The `[strategies]` section of config.toml: defaults for backtests, sweeps and rebalancing.

Everything here is a default that the CLI flags (and a strategy file's own fields) override,
so a sweep run from the shell and one run inside the daemon agree unless told otherwise.
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field, field_validator

from arenad.config.section import Section

Rebalance = Literal["daily", "weekly", "monthly"]


class StrategiesSettings(Section):
    """Portfolio-allocation strategies: backtests, batch sweeps, active rebalancing."""

    workers: int = Field(default=2, ge=1, le=64)
    """Worker processes of a batch sweep. Backtests are CPU-bound numpy work; more workers
    than cores only adds start-up cost."""
    max_runs: int = Field(default=1_000, ge=1, le=100_000)
    """Most runs one sweep may start; a larger cartesian product is cut to this many (in
    order) and the job is marked truncated."""
    initial_capital: float = Field(default=100_000.0, gt=0, le=1e12)
    """Starting equity of a backtest, in account currency."""
    fee_bps: float = Field(default=0.0, ge=0, le=1_000)
    """Commission charged on every traded value, in basis points (Alpaca stocks: 0)."""
    slippage_bps: float = Field(default=2.0, ge=0, le=1_000)
    """Price impact assumed on every traded value, in basis points, charged like a fee."""
    rebalance: Rebalance = "monthly"
    """Default rebalance frequency: the first trading day of each day, week or month."""
    benchmark_symbol: str = Field(default="SPY", min_length=1, max_length=15)
    """Buy-and-hold benchmark every backtest is compared with (when the price file has it)."""

    # --- active strategies (the rebalancer inside `arenad run`) ---------------------------
    rebalancer_enabled: bool = True
    """Run the rebalancer of active strategies in the daemon. With no active strategy it
    makes no request at all."""
    check_interval_s: float = Field(default=60.0, ge=1.0, le=3_600.0)
    """How often active strategies are checked: due rebalances, order status, snapshots."""
    alpaca_trading_url: str = "http://127.0.0.1:8766"
    """Alpaca trading API of active strategies: the simulator (as shipped),
    `https://paper-api.alpaca.markets` (paper) or `https://api.alpaca.markets` (live: needs
    `mode = "live"` and `--live`, and only `live` active strategies trade there). Restart to
    change."""
    alpaca_data_url: str = "http://127.0.0.1:8766"
    """Alpaca market-data API for the daily closes strategies decide on
    (`https://data.alpaca.markets`). Restart to change."""
    alpaca_feed: Literal["iex", "sip"] = "iex"
    """Market-data feed of those closes (`sip` needs a paid plan)."""
    rebalance_time: time = time(15, 45)
    """Default New York time of day at which an activated strategy rebalances (the first
    open session at or after it, once per period)."""
    fractional: bool = True
    """Order fractional shares (Alpaca: market day orders, at least $1). Off: whole shares."""
    cash_buffer_bps: float = Field(default=50.0, ge=0, le=1_000)
    """Part of a strategy's equity left in cash at each rebalance, so market orders sized at
    the last close cannot need more cash than the strategy has."""

    @field_validator("alpaca_trading_url", "alpaca_data_url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")
