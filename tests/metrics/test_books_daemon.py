"""The books layer inside a real `arenad run`: rows written by another process for any instant
(a tracker import of last year's curves) are ranked within one recompute interval, and the
rankings are stored (leaderboard snapshots) so rank changes fill."""

from __future__ import annotations

import asyncio
import json
import sqlite3
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


def _write_current_book(db_path: Any) -> None:
    """A benchmark book with equity at the present: the daemon then holds points far newer
    than the 2025 snapshot about to be imported."""
    now = datetime.now(UTC)
    with sqlite3.connect(db_path, timeout=10) as db:
        db.execute(
            "INSERT INTO books (book_id, kind, name, initial_capital, created_at) "
            "VALUES ('benchmark:NOW', 'benchmark', 'Now', 100, ?)",
            (utc_iso(now),),
        )
        db.executemany(
            "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES ('benchmark:NOW', ?, ?)",
            [(utc_iso(now.replace(microsecond=0)), 101.0), (utc_iso(now), 102.0)],
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

    def ranked() -> set[str]:
        return {s["book_id"] for s in _call(d, "leaderboard") if s["rank"] is not None}

    # Within the interval (plus the dirty gap and a margin), before any restart.
    got = wait_for(lambda: nof1 <= ranked(), timeout=4 * INTERVAL_S, what="nof1 books ranked")
    assert got
    with sqlite3.connect(d.db_path) as db:
        standings = {
            r[0] for r in db.execute("SELECT book_id FROM current_standings WHERE rank NOT NULL")
        }
        perf = {
            r[0] for r in db.execute("SELECT model_id FROM model_performance WHERE rank NOT NULL")
        }
        summarized = {r[0] for r in db.execute("SELECT DISTINCT book_id FROM period_summaries")}
    assert nof1 <= standings and nof1 <= perf and nof1 <= summarized
    cli = json.loads(d.cli("leaderboard", "--json").stdout)
    assert nof1 <= {b["book"] for b in cli if b["rank"] is not None}
