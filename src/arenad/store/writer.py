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

A failure to persist at all (disk or database full, I/O error, read-only or unwritable file
system) is different: it is not about one statement, so the whole batch fails at once with
:class:`StorageFailure`, the writer records the failure (``failure``, ``failure_since``) and
tells its listeners (the trading guard halts trading in memory and retries the kill switch
write). The writer keeps running: every later batch is tried again, and the failure is cleared
by a commit that lands ``recovery_s`` after the last failed one (a rewrite of an existing row
can land on a full disk while every insert still fails: one landing is not a recovery).
``stalled`` is true while the writer has been stuck for too long: one commit in progress (a
hung disk), or every attempt since the last that completed refused by a lock another process
holds (SQLITE_BUSY/LOCKED, each after the busy timeout). A commit that completes — or fails
for its own statement's fault — ends it. The daemon's watchdog ping stops while it lasts.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite
import structlog

from arenad.errors import OperationalError, StorageFailure
from arenad.store.db import connect, utc_iso

T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any]
TxnFn = Callable[[aiosqlite.Connection], Awaitable[Any]]

log = structlog.get_logger("arenad.store")

StorageListener = Callable[[str | None], None]
"""Called with the reason when writes start failing to persist, and with None once one lands."""

# SQLite result codes (primary, the low byte) that mean "nothing can be persisted", not "this
# statement is wrong".
_STORAGE_CODES = frozenset(
    {
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_PERM,
    }
)


def _locked(exc: BaseException) -> bool:
    """Another connection holds the lock (after the busy timeout): the write did not happen,
    through no fault of its own."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def storage_error(exc: BaseException) -> str | None:
    """The reason when ``exc`` means the database cannot persist anything, else None."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in _STORAGE_CODES:
            return str(exc)
        return None
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return None


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
    storage_failures: int = 0
    """Batches that could not be persisted (disk full, I/O error, ...)."""
    lost_submits: int = 0
    """Fire-and-forget writes (events, snapshots) dropped by such failures."""


class StoreWriter:
    def __init__(
        self,
        path: Path,
        *,
        synchronous: Literal["normal", "full"] = "full",
        queue_size: int = 10_000,
        batch_size: int = 5_000,
        max_pages: int | None = None,
        recovery_s: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.recovery_s = recovery_s
        self._failed_at = 0.0
        self._max_pages = max_pages
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
        self.failure: str | None = None
        """Why writes do not persist, while they do not (None when healthy)."""
        self.failure_since: str | None = None
        self.last_failure: str | None = None
        """The most recent storage failure, kept after recovery (for status)."""
        self._stuck_since: float | None = None
        self._listeners: list[StorageListener] = []

    async def start(self) -> None:
        self._conn = await connect(self.path, synchronous=self._synchronous)
        if self._max_pages is not None:
            # Writes that would grow the file past this fail with SQLITE_FULL, as on a full disk.
            await self._conn.execute(f"PRAGMA max_page_count = {int(self._max_pages)}")
        self._task = asyncio.create_task(self._run(), name="store-writer")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The writer's task (done only after ``close`` or when the writer itself died)."""
        return self._task

    def on_storage(self, fn: StorageListener) -> None:
        self._listeners.append(fn)

    def stalled(self, limit_s: float) -> bool:
        """For more than ``limit_s`` seconds no commit has completed: one is in progress, or
        every attempt since the last that completed has met a lock (or a storage failure,
        which callers tell apart by ``failure``)."""
        since = self._stuck_since
        return since is not None and time.monotonic() - since > limit_s

    def _storage_state(self, reason: str | None) -> None:
        if reason == self.failure:
            return
        if reason is not None:
            self.last_failure = reason
            if self.failure is None:
                self.failure_since = utc_iso()
            log.error(
                "storage failure: writes are not persisted", path=str(self.path), reason=reason
            )
        else:
            log.warning("storage recovered: writes persist again", path=str(self.path))
            self.failure_since = None
        self.failure = reason
        for fn in self._listeners:
            try:
                fn(reason)
            except Exception:  # a listener must not stop the writer
                log.exception("storage listener failed")

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
        if self._stuck_since is None:
            self._stuck_since = time.monotonic()
        try:
            results = await self._run_batch(conn, batch)
        except asyncio.CancelledError:
            self._stuck_since = None
            await self._rollback()
            raise
        except Exception as exc:
            if not _locked(exc):
                self._stuck_since = None  # the database answered: not stuck, just refused
            await self._rollback()
            reason = storage_error(exc)
            if reason is not None:
                self._fail_storage(batch, reason)
                return
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
        self._stuck_since = None
        self.stats.committed_batches += 1
        self.stats.committed_items += len(batch)
        if self.failure is not None and time.monotonic() - self._failed_at >= self.recovery_s:
            self._storage_state(None)
        for item, result in zip(batch, results, strict=True):
            if item.fut is not None and not item.fut.done():
                item.fut.set_result(result)

    @staticmethod
    async def _run_batch(conn: aiosqlite.Connection, batch: list[_Stmt | _Txn]) -> list[Any]:
        """One transaction for the whole batch (runs of one SQL as one executemany)."""
        results: list[Any] = [None] * len(batch)
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
        return results

    def _fail_storage(self, batch: list[_Stmt | _Txn], reason: str) -> None:
        """Nothing in the batch can be persisted: fail it whole, and say so once."""
        self.stats.storage_failures += 1
        self.stats.failed_items += len(batch)
        self._failed_at = time.monotonic()
        self._storage_state(reason)
        err = StorageFailure(f"cannot write {self.path}: {reason}")
        for item in batch:
            if item.fut is not None:
                if not item.fut.done():
                    item.fut.set_exception(err)
            else:
                self.stats.lost_submits += 1

    async def _rollback(self) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction:
                await self._conn.execute("ROLLBACK")
        except sqlite3.Error as e:  # SQLite rolls back by itself after IOERR/FULL
            log.warning("rollback failed", error=str(e))


async def _noop(_conn: aiosqlite.Connection) -> None:
    return None
