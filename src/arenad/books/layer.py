"""The books layer at run time: registering books, equity snapshots through a coalescer, and
the live ``position`` / ``equity`` topics.

Coalescing: an engine offers a snapshot whenever its books change (a fill, an order result, a
rebalance). A book gets at most one point per ``min_interval_s``: an offer inside the interval
is kept as the book's *pending* point (a later offer replaces it) and written when the
interval has passed — by the next offer, by ``flush_due`` (the layer's ``books-flush`` loop),
or by ``close``. Forced offers (start-up, shutdown) are written at once, always.

All writes go through the single store writer; the bus messages go out once the write is
queued (``equity``) or at once (``position``, which mirrors the engine's state in memory).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite
import structlog

from arenad.books.tables import BookSpec, EquityPoint, register_book, write_equity
from arenad.clock import Clock
from arenad.daemon.bus import Bus
from arenad.store.db import utc_iso
from arenad.store.writer import StoreWriter

PublishFn = Callable[[str, dict[str, Any]], None]
Recompute = Callable[[set[str]], list[EquityPoint]]
"""Given book ids, their equity points as of now (an engine's current books and marks)."""

log = structlog.get_logger("arenad.books")


@dataclass(frozen=True, slots=True)
class Position:
    """The control protocol's ``Position`` (docs/control-protocol.md): ``size`` is an exact
    signed decimal string, ``"0"`` when the position closed."""

    book_id: str
    kind: str
    venue: str
    symbol: str
    size: str
    entry_price: str | None = None
    mark_price: str | None = None
    notional: float | None = None
    unrealized_pnl: float | None = None
    opened_at: str | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "book_id": self.book_id,
            "kind": self.kind,
            "venue": self.venue,
            "symbol": self.symbol,
            "size": self.size,
            "entry_price": self.entry_price,
            "mark_price": self.mark_price,
            "notional": self.notional,
            "unrealized_pnl": self.unrealized_pnl,
            "opened_at": self.opened_at,
        }


class BooksLayer:
    def __init__(
        self,
        writer: StoreWriter,
        bus: Bus,
        clock: Clock,
        *,
        min_interval_s: Callable[[], float],
    ) -> None:
        self.writer = writer
        self.bus = bus
        self.clock = clock
        self._min_interval_s = min_interval_s
        self._last_written: dict[str, float] = {}  # book → monotonic time of its last point
        self._pending: dict[str, EquityPoint] = {}
        self._recompute: dict[str, Recompute] = {}
        self._sizes: dict[tuple[str, str], str] = {}  # (book, symbol) → last published size
        self._wake = asyncio.Event()
        self.written = 0
        self.coalesced = 0

    @property
    def min_interval_s(self) -> float:
        return self._min_interval_s()

    # --- books ------------------------------------------------------------------------------

    async def register(
        self, specs: Iterable[BookSpec], *, update: Sequence[str] | None = None
    ) -> None:
        """Register (or refresh) books in one committed transaction."""
        ts = utc_iso(self.clock.now())
        items = list(specs)

        async def fn(conn: aiosqlite.Connection) -> None:
            for s in items:
                if update is None:
                    await register_book(conn, s, ts)
                else:
                    await register_book(conn, s, ts, update=update)

        await self.writer.transaction(fn)

    async def transaction(self, fn: Callable[[aiosqlite.Connection], Awaitable[Any]]) -> Any:
        """Run ``fn`` (built from ``arenad.books.tables``) in one store-writer transaction."""
        return await self.writer.transaction(fn)

    # --- equity -----------------------------------------------------------------------------

    async def snapshot(
        self,
        points: Iterable[EquityPoint],
        *,
        force: bool = False,
        recompute: Recompute | None = None,
    ) -> int:
        """Offer points; returns how many were written now (the rest wait, coalesced).

        ``recompute(book_ids)`` gives those books' points *now*: a point held back is then
        taken afresh when it is written (its ts is the write's, its equity at the marks of
        then), so a book's points are never closer than the interval. Without it the held
        point is written as it was offered."""
        now = self.clock.monotonic()
        interval = self.min_interval_s
        out: list[EquityPoint] = []
        for p in points:
            last = self._last_written.get(p.book_id)
            if force or last is None or now - last >= interval:
                out.append(p)
                self._pending.pop(p.book_id, None)
                self._recompute.pop(p.book_id, None)
            else:
                if p.book_id in self._pending:
                    self.coalesced += 1
                self._pending[p.book_id] = p
                if recompute is not None:
                    self._recompute[p.book_id] = recompute
                self._wake.set()
        await self._write(out, now)
        if force and out:
            # Start-up and shutdown points: worth a recompute now. Coalesced points wait for
            # the metrics' own interval (a recompute per fill would crowd the writer).
            self.bus.publish("metrics.dirty", {"snapshot": True})
        return len(out)

    async def flush_due(self, *, force: bool = False) -> int:
        """Write the pending points whose interval has passed (all of them with ``force``)."""
        now = self.clock.monotonic()
        interval = self.min_interval_s
        due = [
            b
            for b in self._pending
            if force or now - self._last_written.get(b, -float("inf")) >= interval
        ]
        out: dict[str, EquityPoint] = {}
        fns: dict[int, tuple[Recompute, set[str]]] = {}
        for b in due:
            out[b] = self._pending.pop(b)
            fn = self._recompute.pop(b, None)
            if fn is not None:
                fns.setdefault(id(fn), (fn, set()))[1].add(b)
        for fn, books in fns.values():
            try:
                fresh = fn(books)
            except Exception as exc:  # the held point is still true for its own instant
                log.warning("books: recomputing held snapshots failed", error=repr(exc))
                continue
            out.update({p.book_id: p for p in fresh if p.book_id in books})
        await self._write(list(out.values()), now)
        return len(out)

    def next_due_in(self) -> float | None:
        """Seconds until the earliest pending point may be written (None: nothing pending)."""
        if not self._pending:
            return None
        now = self.clock.monotonic()
        interval = self.min_interval_s
        return max(
            0.0,
            min(self._last_written.get(b, -float("inf")) + interval - now for b in self._pending),
        )

    async def run(self) -> None:
        """The ``books-flush`` loop: writes coalesced points once their interval has passed."""
        while True:
            wait = self.next_due_in()
            if wait is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            if wait > 0:
                await self.clock.sleep(wait)
            await self.flush_due()

    async def close(self) -> None:
        """Shutdown: every pending point is written (the writer drains it before closing)."""
        await self.flush_due(force=True)

    async def _write(self, points: list[EquityPoint], now: float) -> None:
        if not points:
            return
        for p in points:
            self._last_written[p.book_id] = now
        await self.writer.transaction(lambda conn: write_equity(conn, points))
        self.written += len(points)
        for p in points:  # per-book ticks (the aggregate ones carry "series")
            self.bus.publish("equity", {"ts": p.ts, "book_id": p.book_id, "equity": p.equity})

    def publish_aggregates(self, ts: str, series: Mapping[str, float]) -> None:
        """The aggregate tick the TUI's chart draws (``{"ts", "series": {name: equity}}``)."""
        self.bus.publish("equity", {"ts": ts, "series": dict(series)})

    # --- positions --------------------------------------------------------------------------

    def position(self, p: Position) -> bool:
        """Publish a position when it opened, changed size or closed (``size: "0"``); an
        unchanged size is not published again. Returns whether it was published."""
        key = (p.book_id, p.symbol)
        closed = _is_zero(p.size)
        prev = self._sizes.get(key)
        if closed:
            if prev is None:
                return False
            del self._sizes[key]
            self.bus.publish("position", p.wire() | {"size": "0"})
            return True
        if prev == p.size:
            return False
        self._sizes[key] = p.size
        self.bus.publish("position", p.wire())
        return True

    def known_position(self, book_id: str, symbol: str) -> str | None:
        return self._sizes.get((book_id, symbol))

    def open_positions(self) -> list[tuple[str, str]]:
        """(book, symbol) of every position published open and not closed since."""
        return list(self._sizes)

    def seed_positions(self, positions: Iterable[Position]) -> None:
        """Positions held at start-up (loaded from the database): published as opens."""
        for p in positions:
            self.position(p)


def _is_zero(size: str) -> bool:
    try:
        return float(size) == 0.0
    except ValueError:
        return False
