"""FillIngest against the simulator: every bot fill arrives (at least once), with the
websocket, beyond the per-IP user limit by polling, across forced disconnects, and a backfill
that cannot be done is reported as a gap."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest

from arenad.fade.ingest import FillIngest
from arenad.venues.hyperliquid.info import HyperliquidInfo
from fixtures_sim import poll_until


class Sink:
    """The consumer side: dedupes on (hash, tid) as the fade engine must."""

    def __init__(self) -> None:
        self.seen: dict[str, set[tuple[str, int]]] = {}
        self.last_ms: dict[str, int] = {}
        self.sources: dict[str, int] = {}
        self.gaps: list[str] = []
        self.connection: list[tuple[bool, dict[str, Any]]] = []
        self.concurrent = 0
        self.max_concurrent = 0

    async def on_fills(self, wallet: str, fills: list[dict[str, Any]], source: str) -> None:
        self.concurrent += 1
        self.max_concurrent = max(self.max_concurrent, self.concurrent)
        await asyncio.sleep(0)  # give an overlapping call the chance to show itself
        for f in fills:
            self.seen.setdefault(wallet, set()).add((f["hash"], f["tid"]))
            self.last_ms[wallet] = max(self.last_ms.get(wallet, 0), f["time"])
        self.sources[source] = self.sources.get(source, 0) + len(fills)
        self.concurrent -= 1

    async def last_fill_ms(self, wallet: str) -> int | None:
        return self.last_ms.get(wallet)

    async def on_gap(self, wallet: str, reason: str) -> None:
        self.gaps.append(reason)

    async def on_connection(self, up: bool, detail: dict[str, Any]) -> None:
        self.connection.append((up, detail))


def venue_fills(sim, wallet: str) -> set[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return {(f["hash"], f["tid"]) for f in sim.hyperliquid.house.user_fills(wallet)}


def start(sim, sink: Sink, wallets: list[str], **kw: Any) -> tuple[FillIngest, asyncio.Task[None]]:  # type: ignore[no-untyped-def]
    ingest = FillIngest(
        info=HyperliquidInfo(sim.hyperliquid_url),
        ws_url=sim.hyperliquid_ws_url,
        wallets=wallets,
        on_fills=sink.on_fills,
        last_fill_ms=sink.last_fill_ms,
        on_gap=sink.on_gap,
        on_connection=sink.on_connection,
        ping_interval_s=0.5,
        max_backoff_s=0.2,
        poll_interval_s=0.1,
        **kw,
    )
    return ingest, asyncio.create_task(ingest.run())


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.live_market
async def test_every_fill_of_every_bot_arrives(sim_server) -> None:  # type: ignore[no-untyped-def]
    bots = [b.address for b in sim_server.hyperliquid.bots.by_name().values()]
    sink = Sink()
    ingest, task = start(sim_server, sink, bots)
    try:
        await poll_until(
            lambda: sum(len(venue_fills(sim_server, b)) for b in bots) >= 30,
            what="30 bot fills on the venue",
        )
        snapshot = {b: venue_fills(sim_server, b) for b in bots}
        await poll_until(
            lambda: all(snapshot[b] <= sink.seen.get(b, set()) for b in bots),
            what="every venue fill ingested",
        )
        assert sink.sources.get("live", 0) > 0
        assert sink.max_concurrent == 1  # deliveries never overlap
        assert ingest.status()["mode"] == "websocket" and ingest.polled_wallets == []
    finally:
        await stop(task)


@pytest.mark.live_market
async def test_wallets_beyond_the_user_limit_are_polled_visibly(sim_server) -> None:  # type: ignore[no-untyped-def]
    bots = [b.address for b in sim_server.hyperliquid.bots.by_name().values()]
    sink = Sink()
    ingest, task = start(sim_server, sink, bots, max_ws_users=4, reserved_users=1)
    try:
        assert len(ingest.ws_wallets) == 3 and ingest.polled_wallets == bots[3:]
        await poll_until(
            lambda: all(
                venue_fills(sim_server, b) and venue_fills(sim_server, b) <= sink.seen.get(b, set())
                for b in bots[3:]
            ),
            timeout=20,
            what="polled bots' fills",
        )
        assert sink.sources.get("poll", 0) > 0
        status = sink.connection[-1][1]
        assert status["mode"] == "websocket+polling" and status["polled_wallets"] == bots[3:]
    finally:
        await stop(task)


@pytest.mark.live_market
async def test_fills_during_disconnects_are_backfilled(sim_server) -> None:  # type: ignore[no-untyped-def]
    bots = [b.address for b in sim_server.hyperliquid.bots.by_name().values()]
    sink = Sink()
    ingest, task = start(sim_server, sink, bots)
    try:
        async with httpx.AsyncClient() as c:
            for _ in range(3):
                await poll_until(
                    lambda: ingest.ws is not None and ingest.ws.connected, what="connected"
                )
                # pause the live feed so fills happen while we cannot see them, then drop
                await c.post(
                    sim_server.hyperliquid_url + "/_sim/faults",
                    json={"paused_streams": ["userFills"]},
                )
                target = sum(len(venue_fills(sim_server, b)) for b in bots) + 5
                await poll_until(
                    lambda t=target: sum(len(venue_fills(sim_server, b)) for b in bots) > t,
                    what="fills while paused",
                )
                await c.post(
                    sim_server.hyperliquid_url + "/_sim/faults", json={"paused_streams": []}
                )
                await c.post(sim_server.hyperliquid_url + "/_sim/drop")
        snapshot = {b: venue_fills(sim_server, b) for b in bots}
        await poll_until(
            lambda: all(snapshot[b] <= sink.seen.get(b, set()) for b in bots),
            what="every fill, including those missed live, ingested",
        )
        assert sink.sources.get("backfill", 0) > 0 and ingest.ws is not None
        assert ingest.ws.connects >= 4 and sink.gaps == []
        # Drops that reconnect are no outage: trading was never held.
        assert ingest.venue.outages == 0 and not ingest.venue.waiting
    finally:
        await stop(task)


class InfoProxy:
    """/info behind a loopback proxy that answers ``status`` (an int) instead, until it is set
    to None; /ws is the simulator's own."""

    def __init__(self, sim, status: int | None) -> None:  # type: ignore[no-untyped-def]
        self.sim = sim
        self.status = status
        self.runner: Any = None
        self.url = ""

    async def __aenter__(self) -> InfoProxy:
        from aiohttp import web

        async def proxy(request: web.Request) -> web.Response:
            if self.status is not None:
                return web.Response(status=self.status, text="refused by the test proxy")
            async with httpx.AsyncClient() as c:
                r = await c.post(
                    self.sim.hyperliquid_url + "/info",
                    content=await request.read(),
                    headers={"Content-Type": "application/json"},
                )
            return web.Response(
                status=r.status_code, body=r.content, content_type="application/json"
            )

        app = web.Application()
        app.router.add_post("/info", proxy)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


def proxied(sim, proxy: InfoProxy, sink: Sink, bots: list[str], **kw: Any) -> FillIngest:  # type: ignore[no-untyped-def]
    return FillIngest(
        info=HyperliquidInfo(proxy.url),
        ws_url=sim.hyperliquid_ws_url,
        wallets=bots,
        on_fills=sink.on_fills,
        last_fill_ms=sink.last_fill_ms,
        on_gap=sink.on_gap,
        on_connection=sink.on_connection,
        backfill_attempts=2,
        ping_interval_s=0.5,
        max_backoff_s=0.1,
        **kw,
    )


@pytest.mark.live_market
async def test_a_venue_outage_is_waited_out_not_reported_as_a_gap(sim_server) -> None:  # type: ignore[no-untyped-def]
    """/info answers 503: the venue is 'waiting' (no gap, no exception out of the ingest) for
    as long as it lasts; once it answers, every wallet is backfilled and the hold released."""
    bots = [b.address for b in sim_server.hyperliquid.bots.by_name().values()][:2]
    sink = Sink()
    async with InfoProxy(sim_server, 503) as proxy:
        ingest = proxied(sim_server, proxy, sink, bots)
        task = asyncio.create_task(ingest.run())
        try:
            await poll_until(lambda: ingest.venue.waiting, what="the venue to be waited for")
            assert "503" in (ingest.venue.reason or "")
            # Many retries later: still waiting, still no gap, the task still running.
            failures = ingest.venue.failures
            await poll_until(lambda: ingest.venue.failures >= failures + 5, what="retries")
            assert sink.gaps == [] and ingest.status()["gaps"] == {} and not task.done()
            assert ingest.status()["venue"]["state"] == "waiting"
            proxy.status = None
            await poll_until(lambda: not ingest.venue.waiting, what="the hold released")
            assert ingest.venue.outages == 1 and sink.gaps == []
            assert sink.sources.get("backfill", 0) > 0
            snapshot = {b: venue_fills(sim_server, b) for b in bots}
            await poll_until(
                lambda: all(snapshot[b] <= sink.seen.get(b, set()) for b in bots),
                what="every fill of the outage ingested",
            )
        finally:
            await stop(task)


@pytest.mark.live_market
async def test_a_backfill_the_venue_refuses_is_a_gap(sim_server) -> None:  # type: ignore[no-untyped-def]
    """A 4xx is not an outage: retrying cannot help, so each wallet's gap is reported."""
    bots = [b.address for b in sim_server.hyperliquid.bots.by_name().values()][:2]
    sink = Sink()
    async with InfoProxy(sim_server, 422) as proxy:
        ingest = proxied(sim_server, proxy, sink, bots)
        task = asyncio.create_task(ingest.run())
        try:
            await poll_until(lambda: len(sink.gaps) >= len(bots), what="a gap report per wallet")
            assert all("cannot backfill" in g and "422" in g for g in sink.gaps)
            assert set(ingest.status()["gaps"]) == set(bots)
            proxy.status = None
            async with httpx.AsyncClient() as c:
                await c.post(
                    sim_server.hyperliquid_url + "/_sim/drop"
                )  # the next connect backfills
            await poll_until(lambda: not ingest.status()["gaps"], what="the gaps closed")
            snapshot = {b: venue_fills(sim_server, b) for b in bots}
            await poll_until(
                lambda: all(snapshot[b] <= sink.seen.get(b, set()) for b in bots),
                what="every fill ingested once the venue answers",
            )
        finally:
            await stop(task)
