"""Tid-less fills (older Hyperliquid answers): one order that walks the book gives several
fills with the same hash. A real `arenad run` against a loopback venue answering the recorded
mainnet `userFills` (500 fills, 345 distinct hashes, no `tid`), first through the backfill
(`userFillsByTime` → `fills_since`), then redelivered twice over the websocket: every fill is
stored exactly once. (b73ca90's backfill deduped on (hash, tid or 0) and kept 345 of 500.)"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from arenad.control.client import ControlClient
from conftest import TEST_DATA, wait_for

RECORDED = json.loads((TEST_DATA / "fade" / "info_userFills.json").read_text())
META = json.loads((TEST_DATA / "fade" / "info_meta.json").read_text())["response"]
WALLET = RECORDED["request"]["user"].lower()


def retimed() -> list[dict[str, Any]]:
    """The recorded fills moved into the last hour (the backfill looks back 24 h)."""
    fills = RECORDED["response"]
    shift = int(time.time() * 1000) - 3_600_000 - max(f["time"] for f in fills)
    return [{**f, "time": f["time"] + shift} for f in fills]


class Venue:
    """/info and /ws on loopback, answering the recorded fills."""

    def __init__(self) -> None:
        self.fills = retimed()
        self.sockets: list[web.WebSocketResponse] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def info(self, req: web.Request) -> web.Response:
        body = await req.json()
        t = body.get("type")
        if t == "meta":
            return web.json_response(META)
        if t == "userFillsByTime":
            start, end = body["startTime"], body.get("endTime") or 2**62
            page = sorted(
                (f for f in self.fills if start <= f["time"] <= end), key=lambda f: f["time"]
            )
            return web.json_response(page[:2000] if body["user"].lower() == WALLET else [])
        if t == "l2Book":
            return web.json_response({"coin": body.get("coin"), "levels": [[], []]})
        if t == "clearinghouseState":
            return web.json_response({"assetPositions": [], "marginSummary": {}})
        return web.json_response({})

    async def ws(self, req: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(req)
        self.sockets.append(ws)
        async for msg in ws:
            m = json.loads(msg.data)
            if m.get("method") == "ping":
                await ws.send_json({"channel": "pong"})
            elif m.get("method") == "subscribe":
                user = m["subscription"]["user"]
                data = {"isSnapshot": True, "user": user, "fills": []}  # the backfill has them
                await ws.send_json({"channel": "userFills", "data": data})
        return ws

    async def push(self) -> None:
        """Every fill again as live frames, in chunks, twice (at-least-once delivery)."""
        for _ in range(2):
            for i in range(0, len(self.fills), 60):
                data = {"user": WALLET, "fills": self.fills[i : i + 60]}
                for ws in self.sockets:
                    await ws.send_json({"channel": "userFills", "data": data})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/info", self.info)
        app.router.add_get("/ws", self.ws)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def start(self) -> Venue:
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.call(self._start())
        return self

    def stop(self) -> None:
        for ws in self.sockets:
            self.call(ws.close())
        if self.runner is not None:
            self.call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def venue() -> Iterator[Venue]:
    v = Venue().start()
    try:
        yield v
    finally:
        v.stop()


def count(db: Any, sql: str) -> int:
    import sqlite3

    try:
        with sqlite3.connect(db) as c:
            return int(c.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return -1


@pytest.mark.slow
def test_tidless_fills_of_one_order_are_each_stored_once(venue: Venue, daemon_proc) -> None:  # type: ignore[no-untyped-def]
    assert len(venue.fills) == 500 and len({f["hash"] for f in venue.fills}) == 345
    url = f"http://127.0.0.1:{venue.port}"
    d = daemon_proc(
        f"""\
[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"

[fade]
info_url = "{url}"
ws_url = "ws://127.0.0.1:{venue.port}/ws"
clearinghouse_check_interval_s = 3600

[[fade.bots]]
id = "whale"
wallet = "{WALLET}"
"""
    )
    d.start()

    def delivered() -> dict[str, int]:
        async def ask() -> dict[str, Any]:
            async with ControlClient(d.socket_path) as c:
                return await c.request("fade.stats")  # type: ignore[no-any-return]

        ingest = asyncio.run(ask())["ingest"]
        return ingest["delivered"] if ingest else {}

    stored = "SELECT count(*) FROM fade_bot_events"
    # The backfill alone: all 500 fetched by fills_since, all 500 stored.
    wait_for(lambda: delivered().get("backfill", 0) > 0, 30, what="the backfill")
    assert delivered()["backfill"] == 500
    wait_for(lambda: count(d.db_path, stored) == 500, 10, what="500 fills stored")
    # The websocket path: all of them again, twice, as live frames: none stored twice.
    venue.call(venue.push())
    wait_for(lambda: delivered().get("live", 0) == 1000, 30, what="1000 live redeliveries")
    assert count(d.db_path, stored) == 500
    assert count(d.db_path, "SELECT count(DISTINCT fill_key) FROM fade_bot_events") == 500
    assert count(d.db_path, "SELECT count(*) FROM fade_bot_events WHERE source = 'live'") == 0
    d.stop()
