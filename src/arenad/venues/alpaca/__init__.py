"""Alpaca adapter: REST v2 over httpx (parsed with alpaca-py's models) and the two streams.

Nothing here blocks the event loop: alpaca-py's synchronous clients are not used; its pydantic
models are, so what we parse is what the official SDK would.
"""
