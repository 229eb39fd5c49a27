"""The `[strategies]` section of config.toml: defaults for backtests, sweeps and rebalancing.

Everything here is a default that the CLI flags (and a strategy file's own fields) override,
so a sweep run from the shell and one run inside the daemon agree unless told otherwise.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

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
