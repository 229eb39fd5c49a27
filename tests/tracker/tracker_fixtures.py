"""A fake nof1 API on loopback serving the recorded snapshot, with faults on demand.

Test modules import the fixtures (`from tracker_fixtures import nof1_fixture, rig_fixture`):
a second conftest.py would shadow the root one's `conftest` module."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from arenad.daemon.events import EventLog
from arenad.tracker.poller import Nof1Poller
from arenad.tracker.settings import TrackerSettings
from arenad.tracker.store import TrackerStore
from conftest import TEST_DATA

SNAP = TEST_DATA / "tracker" / "2025-10-28T065103Z"
ACCOUNT_TOTALS = TEST_DATA / "tracker" / "account-totals.synthetic.json"


def load(endpoint: str) -> Any:
    """The served JSON, read independently of the code under test (exact decimals)."""
    path = ACCOUNT_TOTALS if endpoint == "account-totals" else SNAP / f"{endpoint}.json"
    return json.loads(path.read_text(), parse_float=Decimal)


class FakeNof1:
    """Serves ``/api/<endpoint>`` from the snapshot. ``faults[endpoint]`` is one of
    ``gone`` (410), ``5xx`` (502), ``hang`` (no answer until released), ``html`` (200 with an
    HTML page), ``429``; ``bodies[endpoint]`` replaces the served body."""

    def __init__(self) -> None:
        self.faults: dict[str, str] = {}
        self.bodies: dict[str, bytes] = {}
        self.etag_endpoints: set[str] = set()
        self.not_modified: list[str] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.release = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ep = request.match_info["ep"]
        self.requests.append((ep, dict(request.query)))
        fault = self.faults.get(ep)
        if fault == "gone":
            return web.Response(status=410, text="Gone")
        if fault == "5xx":
            return web.Response(status=502, text="Bad Gateway")
        if fault == "429":
            return web.Response(status=429, headers={"Retry-After": "300"}, text="slow down")
        if fault == "hang":
            await self.release.wait()
        if fault == "html":
            return web.Response(
                text="<html><body>Just a moment...</body></html>", content_type="text/html"
            )
        if ep in self.bodies:
            return web.Response(body=self.bodies[ep], content_type="application/json")
        path = ACCOUNT_TOTALS if ep == "account-totals" else SNAP / f"{ep}.json"
        if not path.is_file():
            return web.Response(status=404, text="not found")
        body = path.read_bytes()
        if ep in self.etag_endpoints:  # like the site's CDN: an ETag, and 304 when it matches
            etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
            if request.headers.get("If-None-Match") == etag:
                self.not_modified.append(ep)
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(body=body, content_type="application/json", headers={"ETag": etag})
        return web.Response(body=body, content_type="application/json")

    def count(self, endpoint: str) -> int:
        return sum(1 for ep, _ in self.requests if ep == endpoint)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/{ep}", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/api"

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture(name="nof1")
async def nof1_fixture() -> AsyncIterator[FakeNof1]:
    server = FakeNof1()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class Rig:
    """A poller wired to the fake server and a fresh store, as the daemon wires it."""

    def __init__(self, store: Any, server: FakeNof1, **settings: Any) -> None:
        self.db = store.path
        self.settings = TrackerSettings(
            enabled=True,
            base_url=server.url,
            interval_s=10.0,
            timeout_s=0.5,
            max_backoff_s=80.0,
            **settings,
        )
        self.events = EventLog(store.writer)
        self.store = TrackerStore(store.writer, lambda: self.settings)
        self.dirty: list[dict[str, Any]] = []
        self.connection: list[tuple[bool, dict[str, Any]]] = []
        self.writer = store.writer
        self.poller = self.new_poller()

    def new_poller(self) -> Nof1Poller:
        async def on_connection(up: bool, **detail: Any) -> None:
            self.connection.append((up, detail))

        return Nof1Poller(
            self.store,
            self.events.emit,
            lambda: self.settings,
            db_path=self.db,
            on_connection=on_connection,
            on_dirty=self.dirty.append,
        )


@pytest.fixture(name="rig")
async def rig_fixture(store: Any, nof1: FakeNof1) -> Rig:
    return Rig(store, nof1)


def db_rows(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()
