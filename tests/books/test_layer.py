"""BooksLayer: the snapshot coalescer and the position topic, on a real database."""

from __future__ import annotations

import sqlite3
from typing import Any

from arenad.books.layer import BooksLayer, Position
from arenad.books.tables import EquityPoint
from arenad.clock import FakeClock
from arenad.daemon.bus import Bus


def _points(path: Any, book: str) -> list[tuple[str, float]]:
    with sqlite3.connect(path) as c:
        return c.execute(
            "SELECT ts, equity FROM equity_snapshots WHERE book_id = ? ORDER BY ts", (book,)
        ).fetchall()


def _pt(clock: FakeClock, book: str, eq: float) -> EquityPoint:
    from arenad.store.db import utc_iso

    return EquityPoint(book, utc_iso(clock.now()), eq)


async def test_at_most_one_point_per_interval_the_last_offer_wins(store: Any) -> None:
    clock, bus = FakeClock(), Bus()
    sub = bus.subscribe(["equity"])
    layer = BooksLayer(store.writer, bus, clock, min_interval_s=lambda: 10.0)
    assert await layer.snapshot([_pt(clock, "fade:a", 100.0)]) == 1  # first: at once
    clock.advance(3)
    assert await layer.snapshot([_pt(clock, "fade:a", 101.0)]) == 0  # inside: pending
    clock.advance(3)
    assert await layer.snapshot([_pt(clock, "fade:a", 102.0)]) == 0  # replaces the pending
    assert [e for _, e in _points(store.path, "fade:a")] == [100.0]
    assert layer.next_due_in() == 4.0
    assert await layer.flush_due() == 0  # not yet
    clock.advance(4)
    assert await layer.flush_due() == 1
    assert [e for _, e in _points(store.path, "fade:a")] == [100.0, 102.0]
    # Another book is not held back by the first one's interval.
    assert await layer.snapshot([_pt(clock, "fade:b", 50.0)]) == 1
    # Forced (start-up/shutdown) points are written inside the interval.
    clock.advance(1)
    assert await layer.snapshot([_pt(clock, "fade:a", 103.0)], force=True) == 1
    assert [e for _, e in _points(store.path, "fade:a")] == [100.0, 102.0, 103.0]
    # Shutdown writes what is pending.
    clock.advance(1)
    await layer.snapshot([_pt(clock, "fade:a", 104.0)])
    await layer.close()
    assert [e for _, e in _points(store.path, "fade:a")][-1] == 104.0
    ticks = []
    while sub._items:
        ticks.append((await sub.get()).data)
    assert [t["equity"] for t in ticks if t["book_id"] == "fade:a"] == [
        100.0,
        102.0,
        103.0,
        104.0,
    ]
    assert all(isinstance(t["ts"], str) for t in ticks)


async def test_position_topic_open_change_close_only(store: Any) -> None:
    clock, bus = FakeClock(), Bus()
    sub = bus.subscribe(["position"])
    layer = BooksLayer(store.writer, bus, clock, min_interval_s=lambda: 10.0)

    def pos(size: str) -> Position:
        return Position("fade:a", "fade", "hyperliquid", "BTC", size, entry_price="100")

    assert layer.position(pos("0")) is False  # never open: nothing to close
    assert layer.position(pos("0.5")) is True  # open
    assert layer.position(pos("0.5")) is False  # unchanged
    assert layer.position(pos("-0.25")) is True  # size change
    assert layer.position(pos("0")) is True  # close
    assert layer.position(pos("0.0")) is False  # already closed
    sizes = []
    while sub._items:
        sizes.append((await sub.get()).data["size"])
    assert sizes == ["0.5", "-0.25", "0"]


async def test_a_held_point_is_taken_afresh_when_it_is_written(store: Any) -> None:
    """With ``recompute`` the coalesced point is the book as of its write: ts and equity of
    then, so two points of a book are never closer than the interval."""
    clock, bus = FakeClock(), Bus()
    layer = BooksLayer(store.writer, bus, clock, min_interval_s=lambda: 10.0)
    equity = {"fade:a": 100.0}

    def now_points(books: set[str]) -> list[EquityPoint]:
        return [_pt(clock, b, equity[b]) for b in sorted(books)]

    await layer.snapshot([_pt(clock, "fade:a", 100.0)], recompute=now_points)
    clock.advance(2)
    equity["fade:a"] = 101.0
    await layer.snapshot([_pt(clock, "fade:a", 101.0)], recompute=now_points)  # held
    clock.advance(8)
    equity["fade:a"] = 99.5  # the marks moved while it was held
    assert await layer.flush_due() == 1
    (first, second) = _points(store.path, "fade:a")
    from datetime import datetime

    gap = datetime.fromisoformat(second[0].replace("Z", "+00:00")) - datetime.fromisoformat(
        first[0].replace("Z", "+00:00")
    )
    assert gap.total_seconds() == 10.0
    assert second[1] == 99.5
