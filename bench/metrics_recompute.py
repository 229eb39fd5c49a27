"""Leaderboard recompute: 100 books × one year of hourly equity (876,000 points) and 10,000
round trips. Target: recomputing every metric and the standings of all four timeframes in
under 200 ms.

Measured, each the median of several repetitions:
- compute: every book's figures for daily/weekly/monthly/all-time and the ranking — the work
  the daemon's component repeats on each recompute (its arrays stay in memory);
- recompute: a full daemon recompute after one new snapshot per book lands — incremental
  refresh from SQLite, compute, and the standings/summaries transaction through StoreWriter;
- cold load: reading every book from SQLite into arrays, which happens once at start-up;
- baseline: the same figures computed by ``curve_metrics``/``trade_metrics`` from datetimes,
  book by book, as a naive implementation would (same run, same data).

    .venv/bin/python -m bench.metrics_recompute [BOOKS] [HOURS] [TRADES]
"""

from __future__ import annotations

import asyncio
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from arenad.metrics.curve import RoundTrip, curve_metrics, trade_metrics
from arenad.metrics.recompute import Recomputer
from arenad.metrics.settings import MetricsSettings
from arenad.store.db import utc_iso
from arenad.store.migrate import migrate
from arenad.store.writer import StoreWriter

END = datetime(2025, 10, 28, tzinfo=UTC)


def populate(path: Path, books: int, hours: int, trades: int) -> None:
    import sqlite3

    rng = np.random.default_rng(1)
    start = END - timedelta(hours=hours - 1)
    stamps = [utc_iso(start + timedelta(hours=h)) for h in range(hours)]
    conn = sqlite3.connect(path)
    conn.execute("BEGIN")
    for b in range(books):
        bid = f"arena:m{b:03d}"
        conn.execute(
            "INSERT INTO books (book_id, kind, name, initial_capital, created_at) "
            "VALUES (?, 'arena_model', ?, 10000, ?)",
            (bid, bid, stamps[0]),
        )
        eq = 10_000 * np.cumprod(1 + rng.normal(0.00002, 0.003, hours))
        conn.executemany(
            "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES (?, ?, ?)",
            zip([bid] * hours, stamps, eq.tolist(), strict=True),
        )
    rows = []
    for k in range(trades):
        bid = f"arena:m{k % books:03d}"
        exit_h = int(rng.integers(1, hours))
        entry_h = max(exit_h - int(rng.integers(1, 72)), 0)
        rows.append(
            (
                bid,
                ["AAPL", "NVDA", "MSFT", "SPY"][k % 4],
                stamps[entry_h],
                stamps[exit_h],
                float(rng.normal(5, 50)),
                str(k),
            )
        )
    conn.executemany(
        "INSERT INTO trade_log (book_id, symbol, direction, quantity, entry_time, entry_price, "
        "exit_time, exit_price, realized_pnl, source, source_id) VALUES (?, ?, 'long', '1', ?, "
        "'100', ?, '101', ?, 'bench', ?)",
        rows,
    )
    conn.execute("COMMIT")
    conn.close()


def med(xs: list[float]) -> float:
    return statistics.median(xs) * 1000


async def main(books: int, hours: int, trades: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.db"
        await migrate(path)
        populate(path, books, hours, trades)
        settings = MetricsSettings()
        now = END + timedelta(minutes=1)

        t0 = time.perf_counter()
        rc = Recomputer(path, settings)
        await rc.refresh()
        cold = time.perf_counter() - t0

        compute = []
        for _ in range(7):
            t0 = time.perf_counter()
            boards = rc.compute(now)
            compute.append(time.perf_counter() - t0)
        assert all(len(b) == books for b in boards.values())

        writer = StoreWriter(path)
        await writer.start()
        await rc.run(writer.transaction, now, snapshot=True)  # first run writes every summary
        full = []
        for i in range(5):
            at = now + timedelta(hours=i + 1)
            await writer.transaction(
                lambda c, at=at: c.executemany(
                    "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES (?, ?, 10000)",
                    [(f"arena:m{b:03d}", utc_iso(at)) for b in range(books)],
                )
            )
            t0 = time.perf_counter()
            await rc.run(writer.transaction, at)
            full.append(time.perf_counter() - t0)
        await writer.close()

        # Baseline: the per-book datetime path (curve_metrics/trade_metrics), all four windows.
        base = []
        for _ in range(2):
            t0 = time.perf_counter()
            for bd in rc.books.values():
                ts = [datetime.fromtimestamp(x, UTC) for x in bd.t]
                for days in (1, 7, 30, None):
                    lo = (
                        0
                        if days is None
                        else int(
                            np.searchsorted(bd.t, now.timestamp() - days * 86400, side="right")
                        )
                        - 1
                    )
                    curve_metrics(ts[max(lo, 0) :], bd.equity[max(lo, 0) :], min_points=30)
                    trade_metrics(
                        [
                            RoundTrip(
                                datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC), p
                            )
                            for a, b, p in zip(bd.entry_t, bd.exit_t, bd.pnl, strict=True)
                        ]
                    )
            base.append(time.perf_counter() - t0)

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} python "
        f"{platform.python_version()} ({sys.platform})"
    )
    print(
        f"data: {books} books x {hours} hourly points = {books * hours:,} snapshots, "
        f"{trades:,} round trips"
    )
    print(
        f"compute (4 timeframes + ranking), median of 7: {med(compute):.1f} ms  [target < 200 ms]"
    )
    print(
        f"daemon recompute after 1 new point per book (refresh + compute + write), "
        f"median of 5: {med(full):.1f} ms"
    )
    print(f"baseline per-book datetime path, median of 2: {med(base):.1f} ms")
    print(f"cold load of every book from SQLite (once at start-up): {cold * 1000:.0f} ms")


if __name__ == "__main__":
    a = [int(x) for x in sys.argv[1:4]]
    asyncio.run(main(*(a + [100, 8760, 10_000][len(a) :])))
