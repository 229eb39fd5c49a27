"""Portfolio-allocation strategies (seed 003): definitions, backtests, sweeps, rebalancing."""
