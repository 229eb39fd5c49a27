"""One control request over the Unix socket with the standard library alone: `arenad kill`.

The emergency command must answer at once, even on a loaded box; the full client
(``arenad.control.client``: asyncio and the websockets library) costs more to import than
the request itself takes. This speaks the same protocol (RFC 6455 websocket over the Unix
socket, one JSON request, its JSON reply) blocking and minimal: the opening handshake, one
masked text frame, frames read until the reply with our id (pings answered, events skipped),
then a close frame. No extensions are offered, so the daemon sends plain frames.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import struct
from pathlib import Path
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_REPLY_BYTES = 1 << 24


class NotRunning(ConnectionError):
    """Nothing answers on the socket (the same words as the full client's)."""

    def __init__(self, path: Path, why: str | None = None) -> None:
        super().__init__(
            f"no arenad daemon is running (nothing answers on {path})"
            if why is None
            else f"the arenad daemon on {path} {why}"
        )


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class _Conn:
    def __init__(self, sock: socket.socket, path: Path) -> None:
        self.sock = sock
        self.path = path
        self.buf = b""

    def _recv(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise NotRunning(self.path, "closed the connection before answering")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line_block(self) -> bytes:
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise NotRunning(self.path, "closed the connection during the handshake")
            self.buf += chunk
            if len(self.buf) > 65536:
                raise NotRunning(self.path, "sent an oversized handshake")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head

    def send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = self._recv(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._recv(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._recv(8))
        if n > MAX_REPLY_BYTES:
            raise NotRunning(self.path, f"sent a {n}-byte frame")
        mask = self._recv(4) if b1 & 0x80 else b""
        data = self._recv(n)
        if mask:
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        return bool(b0 & 0x80), b0 & 0x0F, data

    def message(self) -> str:
        parts: list[bytes] = []
        while True:
            fin, op, data = self.frame()
            if op == 0x9:  # ping
                self.send(0xA, data)
                continue
            if op == 0xA:
                continue
            if op == 0x8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                reason = data[2:].decode(errors="replace")
                raise NotRunning(
                    self.path,
                    f"closed the connection ({code}{': ' + reason if reason else ''})",
                )
            parts.append(data)
            if fin:
                return b"".join(parts).decode()


def request(path: Path, cmd: str, timeout: float = 15.0, **args: Any) -> Any:
    """Send one command, return its result; raise NotRunning or Refused."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(str(path))
        except OSError:
            raise NotRunning(path) from None
        conn = _Conn(sock, path)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = conn._line_block().decode(errors="replace").split("\r\n")
        if not head or " 101 " not in head[0] + " ":
            raise NotRunning(path, f"refused the handshake ({head[0] if head else 'nothing'})")
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()  # noqa: S324 - RFC 6455
        accept = next(
            (
                h.split(":", 1)[1].strip()
                for h in head[1:]
                if h.lower().startswith("sec-websocket-accept:")
            ),
            None,
        )
        if accept != want:
            raise NotRunning(path, "answered the handshake wrongly")
        conn.send(0x1, json.dumps({"id": 1, "cmd": cmd, "args": args}).encode())
        while True:
            msg = json.loads(conn.message())
            if "event" in msg or msg.get("id") != 1:
                continue
            break
        with contextlib.suppress(OSError):  # the answer is in; the close is a courtesy
            conn.send(0x8, struct.pack("!H", 1000))
        if msg.get("ok"):
            return msg.get("result")
        err = msg.get("error") or {}
        raise Refused(err.get("code", "error"), err.get("message", ""))
    except TimeoutError:
        raise NotRunning(path, f"did not answer within {timeout:g} s") from None
    finally:
        sock.close()
