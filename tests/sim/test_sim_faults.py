"""Each fault mode does what it says, switched at run time through `/_sim/*`, and the
daemon's own Hyperliquid clients see the failure they are built to survive."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from arenad.errors import TemporaryError
from arenad.sim.faults import Faults
from arenad.sim.server import SimServer
from arenad.sim.settings import FaultSettings
from arenad.venues.hyperliquid.info import HyperliquidInfo
from arenad.venues.hyperliquid.ws import HyperliquidWS
from fixtures_sim import poll_until


@pytest.fixture
async def quiet(sim_factory: Any) -> SimServer:
    server: SimServer = await sim_factory(bots_enabled=False)
    return server


async def set_faults(server: SimServer, **changes: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.hyperliquid_url) as client:
        return await client.post("/_sim/faults", json=changes)


async def test_drop_rate_closes_the_connection_instead_of_sending(quiet: SimServer) -> None:
    async with connect(quiet.hyperliquid_ws_url) as ws:
        await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "allMids"}}))
        assert json.loads(await ws.recv())["channel"] == "subscriptionResponse"
        await ws.recv()  # the first mids
        assert (await set_faults(quiet, drop_rate=1.0)).status_code == 200
        quiet.hyperliquid.step()
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
    assert quiet.hyperliquid_faults.dropped == 1


async def test_drop_on_demand_and_the_daemon_client_reconnects(quiet: SimServer) -> None:
    states: list[bool] = []
    messages: list[dict[str, Any]] = []

    async def on_message(msg: dict[str, Any]) -> None:
        messages.append(msg)

    async def on_state(up: bool, detail: str) -> None:
        states.append(up)

    client = HyperliquidWS(
        quiet.hyperliquid_ws_url,
        [{"type": "allMids"}],
        on_message,
        on_state=on_state,
        max_backoff_s=0.05,
    )
    task = asyncio.create_task(client.run())
    try:
        await poll_until(lambda: states == [True], 5, "first connect")
        async with httpx.AsyncClient(base_url=quiet.hyperliquid_url) as http:
            resp = await http.post("/_sim/drop")
        assert resp.json() == {"dropped": 1}
        await poll_until(lambda: states == [True, False, True], 10, "reconnect after drop")
        n = len(messages)
        quiet.hyperliquid.step()
        await poll_until(lambda: len(messages) > n, 5, "data after the reconnect")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_latency_delays_http_and_websocket(quiet: SimServer) -> None:
    assert (await set_faults(quiet, latency_ms=300)).json()["latency_ms"] == 300
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=quiet.hyperliquid_url) as client:
        start = loop.time()
        resp = await client.post("/info", json={"type": "allMids"})
        assert resp.status_code == 200 and loop.time() - start >= 0.3
    async with connect(quiet.hyperliquid_ws_url) as ws:
        start = loop.time()
        await ws.send(json.dumps({"method": "ping"}))
        assert json.loads(await ws.recv()) == {"channel": "pong"}
        assert loop.time() - start >= 0.3


@pytest.mark.parametrize("status", [429, 503])
async def test_http_errors_at_a_rate(quiet: SimServer, status: int) -> None:
    await set_faults(quiet, http_error_rate=1.0, http_error_status=status)
    info = HyperliquidInfo(quiet.hyperliquid_url)
    try:
        with pytest.raises(TemporaryError, match=f"HTTP {status}"):
            await info.all_mids()
        # Control routes stay reachable, so a test can always heal the venue.
        resp = await set_faults(quiet, http_error_rate=0.0)
        assert resp.status_code == 200
        assert "BTC" in await info.all_mids()
    finally:
        await info.close()


async def test_http_error_rate_is_a_rate(quiet: SimServer) -> None:
    await set_faults(quiet, http_error_rate=0.5, http_error_status=502)
    codes = []
    async with httpx.AsyncClient(base_url=quiet.hyperliquid_url) as client:
        for _ in range(200):
            codes.append((await client.post("/info", json={"type": "meta"})).status_code)
    assert set(codes) == {200, 502}
    assert 60 < codes.count(502) < 140


async def test_malformed_frames_are_not_json(quiet: SimServer) -> None:
    await set_faults(quiet, malformed_rate=1.0)
    async with connect(quiet.hyperliquid_ws_url) as ws:
        await ws.send(json.dumps({"method": "ping"}))
        frame = await asyncio.wait_for(ws.recv(), 5)
        with pytest.raises(ValueError):
            json.loads(frame)
    # The daemon's client counts and skips them instead of crashing.
    got: list[Any] = []

    async def on_message(msg: dict[str, Any]) -> None:
        got.append(msg)

    client = HyperliquidWS(quiet.hyperliquid_ws_url, [{"type": "allMids"}], on_message)
    task = asyncio.create_task(client.run())
    try:
        await poll_until(lambda: client.skipped >= 1, 5, "a skipped frame")
        await set_faults(quiet, malformed_rate=0.0)
        quiet.hyperliquid.step()
        await poll_until(lambda: any(m["channel"] == "allMids" for m in got), 5, "good frames")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_paused_stream_sends_nothing_until_resumed(quiet: SimServer) -> None:
    async with connect(quiet.hyperliquid_ws_url) as ws:
        await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": "allMids"}}))
        await ws.recv()  # ack
        await ws.recv()  # first mids
        resp = await set_faults(quiet, pause="allMids")
        assert resp.json()["paused_streams"] == ["allMids"]
        quiet.hyperliquid.step(3)
        await ws.send(json.dumps({"method": "ping"}))
        # Only the pong: the three allMids of the paused stream are gone.
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"channel": "pong"}
        await set_faults(quiet, resume="allMids")
        quiet.hyperliquid.step()
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["channel"] == "allMids"


async def test_control_endpoint_rejects_bad_settings_and_keeps_the_old(quiet: SimServer) -> None:
    for body, word in (
        ({"drop_rate": 2}, "drop_rate"),
        ({"nonsense": 1}, "nonsense"),
        ({"pause": 5}, "pause"),
    ):
        resp = await set_faults(quiet, **body)
        assert resp.status_code == 400
        assert word in resp.json()["error"]
    async with httpx.AsyncClient(base_url=quiet.hyperliquid_url) as client:
        resp = await client.post("/_sim/faults", content=b"[")
        assert resp.status_code == 400
        current = (await client.get("/_sim/faults")).json()
    assert current == FaultSettings().model_dump(mode="json")


def test_faults_are_deterministic_for_a_seed_and_silent_when_off() -> None:
    cfg = FaultSettings(drop_rate=0.3, malformed_rate=0.2, http_error_rate=0.1)
    a, b, c = Faults(cfg, seed=1), Faults(cfg, seed=1), Faults(cfg, seed=2)

    def run(f: Faults) -> list[Any]:
        return [(f.should_drop(), f.malformed(), f.http_error()) for _ in range(200)]

    ra = run(a)
    assert ra == run(b)
    assert ra != run(c)
    off = Faults(seed=1)
    assert not any(any(x) for x in run(off))


async def test_settings_faults_apply_from_start(sim_factory: Any) -> None:
    server: SimServer = await sim_factory(
        bots_enabled=False, faults={"http_error_rate": 1.0, "http_error_status": 500}
    )
    async with httpx.AsyncClient(base_url=server.hyperliquid_url) as client:
        assert (await client.post("/info", json={"type": "meta"})).status_code == 500
