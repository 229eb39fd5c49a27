"""Store writer throughput: events committed per second through StoreWriter (batched, WAL)
against raw sqlite3 `executemany` of the same rows in one transaction, measured in the same
run on the same disk. Target: the writer reaches at least half the raw rate.

    .venv/bin/python -m bench.store_writer [N]
"""

from __future__ import annotations

import asyncio
import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from arenad.config.settings import DaemonSettings
from arenad.daemon.events import INSERT_EVENT
from arenad.store.migrate import migrate_sync
from arenad.store.writer import StoreWriter


def rows(n: int) -> list[tuple[str, str, str, str, str]]:
    details = json.dumps({"bot": "gpt-5", "coin": "BTC", "px": "67123.5", "sz": "0.0123"})
    return [
        (f"2025-10-28T06:51:{i % 60:02d}.{i:06d}Z", "info", "ingest", f"fill {i}", details)
        for i in range(n)
    ]


def raw_rate(
    path: Path, data: list[tuple[str, str, str, str, str]], sync: str, batch: int
) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    t0 = time.perf_counter()
    for i in range(0, len(data), batch):
        conn.execute("BEGIN")
        conn.executemany(INSERT_EVENT, data[i : i + batch])
        conn.execute("COMMIT")
    dt = time.perf_counter() - t0
    conn.close()
    return len(data) / dt


async def writer_rate(path: Path, data: list[tuple[str, str, str, str, str]], sync: str) -> float:
    d = DaemonSettings()  # the shipped defaults
    w = StoreWriter(
        path,
        synchronous=sync.lower(),
        queue_size=d.writer_queue_size,  # type: ignore[arg-type]
        batch_size=d.writer_batch_size,
    )
    await w.start()
    t0 = time.perf_counter()
    for r in data:
        await w.submit(INSERT_EVENT, r)
    await w.flush()
    dt = time.perf_counter() - t0
    await w.close()
    return len(data) / dt


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 100_000
    data = rows(n)
    print(
        f"machine: {platform.machine()} python {platform.python_version()} "
        f"sqlite {sqlite3.sqlite_version}; {n} events per trial, 3 trials"
    )
    batch = DaemonSettings().writer_batch_size
    for sync in ("NORMAL", "FULL"):
        one, same, writers = [], [], []
        for _ in range(3):
            with tempfile.TemporaryDirectory() as d:
                a, b, c = Path(d) / "raw1.db", Path(d) / "rawb.db", Path(d) / "writer.db"
                for p in (a, b, c):
                    migrate_sync(p)
                one.append(raw_rate(a, data, sync, n))
                same.append(raw_rate(b, data, sync, batch))
                writers.append(asyncio.run(writer_rate(c, data, sync)))
        r1, rb, w = (statistics.median(x) for x in (one, same, writers))
        print(
            f"synchronous={sync:<6} raw executemany, one txn {r1:>9,.0f}/s | "
            f"raw, {batch}-row txns {rb:>9,.0f}/s | StoreWriter {w:>9,.0f}/s | "
            f"ratio vs one txn {w / r1:.2f} (target >= 0.50), vs same batches {w / rb:.2f}"
        )


if __name__ == "__main__":
    main()
