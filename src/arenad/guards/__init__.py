"""Account-wide safety: the kill switch, the trading state and the daily loss limit."""
