"""The single store writer: one task owns the write connection and commits in batches.

Why one writer: SQLite allows one writer at a time; funnelling every write through one queue
turns lock contention into batching (many writes per transaction and fsync), keeps write order
equal to submission order, and gives shutdown one place to drain.

Callers choose their durability:

- ``await execute(...)`` / ``await transaction(fn)`` return only after the batch holding the
  write has COMMITTED — use it for anything that must be on disk before the next step (an
  order intent before the order is sent, a kill switch before it is acknowledged);
- ``await submit(...)`` only enqueues (it waits only while the queue is full) — for events and
  snapshots whose loss in a crash costs nothing but detail.

A batch that fails is retried item by item, so one bad statement fails only its own caller.
Consecutive statements with the same SQL go to the database as one ``executemany``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite
import structlog

from arenad.errors import OperationalError
from arenad.store.db import connect

T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any]
TxnFn = Callable[[aiosqlite.Connection], Awaitable[Any]]

log = structlog.get_logger("arenad.store")


@dataclass(slots=True)
class _Stmt:
    sql: str
    params: Params
    fut: asyncio.Future[Any] | None


@dataclass(slots=True)
class _Txn:
    fn: TxnFn
    fut: asyncio.Future[Any]


@dataclass(slots=True)
class _Stop:
    fut: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


_Item = _Stmt | _Txn | _Stop


@dataclass(slots=True)
class WriterStats:
    committed_batches: int = 0
    committed_items: int = 0
    failed_items: int = 0


class StoreWriter:
    def __init__(
        self,
        path: Path,
        *,
        synchronous: Literal["normal", "full"] = "full",
        queue_size: int = 10_000,
        batch_size: int = 5_000,
    ) -> None:
        self.path = Path(path)
        self._synchronous: Literal["normal", "full"] = synchronous
        # A deque with two events instead of asyncio.Queue: the writer's hot path is per-item
        # enqueue/dequeue, and asyncio.Queue's waiter bookkeeping doubled its cost.
        self._items: deque[_Item] = deque()
        self._maxsize = queue_size
        self._has_items = asyncio.Event()
        self._has_space = asyncio.Event()
        self._has_space.set()
        self._batch_size = batch_size
        self._conn: aiosqlite.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.stats = WriterStats()

    async def start(self) -> None:
        self._conn = await connect(self.path, synchronous=self._synchronous)
        self._task = asyncio.create_task(self._run(), name="store-writer")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def pending(self) -> int:
        return len(self._items)

    async def _put(self, item: _Item) -> None:
        while len(self._items) >= self._maxsize:
            self._has_space.clear()
            await self._has_space.wait()
        self._items.append(item)
        self._has_items.set()

    def _check_open(self) -> None:
        if self._closing or not self.running:
            raise OperationalError("the store writer is closed")

    async def execute(self, sql: str, params: Params = ()) -> None:
        """Write and wait until committed."""
        self._check_open()
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._put(_Stmt(sql, params, fut))
        await fut

    async def submit(self, sql: str, params: Params = ()) -> None:
        """Enqueue a write; do not wait for the commit."""
        self._check_open()
        if len(self._items) < self._maxsize:  # fast path: no coroutine switch
            self._items.append(_Stmt(sql, params, None))
            self._has_items.set()
            return
        await self._put(_Stmt(sql, params, None))

    def submit_nowait(self, sql: str, params: Params = ()) -> None:
        """Enqueue from synchronous code; raises asyncio.QueueFull when the writer is behind."""
        self._check_open()
        if len(self._items) >= self._maxsize:
            raise asyncio.QueueFull
        self._items.append(_Stmt(sql, params, None))
        self._has_items.set()

    async def transaction(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run ``fn`` inside a batch transaction; return its result once committed."""
        self._check_open()
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._put(_Txn(fn, fut))
        result: T = await fut
        return result

    async def flush(self) -> None:
        """Wait until everything enqueued so far is committed."""
        await self.transaction(_noop)

    async def close(self) -> None:
        """Stop accepting writes, commit everything already queued, close the connection."""
        if self._task is None:
            return
        if not self._closing and self.running:
            self._closing = True
            stop = _Stop()
            await self._put(stop)
            await asyncio.shield(stop.fut)
        self._closing = True
        if not self._task.done():
            await self._task
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        assert self._conn is not None
        items = self._items
        while True:
            while not items:
                self._has_items.clear()
                await self._has_items.wait()
            batch = [items.popleft() for _ in range(min(self._batch_size, len(items)))]
            self._has_space.set()
            stop = next((i for i in batch if isinstance(i, _Stop)), None)
            work = [i for i in batch if not isinstance(i, _Stop)]
            if work:
                await self._commit(work)
            if stop is not None:
                stop.fut.set_result(None)
                return

    async def _commit(self, batch: list[_Stmt | _Txn]) -> None:
        conn = self._conn
        assert conn is not None
        results: list[Any] = [None] * len(batch)
        try:
            await conn.execute("BEGIN IMMEDIATE")
            i = 0
            while i < len(batch):
                item = batch[i]
                if isinstance(item, _Txn):
                    results[i] = await item.fn(conn)
                    i += 1
                    continue
                j = i + 1
                while j < len(batch) and isinstance(nxt := batch[j], _Stmt) and nxt.sql == item.sql:
                    j += 1
                if j - i == 1:
                    await conn.execute(item.sql, item.params)
                else:
                    await conn.executemany(item.sql, [s.params for s in batch[i:j]])  # type: ignore[union-attr]
                i = j
            await conn.execute("COMMIT")
        except asyncio.CancelledError:
            await self._rollback()
            raise
        except Exception as exc:
            await self._rollback()
            if len(batch) > 1:
                for item in batch:  # isolate the bad item: each in its own transaction
                    await self._commit([item])
                return
            item = batch[0]
            self.stats.failed_items += 1
            if item.fut is not None and not item.fut.done():
                item.fut.set_exception(exc)
            else:
                log.error("store write failed", sql=getattr(item, "sql", "<txn>"), exc_info=exc)
            return
        self.stats.committed_batches += 1
        self.stats.committed_items += len(batch)
        for item, result in zip(batch, results, strict=True):
            if item.fut is not None and not item.fut.done():
                item.fut.set_result(result)

    async def _rollback(self) -> None:
        assert self._conn is not None
        if self._conn.in_transaction:
            await self._conn.execute("ROLLBACK")


async def _noop(_conn: aiosqlite.Connection) -> None:
    return None
