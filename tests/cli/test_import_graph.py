"""`arenad --help` and the emergency `arenad kill` import neither numpy, nor pydantic, nor the
engines, nor the websockets library (issue 21 item 15): checked on the import graph of a real
`python -m arenad` process (sys.modules at exit), not on a timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "numpy",
    "pandas",
    "pydantic",
    "aiosqlite",
    "websockets",
    "textual",
    "rich",
    "arenad.config.loader",
    "arenad.fade.engine",
    "arenad.strategies.engine",
    "arenad.daemon.app",
)

# Run `python -m arenad ARGS` and print, at exit, which heavy modules were imported.
PROBE = """\
import atexit, json, runpy, sys
heavy = {heavy!r}
atexit.register(lambda: print("\\nMODULES " + json.dumps(
    sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + "." for h in heavy))))))
sys.argv = ["arenad", *{args!r}]
runpy.run_module("arenad", run_name="__main__")
"""


def imported(args: list[str], cwd: Path) -> tuple[int, list[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_")}
    r = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY, args=args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )
    line = [x for x in r.stdout.splitlines() if x.startswith("MODULES ")][-1]
    return r.returncode, json.loads(line.removeprefix("MODULES ")), r.stdout + r.stderr


def test_help_imports_no_area(tmp_path: Path) -> None:
    rc, mods, out = imported(["--help"], tmp_path)
    assert rc == 0 and "kill" in out
    assert mods == []


def test_kill_without_a_daemon_imports_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[daemon]\nsocket_path = "x.sock"\n')
    rc, mods, out = imported(["kill"], tmp_path)
    assert rc == 1 and "nothing answers on" in out and "x.sock" in out
    assert mods == []


@pytest.mark.slow
def test_kill_engages_the_switch_of_a_real_daemon_importing_nothing_heavy(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()
    rc, mods, out = imported(["kill", "--config", str(d.config_path), "--reason", "drill"], d.dir)
    assert rc == 0, out
    assert "kill switch engaged: drill" in out
    assert mods == []
    st = d.status()
    assert st["kill_switch"]["engaged"] and st["kill_switch"]["reason"] == "drill"
    assert st["trading_state"] == "HALTED"
    d.stop()
