"""`arenad sim` as a real process: config + environment, serves, stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from arenad.sim.hyperliquid.bots import bot_address

pytestmark = pytest.mark.slow


def start(config: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "arenad", "sim", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | env,
    )


def test_arenad_sim_serves_until_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[sim]\nhyperliquid_port = 0\nalpaca_port = 0\nseed = 1\n")
    proc = start(config, ARENAD_SIM__SEED="77")
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:  # ends at "ready" or when the process dies
            lines.append(line)
            if line.strip() == "ready":
                break
        text = "".join(lines)
        assert "ready" in text, proc.stderr.read() if proc.stderr else text
        url = re.search(r"hyperliquid: (http://127\.0\.0\.1:\d+)", text)
        assert url is not None
        # The environment overrode the file's seed: bot wallets are those of seed 77.
        assert f"bot gpt-5: {bot_address(77, 'gpt-5')}" in text
        meta = httpx.post(url.group(1) + "/info", json={"type": "meta"}, timeout=10).json()
        assert meta["universe"][0]["name"] == "BTC"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_arenad_sim_refuses_a_public_host(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[sim]\nhost = "0.0.0.0"\n')
    proc = start(config)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "sim.host" in err and "loopback" in err
