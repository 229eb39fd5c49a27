"""The arena's schedule is visible and its pauses remembered (issue 21 item 13), on a real
`arenad run` against the simulator: `next_run_at` in `status --json`, in `arena runs` and
in `arena.schedule`; a model paused by the operator is still paused after a restart of the
daemon (schemas/0012) and runs again after `arena.resume`, also across a restart."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arenad.control.client import ControlClient

CONFIG = """\
[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"

[sim]
host = "127.0.0.1"
alpaca_port = {alpaca_port}

[arena]
default_timeframe = "position"

[arena.schedule]
kind = "cron"
cron = "*/5 * * * *"
market_days_only = false
missed_slot = "skip"

[arena.rails]
allowed_symbols = ["AAPL"]

[[arena.models]]
id = "hold"
provider = "baseline"
[arena.models.baseline]
kind = "buy_and_hold"
position_fraction = 0.05

[[arena.models]]
id = "other"
provider = "baseline"
[arena.models.baseline]
kind = "buy_and_hold"
position_fraction = 0.05
"""


def ask(sock: Path, cmd: str, **args: Any) -> Any:
    async def go() -> Any:
        async with ControlClient(sock) as c:
            return await c.request(cmd, **args)

    return asyncio.run(go())


def paused(sock: Path) -> dict[str, bool]:
    return {m["model_id"]: m["paused"] for m in ask(sock, "arena.models")}


@pytest.mark.slow
def test_next_run_at_shown_and_a_pause_survives_a_restart(sim_thread, daemon_proc) -> None:  # type: ignore[no-untyped-def]
    port = int(str(sim_thread.alpaca_url).rsplit(":", 1)[1])
    d = daemon_proc(CONFIG.format(alpaca_port=port))
    d.start()
    st = d.status()
    nxt = st["arena"]["next_run_at"]
    when = datetime.fromisoformat(nxt.replace("Z", "+00:00"))
    now = datetime.now(UTC)
    assert now < when <= now + timedelta(minutes=5, seconds=5)
    assert when.minute % 5 == 0 and when.second == 0
    assert st["arena"]["default_timeframe"] == "position"
    assert ask(d.socket_path, "arena.schedule")["next_run_at"] == nxt
    runs = d.cli("arena", "runs")
    assert runs.returncode == 0 and f"next run: {nxt}" in runs.stdout, runs.stdout + runs.stderr

    assert paused(d.socket_path) == {"hold": False, "other": False}
    ask(d.socket_path, "arena.pause", model_id="hold")
    assert d.stop() == 0
    d.start()
    assert paused(d.socket_path) == {"hold": True, "other": False}  # remembered
    assert d.status()["arena"]["paused_models"] == ["hold"]
    ask(d.socket_path, "arena.resume", model_id="hold")
    assert d.stop() == 0
    d.start()
    assert paused(d.socket_path) == {"hold": False, "other": False}
    assert json.loads(d.cli("status", "--json").stdout)["arena"]["paused_models"] == []
    d.stop()


@pytest.mark.slow
async def test_the_tui_arena_screen_shows_the_next_run(sim_thread, daemon_proc) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import Static

    from arenad.tui.app import create_app

    async def wait_until(pilot: Any, predicate: Any, timeout: float) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while not (value := predicate()):
            assert asyncio.get_running_loop().time() < deadline, "timed out"
            await pilot.pause(0.05)
        return value

    port = int(str(sim_thread.alpaca_url).rsplit(":", 1)[1])
    d = daemon_proc(CONFIG.format(alpaca_port=port))
    await asyncio.to_thread(d.start)
    nxt = (await asyncio.to_thread(d.status))["arena"]["next_run_at"]
    app = create_app(lambda: ControlClient(d.socket_path), refresh_s=None)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.state.connection.state == "connected", timeout=15)
        await pilot.press("a")

        def shown() -> str:
            try:
                return str(app.screen.query_one("#next-run", Static).render())
            except Exception:
                return ""

        text = await wait_until(pilot, lambda: "next run:" in shown() and shown(), timeout=15)
        assert f"next run: {nxt[:10]} {nxt[11:19]}" in text
    await asyncio.to_thread(d.stop)
