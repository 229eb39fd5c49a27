"""`R` (reload) in the demo keeps the demo: a real `arenad demo --headless` subprocess, its
config reloaded over the control socket as the TUI's `R` does. An unedited file changes zero
keys (the demo's in-process overrides — var/demo paths, the two-minute schedule, the
simulator's bound ports — are applied to every re-read), there is no false warning that the
database or socket moved, and the schedule stays in force."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arenad.control.client import ControlClient, DaemonNotRunning
from conftest import REPO, wait_for

pytestmark = pytest.mark.slow


def _call(sock: Path, command: str, **params: Any) -> Any:
    async def go() -> Any:
        async with ControlClient(sock) as c:
            return await c.request(command, **params)

    return asyncio.run(go())


def _up(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        _call(sock, "status")
    except (DaemonNotRunning, OSError):
        return False
    return True


@pytest.mark.timeout(240)
def test_reload_in_the_demo_changes_nothing_and_keeps_the_schedule() -> None:
    d = Path(tempfile.mkdtemp(prefix="ad-", dir="/tmp"))  # a socket path fits in 108 bytes
    cfg = d / "config.toml"
    cfg.write_text((REPO / "config.toml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_")}
    env["ARENAD_SIM__HYPERLIQUID_PORT"] = env["ARENAD_SIM__ALPACA_PORT"] = "0"
    log = (d / "demo.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "arenad", "demo", "--headless", "--config", str(cfg)],
        cwd=d,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    sock = d / "var" / "demo" / "arenad.sock"
    try:
        wait_for(lambda: proc.poll() is not None or _up(sock), 90, 0.2, "the demo's socket")
        assert proc.poll() is None, (d / "demo.log").read_text()[-3000:]
        before = _call(sock, "config")["settings"]
        assert before["arena"]["schedule"]["cron"] == "*/2 * * * *"  # the demo's schedule

        r = _call(sock, "reload")
        assert r["ok"], r
        assert r["changes"] == {} and r["restart_required"] == {}, r
        after = _call(sock, "config")["settings"]
        assert after == before  # the very settings the demo started with
        st = _call(sock, "status")
        assert st["db_path"] == str(d / "var" / "demo" / "arenad.db")
        # The schedule still fires: the next slot of the demo's cron is two minutes away at most.
        when = datetime.fromisoformat(st["arena"]["next_run_at"].replace("Z", "+00:00"))
        assert when <= datetime.now(UTC) + timedelta(minutes=2, seconds=5)
        assert st["arena"]["kind"] == "cron"

        # A real edit is applied, and only it.
        text = cfg.read_text()
        edited = re.sub(r"(?m)^slippage_bps = 50$", "slippage_bps = 60", text)
        assert edited != text
        cfg.write_text(edited)
        r = _call(sock, "reload")
        assert r["ok"] and list(r["changes"]) == ["fade.slippage_bps"], r
        assert r["restart_required"] == {}
        events = _call(sock, "events", search="path", limit=50)
        assert not [e for e in events if "restart" in e["message"]], json.dumps(events)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()
