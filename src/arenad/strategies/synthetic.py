"""Seeded synthetic daily closes: the example price file, benchmarks and tests.

Weekdays only (no holiday calendar) and a geometric random walk per symbol with its own drift
and volatility, plus one shared market factor so that correlations — and therefore
diversification and inverse-volatility weighting — behave roughly like real assets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

from arenad.strategies.prices import PriceTable


def weekdays(start: date, count: int) -> list[str]:
    days = np.busday_offset(np.datetime64(start, "D"), np.arange(count), roll="forward")
    return [str(d) for d in days]


def make_prices(
    symbols: Sequence[str], days: int, *, seed: int = 7, start: date = date(2015, 1, 2)
) -> PriceTable:
    rng = np.random.default_rng(seed)
    n = len(symbols)
    drift = rng.uniform(-0.0001, 0.0006, n)
    vol = rng.uniform(0.005, 0.02, n)
    beta = rng.uniform(0.0, 1.2, n)
    market = rng.normal(0.0, 0.008, days)
    noise = rng.normal(0.0, 1.0, (days, n)) * vol
    rets = drift + market[:, None] * beta + noise
    rets[0] = 0.0
    closes = np.round(rng.uniform(20, 400, n) * np.exp(np.cumsum(rets, axis=0)), 4)
    return PriceTable.from_columns(
        weekdays(start, days), {s: closes[:, j] for j, s in enumerate(symbols)}
    )
