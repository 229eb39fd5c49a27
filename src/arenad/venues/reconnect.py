"""A websocket client that reconnects forever: the loop both venues' streams share.

Connect (bounded by ``open_timeout_s``), run the venue's handshake, serve frames until the
connection ends, report the state change, back off with jitter (reset after a good
connection), repeat. Cancel the task to stop. A venue subclass supplies the handshake, the
frame dispatch, the state callback and, optionally, an application-level heartbeat.
A bad URL or a refused key (OperationalError from the handshake) ends the loop: retrying
cannot fix either. The state callback is called on changes only: once per connect, and once
per loss of the connection (not again for each failed reconnect attempt while it stays down).
An attempt that does not get as far as a connection (refused, timed out, handshake failed) is
reported to ``_connect_failed`` with ``connect_failures``, the attempts that failed in a row
since the last connection: a dropped connection that reconnects is not a failure, a venue that
cannot be reached is.
"""

from __future__ import annotations

import asyncio
import contextlib

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from arenad.clock import Clock, SystemClock
from arenad.daemon.supervisor import backoff_delays
from arenad.errors import OperationalError, TemporaryError


class ReconnectingWebSocket:
    name = "websocket"

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        max_backoff_s: float = 60.0,
        open_timeout_s: float = 10.0,
        protocol_pings: bool = True,
    ) -> None:
        self.url = url
        self._clock = clock or SystemClock()
        self._max_backoff = max_backoff_s
        self._open_timeout = open_timeout_s
        self._protocol_pings = protocol_pings
        self._ws: ClientConnection | None = None
        self.connected = False
        self.connects = 0
        self.skipped = 0
        self.failed_attempts = 0
        self.connect_failures = 0
        """Attempts in a row that did not connect (0 once connected)."""
        self._down_reported = False

    async def run(self) -> None:
        delays = backoff_delays(cap=self._max_backoff)
        while True:
            established = False
            try:
                async with asyncio.timeout(self._open_timeout):
                    ws = await connect(
                        self.url,
                        max_size=1 << 24,
                        open_timeout=None,
                        ping_interval=20 if self._protocol_pings else None,
                    )
                heartbeat: asyncio.Task[None] | None = None
                try:
                    self._ws = ws
                    async with asyncio.timeout(self._open_timeout):
                        await self._handshake(ws)
                    heartbeat = asyncio.create_task(self._heartbeat(ws), name=f"{self.name}-ping")
                    self.connects += 1
                    self.connected = True
                    self.connect_failures = 0
                    established = True
                    self._down_reported = False
                    delays = backoff_delays(cap=self._max_backoff)
                    await self._state(True, "connected")
                    async for raw in ws:
                        await self._dispatch(raw)
                    reason = f"closed by server ({ws.close_code})"
                finally:
                    if heartbeat is not None:
                        heartbeat.cancel()
                        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                            await heartbeat
                    self._ws = None
                    await ws.close()
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, TemporaryError) as e:
                reason = f"{type(e).__name__}: {e}"
            except InvalidURI as e:
                raise OperationalError(f"{self.name}: bad URL {self.url}") from e
            self.connected = False
            self.failed_attempts += 1
            if not self._down_reported:
                self._down_reported = True
                await self._state(False, reason)
            if not established:
                self.connect_failures += 1
                await self._connect_failed(reason)
            await self._clock.sleep(next(delays))

    async def drop(self) -> None:
        """Close the current connection (tests, and operators forcing a reconnect)."""
        if self._ws is not None:
            await self._ws.close()

    async def _handshake(self, ws: ClientConnection) -> None:
        """Authenticate and subscribe; raise OperationalError when retrying cannot help."""

    async def _heartbeat(self, ws: ClientConnection) -> None:
        """Application-level keep-alive, if the venue needs one (runs while connected)."""

    async def _dispatch(self, raw: str | bytes) -> None:
        raise NotImplementedError

    async def _state(self, up: bool, detail: str) -> None:
        raise NotImplementedError

    async def _connect_failed(self, detail: str) -> None:
        """An attempt that did not connect (``connect_failures`` counts them in a row)."""
