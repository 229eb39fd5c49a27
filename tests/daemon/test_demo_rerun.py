"""`arenad demo` is re-runnable on its own database: a second headless demo on the same
`var/demo/` neither crash-loops the fade (the restarted simulator used to repeat fill ids and
so cloids) nor finds the arena's books in drift with a fresh simulated broker account; and
`--fresh` starts over."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def _demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_")}
    env["ARENAD_SIM__HYPERLIQUID_PORT"] = env["ARENAD_SIM__ALPACA_PORT"] = "0"  # free ports
    env["ARENAD_ARENA__UPKEEP_INTERVAL_S"] = "1"  # the ledger/account check runs in the demo
    return subprocess.run(
        [sys.executable, "-m", "arenad", "demo", "--headless", "--config", "config.toml", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )


def _q(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as c:
        return c.execute(sql, args).fetchall()


@pytest.mark.timeout(420)
def test_a_second_demo_on_the_same_database_keeps_the_kill_switch_off(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text((REPO / "config.toml").read_text())
    db = tmp_path / "var" / "demo" / "arenad.db"
    first = _demo(tmp_path, "--duration", "20")
    assert first.returncode == 0, first.stderr[-3000:]
    orders_1 = _q(db, "SELECT count(*) FROM fade_orders")[0][0]
    events_1 = _q(db, "SELECT max(id) FROM system_events")[0][0]
    assert isinstance(orders_1, int) and orders_1 > 0  # the fade traded in the first run
    held = _q(db, "SELECT count(*) FROM arena_positions")[0][0]

    second = _demo(tmp_path, "--duration", "20")
    assert second.returncode == 0, second.stderr[-3000:]
    (kill,) = _q(db, "SELECT kill_switch, kill_switch_by, kill_switch_reason FROM system_status")
    assert kill[0] == 0, kill
    later = _q(db, "SELECT level, category, message FROM system_events WHERE id > ?", events_1)
    bad = [
        e
        for e in later
        if "crash" in str(e[2])
        or "kill switch engaged" in str(e[2])
        or "ledgers do not match" in str(e[2])
        or "repeat" in str(e[2])
    ]
    assert bad == [], bad
    # The fade went on trading on the second run, with orders of its own (new cloids).
    orders_2 = _q(db, "SELECT count(*) FROM fade_orders")[0][0]
    assert isinstance(orders_2, int) and orders_2 > orders_1
    if held:
        assert "restored with the arena's" in second.stderr

    fresh = _demo(tmp_path, "--duration", "3", "--fresh")
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "starting over" in fresh.stderr
    # The database was made anew: one start recorded, not three.
    starts = _q(db, "SELECT count(*) FROM system_events WHERE message LIKE 'arenad % started'")
    assert starts == [(1,)]
