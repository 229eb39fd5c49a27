"""Fault injection shared by the simulated venues.

Each venue app owns one `Faults` (so a test that breaks Hyperliquid does not also break
Alpaca) and consults it at the few points where a real venue misbehaves: before an HTTP
response (latency, 429/5xx), and before each websocket message (latency, a dropped connection,
a truncated frame, a paused stream). Draws come from a `random.Random` seeded from the
simulator seed and are only taken when a rate is non-zero, so enabling no fault leaves every
other seeded sequence untouched, and the same seed with the same faults and the same traffic
gives the same failures.

`mount_control(app, faults)` adds the control endpoints and a middleware to an aiohttp app:

- `GET /_sim/faults` → the current settings;
- `POST /_sim/faults` with a JSON object of fields to change (any `FaultSettings` field, plus
  `pause`/`resume`: a stream name or list) → the new settings, or 400 naming the bad field;
- `POST /_sim/drop` → closes every open websocket of that venue now: `{"dropped": n}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from arenad.sim.settings import FaultSettings

ErrorResponder = Callable[[int, web.Request], web.StreamResponse]
"""Builds the venue-specific body of an injected HTTP error (Alpaca and Hyperliquid differ)."""

CONTROL_PREFIX = "/_sim/"
ALL_STREAMS = "*"


def _default_error(status: int, request: web.Request) -> web.StreamResponse:
    if status == 429:
        return web.json_response({"message": "too many requests"}, status=429)
    return web.json_response({"message": "simulated server error"}, status=status)


class Faults:
    """Run-time fault state of one simulated venue."""

    def __init__(
        self,
        config: FaultSettings | None = None,
        *,
        seed: int = 0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._config = config or FaultSettings()
        self._rng = random.Random(f"faults:{seed}")
        self._sleep = sleep
        self._paused: set[str] = set(self._config.paused_streams)
        self._sockets: dict[web.WebSocketResponse, web.BaseRequest | None] = {}
        self.dropped = 0
        """Connections closed by a fault so far (for tests and the benchmark)."""

    # --- current settings -----------------------------------------------------------------

    @property
    def config(self) -> FaultSettings:
        return self._config.model_copy(update={"paused_streams": sorted(self._paused)})

    def snapshot(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    def update(self, changes: Mapping[str, Any]) -> FaultSettings:
        """Apply a partial update; raise ValueError naming the bad field (nothing is changed)."""
        if not isinstance(changes, Mapping):
            raise ValueError("fault update must be a JSON object")
        data = dict(changes)
        pause = _names(data.pop("pause", []), "pause")
        resume = _names(data.pop("resume", []), "resume")
        merged = self.config.model_dump() | data
        try:
            new = FaultSettings.model_validate(merged)
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            raise ValueError(f"invalid fault settings: {problems}") from None
        self._config = new
        self._paused = (set(new.paused_streams) | set(pause)) - set(resume)
        return self.config

    def reset(self) -> None:
        self.update(FaultSettings().model_dump())

    # --- decisions ------------------------------------------------------------------------

    def _hit(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        return self._rng.random() < rate

    def should_drop(self) -> bool:
        """Close the connection instead of sending the next websocket message."""
        return self._hit(self._config.drop_rate)

    def malformed(self) -> bool:
        """Send the next websocket message truncated."""
        return self._hit(self._config.malformed_rate)

    def http_error(self) -> int | None:
        """The status to answer this HTTP request with instead, or None."""
        return self._config.http_error_status if self._hit(self._config.http_error_rate) else None

    def is_paused(self, stream: str) -> bool:
        return ALL_STREAMS in self._paused or stream in self._paused

    def pause(self, stream: str) -> None:
        self._paused.add(stream)

    def resume(self, stream: str) -> None:
        self._paused.discard(stream)

    async def delay(self) -> None:
        if self._config.latency_ms > 0:
            await self._sleep(self._config.latency_ms / 1000.0)

    def late_action_s(self) -> float | None:
        """Seconds until a late action is applied (its answer lost), or None when off."""
        ms = self._config.late_action_ms
        return ms / 1000.0 if ms > 0 else None

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)

    async def reply_delay(self) -> None:
        if self._config.reply_latency_ms > 0:
            await self._sleep(self._config.reply_latency_ms / 1000.0)

    @staticmethod
    def corrupt(payload: str | bytes) -> str | bytes:
        """A deterministic broken version of a frame: its first half (never valid JSON or
        msgpack for a non-trivial message)."""
        if len(payload) >= 2:
            return payload[: len(payload) // 2]
        return b"\xc1" if isinstance(payload, bytes) else "{"

    # --- websocket registry ---------------------------------------------------------------

    @contextlib.contextmanager
    def track(
        self, ws: web.WebSocketResponse, request: web.BaseRequest | None = None
    ) -> Iterator[None]:
        """Register an open websocket so `drop_all` can drop it. With its request, a drop
        aborts the TCP connection (the client sees 1006, as on a network failure); without,
        it is closed with code 1011."""
        self._sockets[ws] = request
        try:
            yield
        finally:
            self._sockets.pop(ws, None)

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    async def drop(self, ws: web.WebSocketResponse) -> None:
        """Drop one connection as a network fault would."""
        self.dropped += 1
        request = self._sockets.pop(ws, None)
        transport = request.transport if request is not None else None
        if transport is not None:
            transport.abort()
            return
        with contextlib.suppress(Exception):
            await ws.close(code=1011, message=b"simulated drop")

    async def drop_all(self) -> int:
        sockets = list(self._sockets)
        for ws in sockets:
            await self.drop(ws)
        return len(sockets)


def _names(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"{field}: expected a stream name or a list of names")


_FAULTS_KEY = web.AppKey("arenad_sim_faults", Faults)


def faults_of(app: web.Application) -> Faults:
    return app[_FAULTS_KEY]


def mount_control(
    app: web.Application, faults: Faults, *, error_response: ErrorResponder | None = None
) -> None:
    """Add the `/_sim/*` control routes and the latency/HTTP-error middleware to `app`.

    Call before the app starts. Control routes are exempt from injected faults, so a test can
    always turn them off again.
    """
    respond = error_response or _default_error
    app[_FAULTS_KEY] = faults

    @web.middleware
    async def fault_middleware(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        await faults.delay()
        # REST only: a websocket's faults are drops, broken frames and stalls.
        is_ws = request.headers.get("Upgrade", "").lower() == "websocket"
        status = None if is_ws else faults.http_error()
        if status is not None:
            return respond(status, request)
        response = await handler(request)
        await faults.reply_delay()
        return response

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response(faults.snapshot())

    async def post_faults(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        try:
            faults.update(body)
        except ValueError as e:
            return web.json_response({"error": str(e)}, status=400)
        return web.json_response(faults.snapshot())

    async def post_drop(request: web.Request) -> web.Response:
        return web.json_response({"dropped": await faults.drop_all()})

    app.middlewares.append(fault_middleware)
    app.router.add_get(CONTROL_PREFIX + "faults", get_faults)
    app.router.add_post(CONTROL_PREFIX + "faults", post_faults)
    app.router.add_post(CONTROL_PREFIX + "drop", post_drop)
