"""Slow, obvious reference implementations the engine is checked against.

Written per date and per holding with plain loops, independently of the engine's vectorised
code, so that agreement between the two is evidence rather than repetition.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from arenad.strategies.definition import (
    GroupNode,
    InverseVolatility,
    Root,
    SelectTopNode,
    Specified,
    TickerNode,
    effective_weighting,
)


class NearTie(Exception):
    """Two children rank within float noise of each other; either pick would be right."""


def _ret(closes: np.ndarray, s: int, j: int) -> float:
    return float(closes[s, j] / closes[s - 1, j] - 1.0)


def _series(w: dict[int, float], closes: np.ndarray, t: int, window: int) -> list[float]:
    return [
        sum(wj * _ret(closes, s, j) for j, wj in w.items()) for s in range(t - window + 1, t + 1)
    ]


def _momentum(xs: list[float]) -> float:
    return math.prod(1.0 + x for x in xs) - 1.0


def _vol(xs: list[float]) -> float:
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _mix(
    weighting: Any, children: list[Any], kids: list[dict[int, float]], closes: np.ndarray, t: int
) -> dict[int, float]:
    if isinstance(weighting, Specified):
        raw = [float(c.weight) for c in children]
    elif isinstance(weighting, InverseVolatility):
        raw = [1.0 / max(_vol(_series(k, closes, t, weighting.window)), 1e-12) for k in kids]
    else:
        raw = [1.0] * len(children)
    total = sum(raw)
    out: dict[int, float] = {}
    for r, k in zip(raw, kids, strict=True):
        for j, wj in k.items():
            out[j] = out.get(j, 0.0) + r / total * wj
    return out


def ref_node(node: Any, closes: np.ndarray, t: int, col: dict[str, int]) -> dict[int, float]:
    if isinstance(node, TickerNode):
        return {col[node.ticker]: 1.0}
    kids = [ref_node(c, closes, t, col) for c in node.children]
    if isinstance(node, GroupNode):
        return _mix(
            effective_weighting(node.weighting, node.children), node.children, kids, closes, t
        )
    assert isinstance(node, SelectTopNode)
    stats = []
    for i, k in enumerate(kids):
        xs = _series(k, closes, t, node.window)
        v = _momentum(xs) if node.metric == "momentum" else _vol(xs)
        stats.append((-v if node.metric == "momentum" else v, i))
    ranked = sorted(stats)
    if node.n < len(ranked):
        a, b = ranked[node.n - 1][0], ranked[node.n][0]
        if a != b and abs(a - b) <= 1e-9 * max(1.0, abs(a)):
            raise NearTie
        if a == b and kids[ranked[node.n - 1][1]] != kids[ranked[node.n][1]]:
            raise NearTie
    picked = sorted(i for _, i in ranked[: node.n])
    return _mix(
        node.weighting, [node.children[i] for i in picked], [kids[i] for i in picked], closes, t
    )


def ref_weights(root: Root, closes: np.ndarray, t: int, symbols: list[str]) -> np.ndarray:
    col = {s: j for j, s in enumerate(symbols)}
    w = _mix(
        effective_weighting(root.weighting, root.elements),
        list(root.elements),
        [ref_node(c, closes, t, col) for c in root.elements],
        closes,
        t,
    )
    out = np.zeros(len(symbols))
    for j, v in w.items():
        out[j] = v
    return out


def ref_simulate(
    weights_at: dict[int, np.ndarray],
    closes: np.ndarray,
    first: int,
    last: int,
    capital: float,
    cost_rate: float,
) -> list[float]:
    """Equity per day with holdings in shares, rebalanced at the rows of ``weights_at``."""
    shares = [0.0] * closes.shape[1]
    equity = []
    value = capital
    for t in range(first, last + 1):
        if t in weights_at:
            held = [shares[j] * closes[t, j] for j in range(len(shares))]
            if t != first:
                value = sum(held)
            w = weights_at[t]
            traded = sum(abs(w[j] * value - held[j]) for j in range(len(shares)))
            value -= cost_rate * traded
            shares = [w[j] * value / closes[t, j] for j in range(len(shares))]
        equity.append(sum(shares[j] * closes[t, j] for j in range(len(shares))))
    return equity
