"""Progress of long CLI work (issue 21 item 14): a bar on a terminal, a periodic line when
piped, never on stdout."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

from arenad.progress import Progress
from arenad.store.migrate import migrate
from conftest import TEST_DATA


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_")}


def test_piped_progress_is_a_line_now_and_then_and_the_final_count() -> None:
    out = io.StringIO()
    with Progress("sweep x", "runs", stream=out, interval_s=3600, tty=False) as p:
        for i in range(11):
            p.update(i, 10)
    lines = out.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "sweep x: 0/10 runs (0 %)",
        "sweep x: 10/10 runs (100 %)",
    ]


def test_every_step_is_a_line_when_the_interval_is_zero() -> None:
    out = io.StringIO()
    with Progress("import d", "files", stream=out, interval_s=0, tty=False) as p:
        for i in range(4):
            p.update(i, 3)
    assert len(out.getvalue().splitlines()) == 5  # 4 updates + the final count


def test_a_terminal_gets_a_rich_bar() -> None:
    out = io.StringIO()
    with Progress("sweep x", "runs", stream=out, tty=True) as p:
        for i in range(11):
            p.update(i, 10)
    text = out.getvalue()
    assert "sweep x" in text and "10/10" in text and "━" in text  # rich's bar
    assert "\x1b[" in text  # drawn for a terminal


def test_disabled_progress_writes_nothing() -> None:
    out = io.StringIO()
    with Progress("x", "runs", stream=out, enabled=False, tty=False) as p:
        p.update(1, 2)
    assert out.getvalue() == ""


def test_db_backup_and_tracker_import_report_progress_when_piped(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[daemon]\ndb_path = "arenad.db"\n')
    asyncio.run(migrate(tmp_path / "arenad.db"))
    snap = next(p for p in (TEST_DATA / "tracker").iterdir() if p.is_dir())
    shutil.copytree(snap, tmp_path / "snap")
    r = subprocess.run(
        [sys.executable, "-m", "arenad", "tracker", "import", "snap"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "import snap: " in r.stderr and "files (100 %)" in r.stderr, r.stderr
    assert "import snap" not in r.stdout  # the result stays clean
    r = subprocess.run(
        [sys.executable, "-m", "arenad", "db", "backup", "copy.db"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    last = [x for x in r.stderr.splitlines() if x.startswith("backup arenad.db: ")][-1]
    assert "pages (100 %)" in last, r.stderr
    assert "integrity: ok" in r.stdout
