"""The books layer inside a real `arenad run`: rows written by another process for any instant
(a tracker import of last year's curves) are ranked within one recompute interval, and the
rankings are stored (leaderboard snapshots) so rank changes fill."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from arenad.control.client import ControlClient
from arenad.store.db import utc_iso
from conftest import MINIMAL_CONFIG, TEST_DATA, wait_for

SNAP = TEST_DATA / "tracker" / "2025-10-28T065103Z"
INTERVAL_S = 2.0
CONFIG = (
    MINIMAL_CONFIG
    + "[arena]\nenabled = false\n[fade]\nenabled = false\n[tracker]\nenabled = false\n"
    + f"[metrics]\nrecompute_interval_s = {INTERVAL_S}\nleaderboard_snapshot_interval_s = 3600\n"
)


def _call(d: Any, cmd: str, **args: Any) -> Any:
    async def go() -> Any:
        async with ControlClient(d.socket_path) as c:
            return await c.request(cmd, **args)

    return asyncio.run(go())


def _write_current_book(db_path: Any, books: int = 1) -> None:
    """Benchmark books (benchmark:NOW, NOW1, ...) with equity at the present: the daemon then
    holds points far newer than the 2025 snapshot about to be imported."""
    now = datetime.now(UTC)
    with sqlite3.connect(db_path, timeout=10) as db:
        for i in range(books):
            bid = "benchmark:NOW" + (str(i) if i else "")
            db.execute(
                "INSERT INTO books (book_id, kind, name, initial_capital, created_at) "
                "VALUES (?, 'benchmark', ?, 100, ?)",
                (bid, bid, utc_iso(now)),
            )
            db.executemany(
                "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES (?, ?, ?)",
                [(bid, utc_iso(now.replace(microsecond=0)), 101.0), (bid, utc_iso(now), 102.0 + i)],
            )


@pytest.mark.slow
def test_an_import_into_a_running_daemon_is_ranked_within_an_interval(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc(CONFIG)
    d.start()
    _write_current_book(d.db_path)
    wait_for(
        lambda: any(
            s["book_id"] == "benchmark:NOW" and s["rank"] == 1 for s in _call(d, "leaderboard")
        ),
        timeout=5 * INTERVAL_S,
        what="the present-day book ranked",
    )
    r = d.cli("tracker", "import", str(SNAP), "--json")
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(d.db_path) as db:
        nof1 = {
            row[0]
            for row in db.execute(
                "SELECT DISTINCT e.book_id FROM equity_snapshots e JOIN books b USING (book_id)"
                " WHERE b.venue = 'nof1' GROUP BY e.book_id HAVING count(*) >= 2"
            )
        }
    assert len(nof1) >= 5, nof1  # the snapshot's models, each with a curve

    def ranked() -> bool:
        """Ranked in the daemon's answer and in the stored standings, views and summaries
        (the answer is computed just before the standings commit: both are polled)."""
        live = {s["book_id"] for s in _call(d, "leaderboard") if s["rank"] is not None}
        with sqlite3.connect(d.db_path) as db:
            standings = {
                r[0]
                for r in db.execute("SELECT book_id FROM current_standings WHERE rank NOT NULL")
            }
            perf = {
                r[0]
                for r in db.execute("SELECT model_id FROM model_performance WHERE rank NOT NULL")
            }
            summarized = {r[0] for r in db.execute("SELECT DISTINCT book_id FROM period_summaries")}
        return nof1 <= live and nof1 <= standings and nof1 <= perf and nof1 <= summarized

    # Within the interval (plus the dirty gap and a margin), before any restart.
    t0 = time.monotonic()
    try:
        wait_for(ranked, timeout=5 * INTERVAL_S, what="nof1 books ranked")
        print(f"ranked {time.monotonic() - t0:.2f} s after the import")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{d.log()[-4000:]}") from None
    cli = json.loads(d.cli("leaderboard", "--json").stdout)
    assert nof1 <= {b["book"] for b in cli if b["rank"] is not None}


@pytest.mark.slow
def test_rankings_are_stored_at_the_first_recompute_with_books_and_on_demand(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc(CONFIG)
    d.start()  # no books yet: the start-up recompute stores nothing
    _write_current_book(d.db_path, books=4)  # one transaction: every book at once

    def snapshots() -> list[tuple[str, str, int]]:
        with sqlite3.connect(d.db_path) as db:
            return db.execute(
                "SELECT timeframe, snapshot_time, count(*) FROM leaderboard_snapshots "
                "GROUP BY timeframe, snapshot_time ORDER BY snapshot_time"
            ).fetchall()

    first = wait_for(snapshots, timeout=4 * INTERVAL_S, what="a stored ranking")
    assert {tf for tf, _, _ in first} == {"daily", "weekly", "monthly", "all_time"}
    with sqlite3.connect(d.db_path) as db:
        top = db.execute("SELECT count(*) FROM top_performers WHERE timeframe='all_time'")
        assert top.fetchone()[0] == 4
    # On demand, through the daemon: a second ranking; rank changes now fill.
    r = d.cli("leaderboard", "snapshot", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["snapshot"] is True and out["rows"]["all_time"] == 4
    times = {t for _, t, _ in snapshots()}
    assert len(times) == 2
    with sqlite3.connect(d.db_path) as db:
        changes = db.execute(
            "SELECT book_id, previous_rank, rank_change FROM rank_history "
            "WHERE timeframe = 'all_time' AND snapshot_time = ? AND rank IS NOT NULL",
            (max(times),),
        ).fetchall()
        assert changes and all(c[1] is not None and c[2] == 0 for c in changes)
        perf = db.execute(
            "SELECT count(*) FROM model_performance WHERE rank IS NOT NULL AND rank_change IS NULL"
        ).fetchone()[0]
        assert perf == 0
    board = _call(d, "leaderboard")
    assert all(s["rank_change"] == 0 for s in board if s["rank"] is not None)
    # The audit on the live database, through the daemon.
    audit = _call(d, "books.audit")
    assert audit["ok"] is True and audit["failures"] == [] and len(audit["checks"]) == 5


def test_leaderboard_snapshot_without_a_daemon(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from arenad.store.migrate import migrate_sync

    db_path = tmp_path / "arenad.db"
    migrate_sync(db_path)
    _write_current_book(db_path)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[daemon]\ndb_path = "{db_path}"\nsocket_path = "{tmp_path}/none.sock"\n')
    r = subprocess.run(
        [sys.executable, "-m", "arenad", "leaderboard", "snapshot", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "all_time 1" in r.stdout
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT timeframe, book_id, rank FROM leaderboard_snapshots").fetchall()
    assert sorted(rows) == [
        ("all_time", "benchmark:NOW", 1),
        ("daily", "benchmark:NOW", 1),
        ("monthly", "benchmark:NOW", 1),
        ("weekly", "benchmark:NOW", 1),
    ]
