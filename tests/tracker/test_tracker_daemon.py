"""The tracker inside a real `arenad run`: it polls a loopback nof1 (served from the recorded
snapshot by a plain http.server thread), and answers `tracker.models` / `tracker.chat` over the
control socket — what the TUI calls to show a bot's chat next to a fade decision."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tracker_fixtures import ACCOUNT_TOTALS, SNAP, load

from arenad.control.client import ControlClient, ControlError
from arenad.tracker.parse import epoch_iso
from conftest import MINIMAL_CONFIG, wait_for

REQUESTS: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ep = self.path.split("?")[0].removeprefix("/api/")
        REQUESTS.append(ep)
        path = ACCOUNT_TOTALS if ep == "account-totals" else SNAP / f"{ep}.json"
        if ep == "positions":
            self.send_response(410)
            self.end_headers()
            return
        if not path.is_file():
            self.send_response(404)
            self.end_headers()
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def nof1_http() -> Iterator[str]:
    REQUESTS.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()


def _call(d: Any, cmd: str, **args: Any) -> Any:
    async def go() -> Any:
        async with ControlClient(d.socket_path) as c:
            return await c.request(cmd, **args)

    return asyncio.run(go())


@pytest.mark.slow
def test_tracker_switches_on_at_a_config_reload(daemon_proc, nof1_http: str) -> None:  # type: ignore[no-untyped-def]
    off = MINIMAL_CONFIG + "[arena]\nenabled = false\n"
    d = daemon_proc(off + f'[tracker]\nbase_url = "{nof1_http}"\ninterval_s = 3600\n')
    d.start()
    status = _call(d, "tracker.status")
    assert status["enabled"] is False and status["rounds"] == 0
    assert _call(d, "tracker.models") == []
    tmp = d.config_path.with_suffix(".tmp")
    tmp.write_text(
        off + f'[tracker]\nenabled = true\nbase_url = "{nof1_http}"\ninterval_s = 3600\n'
    )
    os.replace(tmp, d.config_path)
    wait_for(
        lambda: _call(d, "tracker.status")["rounds"] >= 1,
        timeout=30,
        what="a polling round after the reload",
    )
    assert sorted(set(REQUESTS)) == sorted(
        [
            "leaderboard",
            "trades",
            "account-totals",
            "since-inception-values",
            "conversations",
            "analytics",
            "crypto-prices",
        ]
    )
    assert len(_call(d, "tracker.models")) == 7
    assert d.stop() == 0


@pytest.mark.slow
def test_daemon_polls_nof1_and_serves_chats(daemon_proc, nof1_http: str) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc(
        MINIMAL_CONFIG
        + f'[tracker]\nenabled = true\nbase_url = "{nof1_http}"\ninterval_s = 3600\n'
        + "[arena]\nenabled = false\n"
    )
    d.start()

    def call(cmd: str, **args: Any) -> Any:
        async def go() -> Any:
            async with ControlClient(d.socket_path) as c:
                return await c.request(cmd, **args)

        return asyncio.run(go())

    models = wait_for(
        lambda: len(call("tracker.models")) == 7 and call("tracker.models"),
        timeout=30,
        what="the first polling round",
    )
    by_id = {m["model_id"]: m for m in models}
    assert by_id["qwen3-max"]["book_id"] == "bot:nof1-qwen3-max"
    assert by_id["gemini-2.5-pro"]["trades"] == 100

    def chats_stored() -> bool:
        with sqlite3.connect(d.db_path) as conn:
            return bool(conn.execute("SELECT count(*) FROM nof1_chats").fetchone()[0] == 25)

    wait_for(chats_stored, timeout=30, what="conversations stored")
    convs = sorted(
        (c for c in load("conversations")["conversations"] if c["model_id"] == "grok-4"),
        key=lambda c: c["timestamp"],
    )
    fill_time = epoch_iso(convs[1]["timestamp"] + 1)  # a fill just after grok's second chat
    chat = call("tracker.chat", bot_id="grok-4", before=fill_time)
    assert chat["ts"] == epoch_iso(convs[1]["timestamp"]) and chat["model"] == "grok-4"
    assert chat["summary"] == convs[1]["cot_trace_summary"]
    assert isinstance(chat["text"], str) and chat["text"]
    # epoch seconds work too; before the season: null
    assert (
        call("tracker.chat", model_id="grok-4", before=float(convs[1]["timestamp"]) + 1)["chat_id"]
        == convs[1]["id"]
    )
    assert call("tracker.chat", bot_id="grok-4", before="2025-01-01T00:00:00Z") is None
    for bad in ({}, {"bot_id": "grok-4", "before": "yesterday"}):
        with pytest.raises(ControlError) as ei:
            call("tracker.chat", **bad)
        assert ei.value.code == "invalid_args"
    # the round may still be storing its last endpoints: wait for its end
    status = wait_for(
        lambda: (s := call("tracker.status"))["rounds"] >= 1 and s,
        timeout=30,
        what="the end of the first round",
    )
    assert status["enabled"] is True
    assert status["last_hourly_marker"] == 249

    def connected() -> bool:
        with sqlite3.connect(d.db_path) as conn:
            return conn.execute("SELECT nof1_connected FROM system_status").fetchone() == (1,)

    wait_for(connected, timeout=30, what="system_status.nof1_connected")
    assert d.stop() == 0
    d.audit()
    # after shutdown no venue is said to be connected
    with sqlite3.connect(d.db_path) as conn:
        assert conn.execute("SELECT nof1_connected FROM system_status").fetchone() == (0,)
