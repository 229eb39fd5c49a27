"""Shared helpers of the simulated-Alpaca tests: the app on a real loopback port."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from arenad.clock import Clock, FakeClock
from arenad.sim.alpaca import AlpacaSim, build_alpaca_app
from arenad.sim.alpaca.app import ALPACA_SIM_KEY
from arenad.sim.faults import Faults
from arenad.sim.settings import SimSettings

MONDAY_10AM = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)  # 10:00 New York, a trading day
KEYS = {"APCA-API-KEY-ID": "PKTEST1", "APCA-API-SECRET-KEY": "secret1"}


@dataclass
class Venue:
    sim: AlpacaSim
    faults: Faults
    base: str
    ws: str
    clock: Clock

    async def step(self, seconds: float) -> None:
        """Move the market forward (same as POST /_sim/step) from the test's loop."""
        self.sim.step(seconds)

    @property
    def fake(self) -> FakeClock:
        assert isinstance(self.clock, FakeClock)
        return self.clock


@asynccontextmanager
async def alpaca_venue(
    *,
    seed: int = 7,
    clock: Clock | None = None,
    always_open: bool = True,
    **alpaca: Any,
) -> AsyncIterator[Venue]:
    settings = SimSettings(always_open=always_open, alpaca=alpaca)
    clock = clock if clock is not None else FakeClock(MONDAY_10AM)
    faults = Faults(settings.faults, seed=seed)
    app = build_alpaca_app(settings, seed=seed, faults=faults, clock=clock)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Venue(
            app[ALPACA_SIM_KEY], faults, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", clock
        )
    finally:
        await runner.cleanup()


async def wait_until(pred: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def rest(
    venue: Venue,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    **kw: Any,
) -> tuple[int, Any, CIMultiDict[str]]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, venue.base + path, headers=KEYS if headers is None else headers, **kw
        ) as resp,
    ):
        body = await resp.json(content_type=None) if await resp.read() else None
        return resp.status, body, CIMultiDict(resp.headers)


@asynccontextmanager
async def ws_client(
    url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as http, http.ws_connect(url, headers=headers) as ws:
        yield ws


async def recv(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
    return await asyncio.wait_for(ws.receive(), 5)


async def recv_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await recv(ws)
    assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), msg
    return json.loads(msg.data)


async def closed(ws: aiohttp.ClientWebSocketResponse) -> bool:
    msg = await recv(ws)
    return msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
