"""Simulator fixtures for every area's tests (registered in tests/conftest.py).

- `sim_server`: a started `SimServer` in the test's own event loop, ports chosen by the OS.
  Use from async tests; call sync SDKs through `asyncio.to_thread` (they would block the loop
  the simulator runs on).
- `sim_factory`: the same with settings of your choice: `await sim_factory(bots_enabled=False)`.
- `sim_thread`: a `SimServer` running in a background thread with its own loop, for sync tests
  and for tests that start the daemon as a subprocess. `.hyperliquid_url`, `.alpaca_url`,
  `.call(coro_fn)` runs a coroutine function on the simulator's loop.

Defaults are fast for tests: a 50 ms market step, bots trading about twice a second.

`sim_factory`/`sim_server` start with the tickers stopped (`manual_ticks`): time moves only when
the test calls `server.hyperliquid.step(n)` (or `POST /_sim/step`), so nothing changes between a
test's reads and the calls built from them. A test that needs a live market asks for it with
`sim_factory(manual_ticks=False)` and then waits on what it needs with `poll_until`, never on a
sleep. `sim_thread` runs a live market: it serves daemon subprocesses, which need one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from arenad.sim.server import SimServer
from arenad.sim.settings import SimSettings

T = TypeVar("T")

TEST_DEFAULTS: dict[str, Any] = {
    "hyperliquid_port": 0,
    "alpaca_port": 0,
    "tick_interval_s": 0.05,
    "bot_interval_s": 0.5,
}


def sim_settings(**overrides: Any) -> SimSettings:
    return SimSettings.model_validate(TEST_DEFAULTS | overrides)


@pytest.fixture
async def sim_factory() -> AsyncIterator[Callable[..., Awaitable[SimServer]]]:
    servers: list[SimServer] = []

    async def start(**overrides: Any) -> SimServer:
        server = SimServer(sim_settings(**({"manual_ticks": True} | overrides)))
        await server.start()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            await server.stop()


@pytest.fixture
async def sim_server(
    request: pytest.FixtureRequest, sim_factory: Callable[..., Awaitable[SimServer]]
) -> SimServer:
    """Manual ticks, unless the test is marked `live_market` (streams that must flow on their
    own while the test waits on what it needs with `poll_until`)."""
    live = request.node.get_closest_marker("live_market") is not None
    return await sim_factory(manual_ticks=not live)


class SimThread:
    """A SimServer on its own event loop in a daemon thread."""

    def __init__(self, settings: SimSettings) -> None:
        self.server = SimServer(settings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> SimThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(30)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def call(self, fn: Callable[[], Awaitable[T]], timeout: float = 30) -> T:
        async def run() -> T:
            return await fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    @property
    def hyperliquid_url(self) -> str:
        return self.server.hyperliquid_url

    @property
    def alpaca_url(self) -> str | None:
        return self.server.alpaca_url


@pytest.fixture
def sim_thread() -> Iterator[SimThread]:
    sim = SimThread(sim_settings()).start()
    try:
        yield sim
    finally:
        sim.stop()


async def poll_until(
    predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
) -> Any:
    """Async twin of conftest.wait_for: poll without blocking the loop the simulator runs on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


def step_until(
    server: SimServer, predicate: Callable[[], Any], max_steps: int = 10_000, what: str = "it"
) -> Any:
    """Step a manual-tick simulator by hand until `predicate()` holds; no timer involved."""
    for _ in range(max_steps):
        value = predicate()
        if value:
            return value
        server.hyperliquid.step()
    raise AssertionError(f"{what} did not happen within {max_steps} market steps")
