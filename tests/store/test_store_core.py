from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from arenad.errors import OperationalError, StoreError
from arenad.store.db import connect_sync, open_reader
from arenad.store.migrate import load_migrations, migrate, migrate_sync
from arenad.store.writer import StoreWriter


async def test_migrate_sets_wal_version_and_seeds_status(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    version = await migrate(path)
    assert version == load_migrations()[-1].version
    conn = connect_sync(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert [tuple(r) for r in conn.execute("SELECT kill_switch FROM system_status")] == [(0,)]
    # idempotent: a second run applies nothing and keeps the data
    conn.execute(
        "INSERT INTO system_events (ts, level, category, message) VALUES ('t','info','system','x')"
    )
    assert await migrate(path) == version
    assert conn.execute("SELECT count(*) FROM system_events").fetchone()[0] == 1


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    migrate_sync(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 9999")
    conn.close()
    with pytest.raises(StoreError, match="newer than this arenad"):
        migrate_sync(path)


def test_failed_migration_leaves_previous_version(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "0001_a.sql").write_text("CREATE TABLE a (x);")
    (schemas / "0002_b.sql").write_text("CREATE TABLE b (x); CREATE TABLE a (y);")
    path = tmp_path / "a.db"
    with pytest.raises(StoreError, match=r"0002_b\.sql"):
        migrate_sync(path, schemas)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT name FROM sqlite_master WHERE name='b'").fetchone() is None


async def test_writer_execute_commits_before_returning(store) -> None:  # type: ignore[no-untyped-def]
    await store.writer.execute(
        "INSERT INTO system_events (ts, level, category, message) VALUES (?,?,?,?)",
        ("2025-01-01T00:00:00Z", "info", "system", "hello"),
    )
    # a separate connection sees it at once: it is committed, not just queued
    async with open_reader(store.path) as r:
        rows = await (await r.execute("SELECT message FROM system_events")).fetchall()
    assert [row["message"] for row in rows] == ["hello"]


async def test_writer_batches_and_isolates_a_bad_statement(store) -> None:  # type: ignore[no-untyped-def]
    sql = "INSERT INTO system_events (ts, level, category, message) VALUES (?,?,?,?)"
    for i in range(500):
        await store.writer.submit(sql, ("t", "info", "system", f"m{i}"))
    bad = store.writer.execute(sql, ("t", "nonsense-level", "system", "bad"))
    after = store.writer.execute(sql, ("t", "info", "system", "after"))
    results = await asyncio.gather(bad, after, return_exceptions=True)
    assert isinstance(results[0], sqlite3.IntegrityError)
    assert results[1] is None
    conn = connect_sync(store.path)
    assert conn.execute("SELECT count(*) FROM system_events").fetchone()[0] == 501
    assert store.writer.stats.committed_batches < 501  # batched, not one commit per row


async def test_writer_transaction_is_atomic(store) -> None:  # type: ignore[no-untyped-def]
    async def txn(conn):  # type: ignore[no-untyped-def]
        await conn.execute(
            "INSERT INTO books (book_id, kind, name, created_at) VALUES ('bot:a','bot','A','t')"
        )
        await conn.execute(
            "INSERT INTO books (book_id, kind, name, created_at) VALUES ('x','nope','X','t')"
        )

    with pytest.raises(sqlite3.IntegrityError):
        await store.writer.transaction(txn)
    conn = connect_sync(store.path)
    assert conn.execute("SELECT count(*) FROM books").fetchone()[0] == 0


async def test_close_drains_queue_and_refuses_more(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    await migrate(path)
    w = StoreWriter(path, batch_size=7)
    await w.start()
    sql = "INSERT INTO system_events (ts, level, category, message) VALUES (?,?,?,?)"
    for i in range(100):
        await w.submit(sql, ("t", "info", "system", str(i)))
    await w.close()
    assert connect_sync(path).execute("SELECT count(*) FROM system_events").fetchone()[0] == 100
    with pytest.raises(OperationalError):
        await w.submit(sql, ("t", "info", "system", "late"))


def test_a_file_numbered_below_an_applied_one_is_still_applied(tmp_path: Path) -> None:
    """Areas land out of order: 0003 arriving after 0005 was applied must not be skipped."""
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "0001_a.sql").write_text("CREATE TABLE a (x);")
    (schemas / "0005_e.sql").write_text("CREATE TABLE e (x);")
    path = tmp_path / "a.db"
    assert migrate_sync(path, schemas) == 5
    (schemas / "0003_c.sql").write_text("CREATE TABLE c (x);")
    assert migrate_sync(path, schemas) == 5
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name='c'").fetchone() == ("c",)
    assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")] == [
        1,
        3,
        5,
    ]
    assert migrate_sync(path, schemas) == 5  # idempotent


def test_database_from_before_schema_migrations_is_adopted(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "0001_a.sql").write_text("CREATE TABLE a (x);")
    (schemas / "0002_b.sql").write_text("CREATE TABLE b (x);")
    path = tmp_path / "a.db"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE a (x); PRAGMA user_version = 1;")
    conn.close()
    assert migrate_sync(path, schemas) == 2  # 0001 not re-run (it would fail: a exists)
