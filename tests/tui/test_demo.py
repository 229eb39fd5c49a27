"""`arenad demo` with its TUI, in a pseudo-terminal like an operator's SSH session."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_the_daemon_and_the_tui_attached_to_it(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[daemon]\nlog_level = "info"\n')
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_")}
    env["TERM"] = "xterm-256color"
    env["ARENAD_SIM__HYPERLIQUID_PORT"] = env["ARENAD_SIM__ALPACA_PORT"] = "0"  # free ports
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arenad",
            "demo",
            "--duration",
            "4",
            "--config",
            str(tmp_path / "config.toml"),
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the pty closes when the last writer exits
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        rc = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert rc == 0, out[-2000:]
    assert b"SIMULATION" in out and b"connected" in out  # the TUI drew the daemon's status
    demo = tmp_path / "var" / "demo"
    log = (demo / "arenad.log").read_text()
    assert "arenad stopped" in log  # the daemon's log went to the file, not over the TUI
    assert b'"event": "arenad' not in out
    assert not (demo / "arenad.sock").exists()
