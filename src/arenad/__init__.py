"""arenad: a daemon that runs LLM trading arenas and fades AI bots on Hyperliquid."""

__version__ = "0.1.0"
