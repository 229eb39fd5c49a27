"""The store writer under a storage failure: SQLite's max_page_count makes the real file refuse
to grow (SQLITE_FULL, as on a full disk)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from arenad.errors import StorageFailure
from arenad.store.migrate import migrate
from arenad.store.writer import StoreWriter

INSERT = "INSERT INTO system_events (ts, level, category, message, details) VALUES (?,?,?,?,?)"


def row(n: int) -> tuple[str, str, str, str, str]:
    return ("2026-01-01T00:00:00.000000Z", "info", "test", f"event {n}", "x" * 2000)


async def test_a_full_database_fails_whole_batches_reports_once_and_recovers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    await migrate(path)
    pages = path.stat().st_size // 4096
    writer = StoreWriter(path, max_pages=pages + 5, recovery_s=0.0)
    reports: list[str | None] = []
    writer.on_storage(reports.append)
    await writer.start()
    try:
        with pytest.raises(StorageFailure, match="database or disk is full"):
            for n in range(200):
                await writer.execute(INSERT, row(n))
        assert writer.failure is not None and "full" in writer.failure
        assert writer.failure_since is not None
        for n in range(50):  # fire-and-forget writes are dropped, and counted
            await writer.submit(INSERT, row(1000 + n))
        with pytest.raises(StorageFailure):
            await writer.execute(INSERT, row(2))
        assert writer.stats.lost_submits > 0 and writer.running
        assert reports == [writer.failure]  # once, not per failed batch
        # A rewrite of an existing row needs no new page: it lands, and clears the failure.
        await writer.execute("UPDATE system_status SET updated_at = updated_at WHERE id = 1")
        assert writer.failure is None and reports[-1] is None
        assert writer.last_failure is not None
    finally:
        await writer.close()


async def test_a_stuck_commit_is_seen_as_stalled(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    await migrate(path)
    writer = StoreWriter(path)
    await writer.start()
    gate = asyncio.Event()
    entered = asyncio.Event()

    async def slow(conn: aiosqlite.Connection) -> None:
        entered.set()
        await gate.wait()

    try:
        assert not writer.stalled(0.0)
        task = asyncio.create_task(writer.transaction(slow))
        await entered.wait()
        await asyncio.sleep(0.05)
        assert writer.stalled(0.01) and not writer.stalled(60)
        gate.set()
        await task
        assert not writer.stalled(0.0)
    finally:
        await writer.close()


async def test_a_database_locked_by_another_process_stalls_a_bad_statement_does_not(
    tmp_path: Path,
) -> None:
    """A write refused by another connection's lock (after the busy timeout) did not happen:
    the writer stays stuck until a commit completes; a statement that fails on its own (a
    constraint) got an answer and is no stall."""
    path = tmp_path / "a.db"
    await migrate(path)
    writer = StoreWriter(path)
    await writer.start()
    try:
        with pytest.raises(sqlite3.IntegrityError):
            await writer.execute("INSERT INTO system_status (id) VALUES (1)")
        assert not writer.stalled(0.0)
        lock = sqlite3.connect(path, isolation_level=None)
        try:
            lock.execute("BEGIN EXCLUSIVE")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await writer.execute(INSERT, row(1))  # waits the 5 s busy timeout first
            assert writer.stalled(1.0) and writer.failure is None
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        await writer.execute(INSERT, row(2))
        assert not writer.stalled(0.0)
    finally:
        await writer.close()
