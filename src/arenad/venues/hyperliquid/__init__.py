"""Hyperliquid adapter: /info and /exchange over httpx, /ws over websockets.

These modules move JSON; they do not interpret it. Parsing wire messages into domain types
(fills, positions, order statuses) is pure code in ``wire.py``, tested on recorded data.
"""
