"""The simulated Alpaca paper venue: trading API v2, market data v2, both websocket streams.

`build_alpaca_app(settings, seed=..., faults=...)` is imported lazily so that loading the
`[sim.alpaca]` settings (which config checks do) does not pull in aiohttp and numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arenad.sim.alpaca.app import AlpacaSim, build_alpaca_app

__all__ = ["AlpacaSim", "build_alpaca_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from arenad.sim.alpaca import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
