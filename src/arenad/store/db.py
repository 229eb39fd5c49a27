"""Connections and the pragmas every connection needs.

WAL lets readers (CLI, control queries) run while the single writer commits; foreign keys are
off by default in SQLite and must be switched on per connection; busy_timeout makes a reader
that meets a checkpoint wait instead of failing.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import aiosqlite

BUSY_TIMEOUT_MS = 5000
PRIVATE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")


def create_private(path: Path) -> bool:
    """Create ``path`` empty and owner-only (0600) unless it exists, whatever the umask.

    The database holds the whole trading history and whatever a venue sent back; SQLite
    creates its -wal, -shm and -journal files with the database file's own mode, so creating
    the file first is what keeps all of them private. Returns True if the file was created.
    """
    path = Path(path)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_MODE)  # the umask may have taken bits off (or be odd, e.g. 0277)
    finally:
        os.close(fd)
    return True


def readable_by_others(path: Path) -> list[str]:
    """The database's files (itself, -wal, -shm) that group or others may read or write."""
    out = []
    for p in (Path(path), *(Path(f"{path}{s}") for s in SIDE_FILES)):
        try:
            mode = p.stat().st_mode & 0o777
        except OSError:
            continue
        if mode & 0o077:
            out.append(f"{p} ({mode:04o})")
    return out


def utc_iso(when: datetime | None = None) -> str:
    """The one timestamp format in the database: ISO-8601 UTC, microseconds, 'Z'."""
    when = when or datetime.now(UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def pragmas(synchronous: Literal["normal", "full"] = "full") -> list[str]:
    return [
        "PRAGMA journal_mode=WAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
        f"PRAGMA synchronous={synchronous.upper()}",
    ]


async def connect(
    path: Path, *, synchronous: Literal["normal", "full"] = "full", readonly: bool = False
) -> aiosqlite.Connection:
    create_private(path)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        for p in pragmas(synchronous):
            await conn.execute(p)
        if readonly:
            await conn.execute("PRAGMA query_only=ON")
    except BaseException:
        # Cancelled (or failed) half-way: stop the connection's thread, which is not a daemon
        # thread and would otherwise keep the process from exiting after shutdown.
        conn.stop()
        raise
    return conn


@asynccontextmanager
async def open_reader(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """A read-only connection of its own (never the writer's)."""
    conn = await connect(Path(path), readonly=True)
    try:
        yield conn
    finally:
        await conn.close()


def connect_sync(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """For CLI commands and tests that read without an event loop."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    for p in pragmas():
        conn.execute(p)
    if readonly:
        conn.execute("PRAGMA query_only=ON")
    return conn


PROBE_BYTES = 64 * 1024


def probe_directory(path: Path) -> None:
    """Raise OSError unless the database's directory takes a small file that reaches the
    disk: a full disk (ENOSPC), a read-only file system (EROFS) or a directory we may not
    write (EACCES) fail here, before SQLite is asked."""
    for d in (path.parent, *path.parent.parents):
        if d.exists():
            if not d.is_dir():  # mkdir would say "File exists"
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(d))
            break
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    probe = path.parent / f".{path.name}.probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        probe.unlink(missing_ok=True)


def probe_database(path: Path) -> None:
    """Raise sqlite3.Error unless one write transaction on the database commits (the write
    rewrites ``system_status.updated_at`` with its own value)."""
    conn = connect_sync(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE system_status SET updated_at = updated_at WHERE id = 1")
        conn.execute("COMMIT")
    finally:
        conn.close()
