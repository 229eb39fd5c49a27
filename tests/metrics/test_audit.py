"""`arenad audit` on a database built by a real fade daemon run (`arenad demo`: simulator,
synthetic bots, fade engine, metrics), and on corrupted copies of it: each check fails when
its invariant is broken, and only then."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from arenad.metrics.audit import audit_path
from conftest import REPO

pytestmark = pytest.mark.slow


def _run(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_")}
    env["ARENAD_SIM__HYPERLIQUID_PORT"] = env["ARENAD_SIM__ALPACA_PORT"] = "0"
    return subprocess.run(
        [sys.executable, "-m", "arenad", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("demo")
    cfg = (REPO / "config.toml").read_text()
    cfg = cfg.replace("snapshot_interval_s = 300", "snapshot_interval_s = 3")
    cfg = cfg.replace("recompute_interval_s = 60", "recompute_interval_s = 2")
    (d / "config.toml").write_text(cfg)
    r = _run("demo", "--headless", "--duration", "25", "--config", "config.toml", cwd=d)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    db = d / "var" / "demo" / "arenad.db"
    with sqlite3.connect(db) as c:  # a run that traded: the checks have something to check
        assert c.execute("SELECT count(*) FROM fade_order_books WHERE credited <> '0'").fetchone()[
            0
        ]
        assert c.execute(
            "SELECT count(*) FROM fade_positions WHERE book_id = 'account'"
        ).fetchone()[0]
        assert c.execute("SELECT count(*) FROM fade_equity_snapshots").fetchone()[0] >= 2
        assert c.execute("SELECT count(*) FROM current_standings").fetchone()[0] >= 12
    yield db


def test_a_real_run_passes(demo_db: Path) -> None:
    report = audit_path(demo_db)
    assert report.ok, report.failures()
    assert set(report.checks) == {"equity_points", "fade_sum", "aggregates", "finite", "flagged"}
    r = _run("audit", "--db", str(demo_db), cwd=demo_db.parent)
    assert (r.returncode, r.stdout.strip()) == (0, "ok"), r.stderr


def _fade_book_with_fills(c: sqlite3.Connection) -> str:
    return str(
        c.execute(
            "SELECT book_id FROM fade_order_books WHERE credited <> '0' ORDER BY book_id LIMIT 1"
        ).fetchone()[0]
    )


CORRUPTIONS = {
    "equity_points": lambda c: c.execute(
        "DELETE FROM equity_snapshots WHERE book_id = ? AND ts > "
        "(SELECT min(ts) FROM equity_snapshots WHERE book_id = ?)",
        (_fade_book_with_fills(c), _fade_book_with_fills(c)),
    ),
    "fade_sum": lambda c: c.execute(
        "UPDATE fade_positions SET size = '123.456' WHERE book_id = "
        "(SELECT book_id FROM fade_positions WHERE book_id LIKE 'fade:%' ORDER BY book_id LIMIT 1)"
        " AND coin = (SELECT coin FROM fade_positions WHERE book_id LIKE 'fade:%' "
        "ORDER BY book_id LIMIT 1)"
    ),
    # The demo's bug: every bot book counted in the bots aggregate (a tracker book too).
    "aggregates": lambda c: c.executescript(
        "INSERT INTO books (book_id, kind, name, venue, created_at) VALUES "
        "('bot:nof1-x', 'bot', 'x', 'nof1', '2025-01-01T00:00:00.000000Z');"
        "INSERT INTO equity_snapshots (book_id, ts, equity) SELECT 'bot:nof1-x', ts, 1000 "
        "FROM equity_snapshots WHERE book_id LIKE 'fade:%' LIMIT 1;"
        "DROP VIEW aggregate_members;"
        "CREATE VIEW aggregate_members AS SELECT book_id, 'fade' AS aggregate FROM books "
        "WHERE kind = 'fade' UNION ALL SELECT book_id, 'bots' FROM books WHERE kind = 'bot';"
    ),
    "finite": lambda c: c.execute(
        "UPDATE current_standings SET total_pnl = 9e999 WHERE book_id = "
        "(SELECT min(book_id) FROM current_standings)"
    ),
    "flagged": lambda c: c.execute(
        "UPDATE current_standings SET sharpe = 701.6, "
        'insufficient = \'["win_rate","profit_factor","expectancy"]\' WHERE book_id = '
        "(SELECT min(book_id) FROM current_standings)"
    ),
}


@pytest.mark.parametrize("check", sorted(CORRUPTIONS))
def test_each_check_fails_on_its_corruption(demo_db: Path, tmp_path: Path, check: str) -> None:
    copy = tmp_path / "corrupt.db"
    with sqlite3.connect(demo_db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    with sqlite3.connect(copy) as c:
        CORRUPTIONS[check](c)
    report = audit_path(copy)
    failed = {name for name, fs in report.checks.items() if fs}
    assert failed == {check}, report.failures()
    r = _run("audit", "--db", str(copy), cwd=tmp_path)
    assert r.returncode == 1 and r.stdout.startswith(f"{check}: "), r.stdout + r.stderr
