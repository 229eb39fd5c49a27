"""The `[metrics]` section of config.toml."""

from __future__ import annotations

from pydantic import Field

from arenad.config.section import Section


class MetricsSettings(Section):
    """How performance figures are computed and when they are trusted."""

    risk_free_rate: float = Field(default=0.0, ge=-0.1, le=1.0)
    """Annual risk-free rate subtracted in Sharpe and Sortino (0.04 = 4 % a year)."""
    min_points: int = Field(default=30, ge=2, le=100_000)
    """Fewest equity returns a ratio (Sharpe, Sortino, volatility, annual return) may rest on,
    counted at the window's natural period (hourly for the daily board, daily otherwise);
    below it the figure is None/NULL everywhere and named in ``insufficient``."""
    min_trades: int = Field(default=10, ge=1, le=100_000)
    """Fewest round trips win rate, profit factor and expectancy may rest on (below it:
    None/NULL and named in ``insufficient``)."""
    recompute_interval_s: float = Field(default=60.0, ge=1.0, le=86_400.0)
    """How often the daemon recomputes standings and summaries (also right after an engine
    reports a closed trade)."""
    leaderboard_snapshot_interval_s: float = Field(default=3600.0, ge=60.0, le=7 * 86_400.0)
    """How often the ranking of each timeframe is stored in leaderboard_snapshots; rank
    changes are measured against the previous stored ranking."""
    full_resolution_days: float = Field(default=30.0, ge=1.0, le=3650.0)
    """Equity snapshots younger than this keep full resolution; older ones are thinned to the
    last snapshot of each hour."""
