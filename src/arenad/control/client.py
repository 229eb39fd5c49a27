"""Client of the control socket, used by the CLI and the TUI.

One connection carries both request/response and the event stream: a reader task routes
responses to their waiting request by id and events to a bounded queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, unix_connect
from websockets.exceptions import ConnectionClosed

from arenad.control import protocol


class DaemonNotRunning(ConnectionError):
    def __init__(self, path: Path, *, waited_s: float | None = None) -> None:
        if waited_s is None:
            text = f"no arenad daemon is running (nothing answers on {path})"
        else:
            # Something holds the socket but did not complete the handshake in time: a daemon
            # that is wedged or starved of CPU, not an absent one. Say so; do not guess.
            text = f"the arenad daemon on {path} did not answer within {waited_s:g} s"
        super().__init__(text)
        self.path = path
        self.waited_s = waited_s


class DaemonBusy(DaemonNotRunning):
    """The daemon is running but closed this connection at once: it is at its connection cap.

    A :class:`DaemonNotRunning` so that every caller that already retries or reports a missing
    daemon does the same here; only the message differs.
    """

    def __init__(self, path: Path, reason: str) -> None:
        ConnectionError.__init__(
            self, f"the arenad daemon on {path} refused the connection: {reason}"
        )
        self.path = path
        self.waited_s = None
        self.reason = reason


def _gone(path: Path, exc: ConnectionClosed | None) -> DaemonNotRunning:
    rcvd = exc.rcvd if exc is not None else None
    if rcvd is not None and rcvd.code == protocol.BUSY_CLOSE_CODE:
        return DaemonBusy(path, rcvd.reason or "too many connections")
    return DaemonNotRunning(path)


class ControlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


CONNECT_TIMEOUT_S = 15.0
"""How long a client waits for the daemon's handshake. Generous on purpose: on a loaded box a
busy daemon may take seconds, and `arenad kill` must not give up on a live daemon early (a
refused or absent socket fails at once, whatever this is)."""


class ControlClient:
    def __init__(self, socket_path: Path, *, event_queue_size: int = 10_000) -> None:
        self.socket_path = Path(socket_path)
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(event_queue_size)
        self.dropped_events = 0
        self._closed: ConnectionClosed | None = None

    async def connect(self, timeout: float = CONNECT_TIMEOUT_S) -> ControlClient:
        try:
            async with asyncio.timeout(timeout):
                self._ws = await unix_connect(str(self.socket_path), max_size=1 << 24)
        except TimeoutError as e:
            raise DaemonNotRunning(self.socket_path, waited_s=timeout) from e
        except OSError as e:
            raise DaemonNotRunning(self.socket_path) from e
        self._reader = asyncio.create_task(self._read(), name="control-client-read")
        return self

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._reader is not None and not self._reader.done()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def __aenter__(self) -> ControlClient:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(self, cmd: str, timeout: float = 30.0, **args: Any) -> Any:
        if self._ws is None:
            raise DaemonNotRunning(self.socket_path)
        rid = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            await self._ws.send(json.dumps({"id": rid, "cmd": cmd, "args": args}))
            async with asyncio.timeout(timeout):
                return await fut
        except ConnectionClosed as e:
            raise _gone(self.socket_path, e) from e
        finally:
            self._pending.pop(rid, None)
            if fut.done() and not fut.cancelled():
                fut.exception()  # the reader may have failed it while send() raised: retrieved

    async def subscribe(self, topics: list[str] | None = None) -> None:
        if topics is None:
            await self.request("subscribe")
        else:
            await self.request("subscribe", topics=topics)

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Events after `subscribe`; ends when the daemon goes away."""
        while True:
            item = await self._events.get()
            if item is None:
                return
            yield item

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                msg = json.loads(raw)
                if "event" in msg:
                    if self._events.full():
                        self._events.get_nowait()
                        self.dropped_events += 1
                    self._events.put_nowait(msg)
                    continue
                fut = self._pending.get(msg.get("id"))
                if fut is None or fut.done():
                    continue
                if msg.get("ok"):
                    fut.set_result(msg.get("result"))
                else:
                    err = msg.get("error") or {}
                    fut.set_exception(
                        ControlError(err.get("code", "error"), err.get("message", ""))
                    )
        except ConnectionClosed as e:
            self._closed = e
        finally:
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(_gone(self.socket_path, self._closed))
            with contextlib.suppress(asyncio.QueueFull):
                self._events.put_nowait(None)
