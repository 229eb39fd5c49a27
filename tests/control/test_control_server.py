"""Malformed or unknown requests get an error and never break the connection or the server."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import tempfile
from pathlib import Path

import pytest
from websockets.asyncio.client import unix_connect

from arenad.control.client import ControlClient, ControlError, DaemonNotRunning
from arenad.control.protocol import InvalidArgs
from arenad.control.server import ControlServer
from arenad.daemon.bus import Bus
from arenad.errors import OperationalError


@pytest.fixture
async def server():  # type: ignore[no-untyped-def]
    d = Path(tempfile.mkdtemp(prefix="ac-", dir="/tmp"))
    bus = Bus()
    srv = ControlServer(d / "c.sock", bus, event_queue_size=5)

    async def echo(args):  # type: ignore[no-untyped-def]
        if "fail" in args:
            raise RuntimeError("it broke")
        if "bad" in args:
            raise InvalidArgs("`bad` is not allowed")
        return {"echo": args}

    srv.register("echo", echo, "echo args")
    await srv.start()
    yield srv, bus
    await srv.close()
    os.rmdir(d)


async def test_socket_is_0600(server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    assert stat.S_IMODE(os.stat(srv.socket_path).st_mode) == 0o600


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        ('{"id": 1}', "bad_request"),
        ('{"id": 1, "cmd": 5}', "bad_request"),
        ('{"id": {}, "cmd": "echo"}', "bad_request"),
        ('{"id": 1, "cmd": "echo", "args": [1]}', "bad_request"),
        ('{"id": 1, "cmd": "launch_missiles"}', "unknown_command"),
        ('{"id": 1, "cmd": "echo", "args": {"fail": 1}}', "failed"),
        ('{"id": 1, "cmd": "echo", "args": {"bad": 1}}', "invalid_args"),
        ('{"id": 1, "cmd": "subscribe", "args": {"topics": "x"}}', "invalid_args"),
        (b"\xff\xfe", "bad_request"),
    ],
)
async def test_bad_requests_get_errors_and_the_connection_survives(server, raw, code) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    async with unix_connect(str(srv.socket_path)) as ws:
        await ws.send(raw)
        reply = json.loads(await ws.recv())
        assert reply["ok"] is False and reply["error"]["code"] == code
        assert reply["error"]["message"]
        await ws.send(json.dumps({"id": 2, "cmd": "echo", "args": {"a": 1}}))
        assert json.loads(await ws.recv()) == {"id": 2, "ok": True, "result": {"echo": {"a": 1}}}


async def test_client_requests_and_subscription(server) -> None:  # type: ignore[no-untyped-def]
    srv, bus = server
    async with ControlClient(srv.socket_path) as c:
        assert await c.request("echo", x=1) == {"echo": {"x": 1}}
        with pytest.raises(ControlError) as ei:
            await c.request("nope")
        assert ei.value.code == "unknown_command"
        await c.subscribe(["system_event"])
        bus.publish("status", {"ignored": True})
        bus.publish("system_event", {"message": "hello"})
        it = c.events()
        ev = await asyncio.wait_for(it.__anext__(), 5)
        assert ev["event"] == "system_event" and ev["data"] == {"message": "hello"}


async def test_slow_subscriber_drops_oldest_and_is_told(server) -> None:  # type: ignore[no-untyped-def]
    _, bus = server
    sub = bus.subscribe(None, maxsize=5)
    for i in range(12):
        bus.publish("tick", {"i": i})
    got = [(await sub.get()).data["i"] for _ in range(5)]
    assert got == [7, 8, 9, 10, 11] and sub.dropped == 7
    sub.close()


async def test_stale_socket_replaced_live_one_refused(tmp_path: Path) -> None:
    d = Path(tempfile.mkdtemp(prefix="ac-", dir="/tmp"))
    path = d / "c.sock"
    import socket

    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()  # a socket file nobody listens on: what a crashed daemon leaves
    a = ControlServer(path, Bus())
    await a.start()
    b = ControlServer(path, Bus())
    with pytest.raises(OperationalError, match="already listening"):
        await b.start()
    async with ControlClient(path) as c:
        assert "status" not in await c.request("help")
    await a.close()
    with pytest.raises(DaemonNotRunning):
        await ControlClient(path).connect(timeout=1)
    (d / "regular").write_text("x")
    with pytest.raises(OperationalError, match="not a socket"):
        await ControlServer(d / "regular", Bus()).start()
