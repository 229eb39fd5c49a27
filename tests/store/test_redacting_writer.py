"""The daemon's writer stores no configured secret, whichever way a write reaches it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

from arenad.logs import REDACTED, Redactor
from arenad.store.migrate import migrate
from arenad.store.redact import RedactingWriter

KEY = "sk-test-0123456789abcdef0123"
INSERT = "INSERT INTO system_events (ts, level, category, message, details) VALUES (?, ?, ?, ?, ?)"


async def test_every_write_path_is_redacted(tmp_path: Path) -> None:
    path = tmp_path / "arenad.db"
    await migrate(path)
    redactor = Redactor()
    w = RedactingWriter(path, redactor=redactor, synchronous="normal")
    await w.start()
    try:
        await w.execute(INSERT, ("t0", "info", "x", f"before: {KEY}", "{}"))  # no secret known
        redactor.set_secrets([KEY])  # as a reload does
        await w.execute(INSERT, ("t1", "info", "x", f"execute {KEY}", "{}"))
        await w.submit(INSERT, ("t2", "info", "x", "submit", f'{{"body": "Bearer {KEY}"}}'))
        w.submit_nowait(INSERT, ("t3", "info", "x", f"nowait {KEY}{KEY}", "{}"))

        async def txn(conn: aiosqlite.Connection) -> int:
            await conn.execute(INSERT, ("t4", "info", "x", f"txn {KEY}", "{}"))
            await conn.executemany(INSERT, [("t5", "info", "x", f"many {KEY}", "{}")] * 2)
            cur = await conn.execute("SELECT count(*) FROM system_events")
            row = await cur.fetchone()
            assert row is not None
            return int(row[0])

        assert await w.transaction(txn) == 7  # reads inside a transaction still work
        await w.execute(
            "UPDATE system_events SET details = :d WHERE ts = :ts", {"d": KEY, "ts": "t0"}
        )
    finally:
        await w.close()
    conn = sqlite3.connect(path)
    rows = dict(conn.execute("SELECT ts, message || details FROM system_events").fetchall())
    assert rows["t0"] == f"before: {KEY}{REDACTED}"  # written before the key was known
    assert rows["t1"] == f"execute {REDACTED}{{}}"
    assert rows["t3"] == f"nowait {REDACTED}{REDACTED}{{}}"
    assert all(KEY not in v for k, v in rows.items() if k != "t0")
    assert len(rows) == 6 and conn.execute("SELECT count(*) FROM system_events").fetchone()[0] == 7
