"""No figure on too small a sample is a number anywhere: NULL plus a flag in the stored
standings and seed views, null (never NaN/inf) in `--json`, "–*" on screen."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from arenad.metrics.recompute import Recomputer
from arenad.metrics.settings import MetricsSettings
from arenad.store.db import utc_iso

NOW = datetime(2025, 10, 28, 12, tzinfo=UTC)


async def _demo_like(store: Any) -> None:
    """A book with a few minutes of minute-sampled equity (the demo's Sharpe 701.6) and one
    with 40 days of hourly equity, and a lone point (unranked)."""

    async def fn(conn: Any) -> None:
        for bid in ("fade:minutes", "arena:days", "benchmark:lone"):
            await conn.execute(
                "INSERT INTO books (book_id, kind, name, initial_capital, created_at) "
                "VALUES (?, ?, ?, 10000, ?)",
                (bid, bid.split(":")[0].replace("arena", "arena_model"), bid, utc_iso(NOW)),
            )
        await conn.executemany(
            "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES ('fade:minutes', ?, ?)",
            [
                (utc_iso(NOW - timedelta(minutes=10 - i)), 10_000 + 7 * i + 3 * (i % 2))
                for i in range(11)
            ],
        )
        await conn.executemany(
            "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES ('arena:days', ?, ?)",
            [
                (
                    utc_iso(NOW - timedelta(hours=960 - h)),
                    10_000 * (1 + 0.0003 * h + 0.002 * (h % 3)),
                )
                for h in range(961)
            ],
        )
        await conn.execute(
            "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES ('benchmark:lone', ?, 5)",
            (utc_iso(NOW),),
        )

    await store.writer.transaction(fn)


async def test_small_samples_are_null_and_flagged_everywhere(store: Any, tmp_path: Path) -> None:
    await _demo_like(store)
    rc = Recomputer(store.path, MetricsSettings())
    await rc.run(store.writer.transaction, NOW, snapshot=True)
    with sqlite3.connect(store.path) as db:
        db.row_factory = sqlite3.Row
        perf = {r["model_id"]: r for r in db.execute("SELECT * FROM model_performance")}
        snaps = {
            r["book_id"]: r
            for r in db.execute("SELECT * FROM leaderboard_snapshots WHERE timeframe='all_time'")
        }
        cur = {r["book_id"]: r for r in db.execute("SELECT * FROM current_standings")}
    m = perf["fade:minutes"]
    assert m["sharpe_ratio"] is None and m["sharpe_insufficient"] == 1
    assert "sharpe" in json.loads(m["insufficient"]) and m["rank"] is not None
    assert m["win_rate"] is None and m["win_rate_insufficient"] == 1
    assert cur["fade:minutes"]["sharpe"] is None and cur["fade:minutes"]["sortino"] is None
    assert json.loads(cur["fade:minutes"]["metrics"])["sharpe"] is None
    assert snaps["fade:minutes"]["sharpe"] is None
    assert "sharpe" in json.loads(snaps["fade:minutes"]["insufficient"])
    d = perf["arena:days"]  # 40 daily returns >= 30: a real figure, not flagged
    assert d["sharpe_ratio"] is not None and d["sharpe_insufficient"] == 0 and d["points"] >= 40
    assert perf["benchmark:lone"]["rank"] is None
    # --json: null, never a number, for the flagged figures; valid JSON throughout.
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[daemon]\ndb_path = "{store.path}"\n')
    r = subprocess.run(
        [sys.executable, "-m", "arenad", "leaderboard", "--json", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "NaN" not in r.stdout and "Infinity" not in r.stdout
    rows = {b["book"]: b for b in json.loads(r.stdout)}
    assert (
        rows["fade:minutes"]["sharpe"] is None and "sharpe" in rows["fade:minutes"]["insufficient"]
    )
    assert rows["benchmark:lone"]["rank"] is None
    r = subprocess.run(
        [sys.executable, "-m", "arenad", "leaderboard", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = next(x for x in r.stdout.splitlines() if "fade:minutes" in x)
    assert "–*" in line and "None" not in r.stdout
