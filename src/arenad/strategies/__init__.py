"""Portfolio-allocation strategies: definitions, backtests, sweeps and active rebalancing (seed 003)."""
