"""Control server: a websocket on a Unix socket, created 0600.

Commands are registered by name by whichever component owns them, so the server knows nothing
about trading. A malformed or failing request gets an error response; it never closes the
connection or reaches the daemon. ``subscribe`` starts a per-connection pusher that streams
bus events until the client goes away.

Open connections are capped (``max_connections``): one over the cap completes the handshake and
is closed at once with code 1013 (try again later) and a reason saying so, so a client can tell
"busy" from "no daemon". The listen backlog is far larger than the cap: asyncio's default of 100
made a burst of connects fail on the client side (a non-blocking connect to a full Unix-socket
backlog returns EAGAIN) without the daemon ever seeing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from websockets.asyncio.server import Server, ServerConnection, unix_serve
from websockets.exceptions import ConnectionClosed

from arenad.control import protocol
from arenad.daemon.bus import Bus
from arenad.errors import OperationalError

Handler = Callable[[dict[str, Any]], Awaitable[Any]]

log = structlog.get_logger("arenad.control")

LISTEN_BACKLOG = 4096
"""Pending connects the kernel queues (capped by net.core.somaxconn)."""
CAP_LOG_INTERVAL_S = 10.0
"""At most one warning this often while connections are being refused over the cap."""


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    help: str


def socket_is_live(path: Path) -> bool:
    """True when something accepts connections at ``path`` (a running daemon)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(1.0)
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


class ControlServer:
    def __init__(
        self,
        socket_path: Path,
        bus: Bus,
        *,
        event_queue_size: int = 1000,
        max_connections: int = 64,
    ) -> None:
        self.socket_path = Path(socket_path)
        self._bus = bus
        self._queue_size = event_queue_size
        self.max_connections = max_connections
        """Most open connections; applies to new connections as soon as it is changed."""
        self._commands: dict[str, Command] = {}
        self._server: Server | None = None
        self._open = 0
        self.refused_connections = 0
        self._refused_unlogged = 0
        self._cap_logged_at: float | None = None
        self.register("help", self._help, "list commands")

    @property
    def open_connections(self) -> int:
        return self._open

    def register(self, name: str, handler: Handler, help: str = "") -> None:
        if name in self._commands or name == "subscribe":
            raise ValueError(f"control command {name!r} registered twice")
        self._commands[name] = Command(name, handler, help)

    def handler(self, name: str) -> Handler | None:
        """The handler registered under ``name`` (for commands that route to others)."""
        cmd = self._commands.get(name)
        return cmd.handler if cmd else None

    @property
    def commands(self) -> list[str]:
        return sorted([*self._commands, "subscribe"])

    async def _help(self, _args: dict[str, Any]) -> dict[str, str]:
        return {c.name: c.help for c in self._commands.values()} | {
            "subscribe": "stream live events {topics?: [..]}"
        }

    async def start(self) -> None:
        path = self.socket_path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            if not stat.S_ISSOCK(path.lstat().st_mode):
                raise OperationalError(f"{path} exists and is not a socket; refusing to replace it")
            if socket_is_live(path):
                raise OperationalError(
                    f"another arenad is already listening on {path}; stop it first "
                    "(or set daemon.socket_path to another file)"
                )
            path.unlink()  # stale socket left by a crashed daemon
        old = os.umask(0o177)  # the socket file is born 0600: no window where others can connect
        try:
            self._server = await unix_serve(
                self._connection,
                str(path),
                max_size=protocol.MAX_FRAME_BYTES,
                # Requests are answered one at a time per connection; a client that pipelines
                # more waits in its own buffers, not in ours (worst case per connection is
                # about (max_queue + 1) x max_size).
                max_queue=4,
                backlog=LISTEN_BACKLOG,
                ping_interval=20,
                ping_timeout=20,
                # A frozen client (a TUI suspended with ctrl-z) never answers the closing
                # handshake; without this, shutdown would wait 10 s for it, past systemd's 5 s.
                close_timeout=1,
            )
        finally:
            os.umask(old)
        os.chmod(path, 0o600)

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await self._server.wait_closed()
        self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    def _refuse_over_cap(self) -> str:
        """Count and log a connection refused over the cap; the close reason to send."""
        self.refused_connections += 1
        self._refused_unlogged += 1
        reason = (
            f"too many control connections ({self._open} open, limit "
            f"{self.max_connections}); try again later"
        )
        log.debug("control connection refused", reason=reason)
        now = time.monotonic()
        if self._cap_logged_at is None or now - self._cap_logged_at >= CAP_LOG_INTERVAL_S:
            log.warning(
                "control connection limit reached; refusing new connections",
                limit=self.max_connections,
                open=self._open,
                refused=self._refused_unlogged,
                setting="daemon.control_max_connections",
            )
            self._cap_logged_at = now
            self._refused_unlogged = 0
        return reason

    async def _connection(self, ws: ServerConnection) -> None:
        # No await between the check and the increment: the cap is exact under any burst.
        if self._open >= self.max_connections:
            await ws.close(protocol.BUSY_CLOSE_CODE, self._refuse_over_cap())
            return
        self._open += 1
        try:
            await self._serve_connection(ws)
        finally:
            self._open -= 1

    async def _serve_connection(self, ws: ServerConnection) -> None:
        pusher: asyncio.Task[None] | None = None
        try:
            async for raw in ws:
                try:
                    req = protocol.parse_request(raw)
                except protocol.ProtocolError as e:
                    log.debug("control request refused", code=e.code, reason=e.message)
                    await ws.send(protocol.error(e.request_id, e.code, e.message))
                    continue
                if req.cmd == "subscribe":
                    topics = req.args.get("topics")
                    if topics is not None and (
                        not isinstance(topics, list) or not all(isinstance(t, str) for t in topics)
                    ):
                        log.debug(
                            "control request refused",
                            code="invalid_args",
                            reason="`topics` must be a list of strings",
                        )
                        await ws.send(
                            protocol.error(
                                req.id, "invalid_args", "`topics` must be a list of strings"
                            )
                        )
                        continue
                    if pusher is not None:
                        pusher.cancel()
                    sub = self._bus.subscribe(topics, self._queue_size)
                    await ws.send(protocol.ok(req.id, {"subscribed": topics or "all"}))
                    pusher = asyncio.create_task(self._push(ws, sub), name="control-push")
                    continue
                await ws.send(await self._dispatch(req))
        except ConnectionClosed:
            pass
        finally:
            if pusher is not None:
                pusher.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await pusher

    async def _dispatch(self, req: protocol.Request) -> str:
        cmd = self._commands.get(req.cmd)
        if cmd is None:
            log.debug("control request refused", code="unknown_command", cmd=req.cmd)
            return protocol.error(
                req.id, "unknown_command", f"unknown command {req.cmd!r}; try `help`"
            )
        try:
            result = await cmd.handler(req.args)
        except protocol.ProtocolError as e:
            log.debug("control request refused", code=e.code, cmd=req.cmd, reason=e.message)
            return protocol.error(req.id, e.code, e.message)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # fan-out point: one failing command must not break the socket
            log.exception("control command failed", cmd=req.cmd)
            return protocol.error(req.id, "failed", f"{type(e).__name__}: {e}")
        return protocol.ok(req.id, result)

    async def _push(self, ws: ServerConnection, sub: Any) -> None:
        try:
            reported = 0
            while True:
                msg = await sub.get()
                if sub.dropped != reported:
                    await ws.send(
                        protocol.event(
                            {
                                "event": "dropped",
                                "ts": msg.ts,
                                "data": {"count": sub.dropped - reported},
                            }
                        )
                    )
                    reported = sub.dropped
                await ws.send(protocol.event(msg.to_wire()))
        except (ConnectionClosed, EOFError):
            pass
        finally:
            sub.close()
