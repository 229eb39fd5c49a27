"""Hot reload in a running daemon: good edits applied with their diff, bad ones rejected."""

from __future__ import annotations

import json
import os
import signal
import sqlite3

import pytest

from conftest import MINIMAL_CONFIG, wait_for

pytestmark = pytest.mark.slow


def write_atomic(path, text: str) -> None:  # type: ignore[no-untyped-def]
    """As editors save: a new file renamed over the old one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_live_edits(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()
    db = sqlite3.connect(d.db_path)

    # a bad edit: rejected, error event, old settings stay in force
    write_atomic(d.config_path, MINIMAL_CONFIG + "writer_batch_size = -5\n")
    wait_for(
        lambda: (
            db.execute(
                "SELECT count(*) FROM system_events WHERE category='config' AND level='error'"
            ).fetchone()[0]
            == 1
        ),
        what="rejection event",
    )
    msg = db.execute("SELECT message FROM system_events WHERE level='error'").fetchone()[0]
    assert "daemon.writer_batch_size" in msg and str(d.config_path) in msg
    st = d.status()
    assert st["last_reload"]["ok"] is False
    r = d.cli("config", "check")
    assert r.returncode == 2 and "daemon.writer_batch_size" in r.stderr  # same words as check

    # a good edit: applied, snapshotted with its diff, event recorded
    write_atomic(
        d.config_path,
        MINIMAL_CONFIG.replace('log_level = "info"', 'log_level = "debug"')
        + "writer_batch_size = 123\n",
    )
    wait_for(lambda: d.status()["last_reload"]["ok"], what="good reload")
    snap = db.execute(
        "SELECT source, diff, settings FROM settings_snapshots ORDER BY id DESC"
    ).fetchone()
    assert snap[0] == "file"
    diff = json.loads(snap[1])
    assert diff == {
        "daemon.log_level": {"old": "info", "new": "debug"},
        "daemon.writer_batch_size": {"old": 5000, "new": 123},
    }
    assert json.loads(snap[2])["daemon"]["writer_batch_size"] == 123
    assert (
        db.execute(
            "SELECT count(*) FROM system_events WHERE category='config' AND level='info' "
            "AND message LIKE 'config reloaded: 2 key%'"
        ).fetchone()[0]
        == 1
    )

    # a restart-only key is reported and not applied
    write_atomic(d.config_path, MINIMAL_CONFIG.replace('db_path = "arenad.db"', 'db_path = "x.db"'))
    wait_for(
        lambda: "daemon.db_path" in (d.status()["last_reload"].get("restart_required") or {}),
        what="restart-only report",
    )
    assert d.status()["db_path"] == str(d.db_path)

    # SIGHUP re-reads too (the file is unchanged: the reload's source says who asked)
    os.kill(d.proc.pid, signal.SIGHUP)
    wait_for(lambda: d.status()["last_reload"]["source"] == "sighup", what="reload after SIGHUP")
    assert d.stop() == 0


def test_kill_switch_reachable_while_config_is_broken(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()
    write_atomic(d.config_path, MINIMAL_CONFIG + "nonsense = [\n")  # mid-edit, invalid TOML
    r = d.cli("kill", "--reason", "config broken")
    assert r.returncode == 0, r.stderr
    assert "warning" in r.stderr
    st = d.cli("status", "--json")
    assert json.loads(st.stdout)["kill_switch"]["engaged"] is True
