"""The database and everything SQLite keeps beside it are owner-only whatever the umask, and so
are backups; an existing database others can read is reported at start."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import wait_for


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default outside systemd (the daemon inherits it)
    try:
        yield
    finally:
        os.umask(old)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.slow
def test_database_wal_shm_and_backup_are_0600(daemon_proc, umask_022) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()
    wal, shm = Path(f"{d.db_path}-wal"), Path(f"{d.db_path}-shm")
    wait_for(lambda: wal.exists() and shm.exists(), what="the WAL and shared-memory files")
    assert {p.name: oct(mode(p)) for p in (d.db_path, wal, shm)} == {
        p.name: "0o600" for p in (d.db_path, wal, shm)
    }
    backup = d.dir / "backup.db"
    r = d.cli("db", "backup", str(backup))
    assert r.returncode == 0, r.stderr
    assert oct(mode(backup)) == "0o600"
    # a fresh database has no warning
    db = sqlite3.connect(d.db_path)
    assert not db.execute("SELECT 1 FROM system_events WHERE message LIKE '%readable%'").fetchall()
    assert d.stop() == 0

    # an existing database made readable by others: the daemon says so at start
    os.chmod(d.db_path, 0o644)
    d.start()
    (msg,) = db.execute(
        "SELECT message FROM system_events WHERE level = 'warning' AND category = 'system'"
        " AND message LIKE '%readable by other users%'"
    ).fetchone()
    assert str(d.db_path) in msg and "0644" in msg and "chmod 600" in msg
    assert d.stop() == 0


def test_create_private_ignores_the_umask(tmp_path: Path, umask_022: None) -> None:
    from arenad.store.db import create_private, readable_by_others

    os.umask(0o000)
    p = tmp_path / "sub" / "x.db"
    assert create_private(p) is True and mode(p) == 0o600
    assert create_private(p) is False  # an existing file is left alone
    os.chmod(p, 0o640)
    assert readable_by_others(p) == [f"{p} (0640)"]
