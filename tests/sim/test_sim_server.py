"""SimServer: both venues on loopback, bound ports exposed, faults isolated per venue,
everything released on stop."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx

from arenad.sim.server import SimServer
from fixtures_sim import SimThread, poll_until, sim_settings


async def test_both_venues_with_separate_faults(sim_factory: Any) -> None:
    server: SimServer = await sim_factory(bots_enabled=False)
    assert server.hyperliquid_port > 0
    assert server.alpaca_url is not None, "the Alpaca venue should be served"
    async with httpx.AsyncClient() as client:
        hl = server.hyperliquid_url
        r = await client.post(
            f"{hl}/_sim/faults", json={"http_error_rate": 1.0, "http_error_status": 503}
        )
        assert r.status_code == 200
        assert (await client.post(f"{hl}/info", json={"type": "meta"})).status_code == 503
        # Alpaca's faults are its own: still healthy.
        r = await client.get(f"{server.alpaca_url}/_sim/faults")
        assert r.status_code == 200 and r.json()["http_error_rate"] == 0.0


async def test_stop_releases_the_ports() -> None:
    server = SimServer(sim_settings(), alpaca=False)
    await server.start()
    port = server.hyperliquid_port
    assert server.alpaca_url is None
    await server.stop()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free again


def test_sim_thread_serves_sync_clients(sim_thread: SimThread) -> None:
    mids = httpx.post(f"{sim_thread.hyperliquid_url}/info", json={"type": "allMids"}).json()
    assert "BTC" in mids
    bots = httpx.get(f"{sim_thread.hyperliquid_url}/_sim/bots").json()
    assert [b["name"] for b in bots][:2] == ["gpt-5", "gemini-2.5-pro"]


async def test_pause_freezes_a_running_ticker(sim_factory: Any) -> None:
    server: SimServer = await sim_factory(manual_ticks=False, bots_enabled=False)
    sim = server.hyperliquid
    async with httpx.AsyncClient(base_url=server.hyperliquid_url) as client:
        start = sim.market.steps
        await poll_until(lambda: sim.market.steps > start, what="the ticker stepping")
        for bad in ({"paused": "yes"}, {}, [True]):
            r = await client.post("/_sim/pause", json=bad)
            assert r.status_code == 400 and "paused" in r.json()["error"]
        frozen = (await client.post("/_sim/pause", json={"paused": True})).json()["steps"]
        # The ticker runs on this loop: once the answer is back no further step can land, so
        # ten tick intervals later the count is where the pause left it.
        await asyncio.sleep(sim.settings.tick_interval_s * 10)
        assert sim.market.steps == frozen
        assert (await client.post("/_sim/step", json={"n": 2})).json()["steps"] == frozen + 2
        await client.post("/_sim/pause", json={"paused": False})
        await poll_until(lambda: sim.market.steps > frozen + 2, what="the ticker resuming")


async def test_step_and_fund_routes(sim_factory: Any) -> None:
    server: SimServer = await sim_factory(bots_enabled=False)
    user = "0x" + "ef" * 20
    async with httpx.AsyncClient(base_url=server.hyperliquid_url) as client:
        before = server.hyperliquid.market.steps
        assert (await client.post("/_sim/step", json={"n": 5})).json()["steps"] == before + 5
        assert (await client.post("/_sim/step", json={"n": 0})).status_code == 400
        r = await client.post("/_sim/fund", json={"user": user, "usdc": "250.5"})
        assert r.json() == {"user": user, "balance": "10250.5"}
        assert (await client.post("/_sim/fund", json={"user": "x", "usdc": 1})).status_code == 400
        stats = (await client.get("/_sim/stats")).json()
        assert stats["steps"] == before + 5
