"""Apply ``schemas/NNNN_name.sql`` in order, tracked by ``PRAGMA user_version``.

Migrations only add: no file may drop data. A database whose user_version is higher than the
newest file this build knows was written by a newer arenad and is refused rather than guessed
at.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from arenad.errors import StoreError
from arenad.store.db import create_private

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
SCHEMAS_ENV = "ARENAD_SCHEMAS_DIR"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def schemas_dir() -> Path:
    if env := os.environ.get(SCHEMAS_ENV):
        return Path(env)
    return Path(str(resources.files("arenad") / "schemas"))


def load_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or schemas_dir()
    found: dict[int, Migration] = {}
    for f in sorted(directory.iterdir()):
        m = _NAME.match(f.name)
        if not m:
            continue
        version = int(m.group(1))
        if version in found:
            raise StoreError(f"two schema files share number {version:04d}: {f.name}")
        found[version] = Migration(version, f.name, f.read_text(encoding="utf-8"))
    if not found:
        raise StoreError(f"no schema files found in {directory}")
    return [found[v] for v in sorted(found)]


def migrate_sync(path: Path, directory: Path | None = None) -> int:
    """Bring the database at ``path`` up to date; return the resulting version.

    Applied files are recorded by number in ``schema_migrations``, so a file numbered below
    one already applied (areas land out of order: 0005 before 0002) is still applied later.
    ``PRAGMA user_version`` holds the highest number applied, for the newer-database check.
    """
    migrations = load_migrations(directory)
    newest = migrations[-1].version
    create_private(path)  # owner-only, whatever the umask (its -wal and -shm follow)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=5000")
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > newest:
            raise StoreError(
                f"{path} has schema version {current}, newer than this arenad knows "
                f"({newest}); it was written by a newer release — upgrade arenad or use "
                "another db_path"
            )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL "
            "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
        )
        applied = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        if not applied and current:
            # A database from before schema_migrations existed: everything up to
            # user_version was applied in order.
            applied = {m.version for m in migrations if m.version <= current}
            conn.executemany(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                [(m.version, m.name) for m in migrations if m.version in applied],
            )
        for m in migrations:
            if m.version in applied:
                continue
            # executescript commits any open transaction; wrap each file in its own so a
            # failing file leaves the database as it was.
            top = max(current, m.version)
            try:
                conn.executescript(
                    f"BEGIN;\n{m.sql}\n"
                    f"INSERT INTO schema_migrations (version, name) VALUES ({m.version}, "
                    f"'{m.name}');\nPRAGMA user_version = {top};\nCOMMIT;"
                )
            except sqlite3.Error as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"schema {m.name} failed: {e}") from e
            current = top
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


async def migrate(path: Path, directory: Path | None = None) -> int:
    import asyncio

    return await asyncio.to_thread(migrate_sync, Path(path), directory)
