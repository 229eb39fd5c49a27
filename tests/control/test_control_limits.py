"""The control protocol is strict, and the server caps its connections (issue 14)."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs
from websockets.asyncio.client import unix_connect
from websockets.exceptions import ConnectionClosed

from arenad.control import protocol
from arenad.control.client import ControlClient, DaemonBusy, DaemonNotRunning
from arenad.control.server import ControlServer
from arenad.daemon.bus import Bus


@pytest.fixture
async def server() -> AsyncIterator[ControlServer]:
    d = Path(tempfile.mkdtemp(prefix="acl-", dir="/tmp"))
    srv = ControlServer(d / "c.sock", Bus(), max_connections=3)

    async def echo(args: dict[str, Any]) -> dict[str, Any]:
        return {"echo": args}

    srv.register("echo", echo, "echo args")
    await srv.start()
    yield srv
    await srv.close()
    os.rmdir(d)


STRICT = [
    ('{"id": 1, "cmd": "echo", "cmd": "kill"}', "duplicate key 'cmd' in a JSON object"),
    ('{"id": 1, "cmd": "echo", "args": {"a": 1, "a": 2}}', "duplicate key 'a'"),
    ('{"id": 1, "cmd": "echo", "args": {"x": [{"k": 1, "k": 1}]}}', "duplicate key 'k'"),
    ("[" * 100_000 + "]" * 100_000, "nested deeper than 32 levels"),
    ('{"a": ' * 30_000, "nested deeper than 32 levels"),
    ('{"id": 1, "cmd": "echo", "args": {"x": ' + "[" * 31 + "]" * 31 + "}}", "deeper than 32"),
    ('{"id": ' + "9" * 5_000 + ', "cmd": "echo"}', "at most 2^53 (9007199254740992)"),
    ('{"id": -' + "1" * 5_000 + ', "cmd": "echo"}', "at most 2^53"),
    ('{"id": 1, "cmd": "echo", "args": {"n": 9007199254740993}}', "at most 2^53"),
    ('{"id": 1, "cmd": "echo", "args": {"n": 1e400}}', "number 1e400 is out of range"),
    ('{"id": 1, "cmd": "echo", "args": {"n": NaN}}', "NaN is not a JSON value"),
    ('{"id": 1, "cmd": "echo", "args": {"n": -Infinity}}', "-Infinity is not a JSON value"),
    ('{"id": 1, "cmd": "echo", "args": {"why": "\\udc00"}}', "lone UTF-16 surrogate"),
    ('{"id": 1, "cmd": "echo", "args": {"\\ud83d\\ude00": 1, "k\\ud800": 2}}', "lone UTF-16"),
    ('{"id": "' + "x" * 129 + '", "cmd": "echo"}', "`id` is longer than 128"),
    ('{"id": 1, "cmd": "' + "c" * 129 + '"}', "`cmd` is longer than 128"),
]


@pytest.mark.parametrize(("raw", "says"), STRICT, ids=[says for _, says in STRICT])
async def test_strict_parsing_answers_with_an_error_and_keeps_the_connection(
    server: ControlServer, raw: str, says: str
) -> None:
    async with unix_connect(str(server.socket_path)) as ws:
        with capture_logs() as logs:
            await ws.send(raw)
            reply = json.loads(await ws.recv())
        assert reply["ok"] is False and reply["error"]["code"] == "bad_request"
        assert says in reply["error"]["message"]
        refused = [e for e in logs if e["event"] == "control request refused"]
        assert refused and refused[0]["log_level"] == "debug" and says in refused[0]["reason"]
        await ws.send(json.dumps({"id": 2, "cmd": "echo", "args": {"a": 1}}))
        assert json.loads(await ws.recv()) == {"id": 2, "ok": True, "result": {"echo": {"a": 1}}}


@pytest.mark.parametrize(
    "raw",
    [
        '{"id": 9007199254740992, "cmd": "echo"}',
        '{"id": -9007199254740992, "cmd": "echo", "args": {"f": 1.5e300}}',
        '{"id": 1, "cmd": "echo", "args": {"x": ' + "[" * 30 + "]" * 30 + "}}",
        '{"id": "' + "x" * 128 + '", "cmd": "echo", "args": {"why": "caf\\u00e9 \\ud83d\\ude00"}}',
    ],
)
def test_values_at_the_limits_are_accepted(raw: str) -> None:
    req = protocol.parse_request(raw)
    assert req.cmd == "echo"


def test_parse_request_raises_only_protocol_errors_on_pathological_input() -> None:
    literal = '{"cmd": "echo", "args": {"a": "\ud800"}}'  # a str, not UTF-8 off the wire
    for raw in (
        "-" + "1" * 10_000,
        "1" * 10_000,
        '"\\ud800"',
        "{" * 2000 + "}" * 2000,
        "",
        literal,
    ):
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_request(raw)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
            max_leaves=60,
        ).map(lambda v: json.dumps({"id": 1, "cmd": "echo", "args": {"v": v}})),
    )
)
def test_parse_request_never_raises_anything_but_protocol_error(raw: str) -> None:
    try:
        req = protocol.parse_request(raw)
    except protocol.ProtocolError as e:
        assert e.code == "bad_request" and e.message
    else:
        assert isinstance(req.cmd, str)


async def test_a_frame_over_the_limit_closes_with_1009(server: ControlServer) -> None:
    async with unix_connect(str(server.socket_path), max_size=None) as ws:
        big = {"id": 1, "cmd": "echo", "args": {"x": "y" * protocol.MAX_FRAME_BYTES}}
        await ws.send(json.dumps(big))
        with pytest.raises(ConnectionClosed) as ei:
            await ws.recv()
        assert ei.value.rcvd is not None and ei.value.rcvd.code == 1009
    async with ControlClient(server.socket_path) as c:  # the server is unaffected
        assert await c.request("echo", a=1) == {"echo": {"a": 1}}


async def test_connections_over_the_cap_are_refused_with_1013_and_logged(
    server: ControlServer,
) -> None:
    held = [await ControlClient(server.socket_path).connect() for _ in range(3)]
    for c in held:
        assert await c.request("echo", a=1) == {"echo": {"a": 1}}
    assert server.open_connections == 3
    with capture_logs() as logs:
        for _ in range(2):
            extra = await ControlClient(server.socket_path).connect()
            with pytest.raises(DaemonBusy) as ei:
                await extra.request("echo")
            assert isinstance(ei.value, DaemonNotRunning)  # every caller's handling applies
            assert "too many control connections (3 open, limit 3)" in str(ei.value)
            await extra.close()
    warnings = [e for e in logs if e["event"].startswith("control connection limit reached")]
    assert len(warnings) == 1 and warnings[0]["limit"] == 3  # one warning per 10 s, not per refusal
    debug = [e for e in logs if e["event"] == "control connection refused"]
    assert len(debug) == 2 and all("too many" in e["reason"] for e in debug)
    assert server.refused_connections == 2
    await held.pop().close()
    await _until(lambda: server.open_connections == 2)
    async with ControlClient(server.socket_path) as c:  # a slot is free again
        assert await c.request("echo", b=2) == {"echo": {"b": 2}}
    server.max_connections = 2  # a reload lowers the cap: new connections see it
    await _until(lambda: server.open_connections == 2)
    late = await ControlClient(server.socket_path).connect()
    with pytest.raises(DaemonBusy):
        await late.request("echo")
    await late.close()
    for c in held:
        assert await c.request("echo", still=True) == {"echo": {"still": True}}
        await c.close()


async def _until(pred: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.01)
