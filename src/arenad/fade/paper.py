"""Paper fills (``fade.mode = "simulation"``): an order fills inside arenad against the live
order book as a taker would — walking the levels from the best price — and pays the venue's
taker fee. Pure: the caller fetches the book (``l2Book``)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from arenad.fade.accounting import ZERO
from arenad.fade.engine import FillResult

BPS = Decimal(10_000)


def levels(book: Any, is_buy: bool) -> list[tuple[Decimal, Decimal]]:
    """The side a taker hits — asks for a buy, bids for a sell — as (price, size), best
    first. Malformed levels are dropped (a thinner book, never a wrong price)."""
    try:
        side = book["levels"][1 if is_buy else 0]
    except (KeyError, IndexError, TypeError):
        return []
    out = []
    for lv in side if isinstance(side, list) else []:
        try:
            px, sz = Decimal(str(lv["px"])), Decimal(str(lv["sz"]))
        except (KeyError, TypeError, InvalidOperation):
            continue
        if px > 0 and sz > 0 and px.is_finite() and sz.is_finite():
            out.append((px, sz))
    out.sort(key=lambda x: x[0], reverse=not is_buy)
    return out


def walk(
    book_side: Sequence[tuple[Decimal, Decimal]],
    size: Decimal,
    fee_bps: Decimal,
    limit: Decimal | None = None,
    *,
    is_buy: bool,
) -> FillResult:
    """Fill ``size`` (unsigned) against ``book_side`` up to ``limit``; IOC: the rest is
    cancelled. The fee is on the notional filled."""
    left, cost = size, ZERO
    for px, sz in book_side:
        if limit is not None and (px > limit if is_buy else px < limit):
            break
        take = min(left, sz)
        cost += take * px
        left -= take
        if not left:
            break
    filled = size - left
    if not filled:
        return FillResult("cancelled", error="no liquidity within the limit")
    avg = cost / filled
    return FillResult(
        "filled" if not left else "partially_filled",
        filled,
        avg,
        cost * fee_bps / BPS,
    )


def paper_fill(
    book: Any, is_buy: bool, size: Decimal, fee_bps: Decimal, limit: Decimal | None = None
) -> FillResult:
    return walk(levels(book, is_buy), size, fee_bps, limit, is_buy=is_buy)
