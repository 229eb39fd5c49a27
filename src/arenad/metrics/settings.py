"""The `[metrics]` section of config.toml."""

from __future__ import annotations

from pydantic import Field

from arenad.config.section import Section


class MetricsSettings(Section):
    """How performance figures are computed and when they are trusted."""

    risk_free_rate: float = Field(default=0.0, ge=-0.1, le=1.0)
    """Annual risk-free rate subtracted in Sharpe and Sortino (0.04 = 4 % a year)."""
    min_points: int = Field(default=30, ge=2, le=100_000)
    """Fewest equity returns a ratio (Sharpe, Sortino, volatility, annual return) may rest on;
    below it the figure is marked insufficient and not ranked on."""
    min_trades: int = Field(default=10, ge=1, le=100_000)
    """Fewest round trips win rate, profit factor and expectancy may rest on."""
