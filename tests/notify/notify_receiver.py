"""A loopback HTTP receiver for apprise ``json://127.0.0.1:PORT/...`` targets.

It records every message (apprise's JSON: title, message, type) and answers as its ``mode``
says: ``ok`` (200), ``500``, or ``hang`` (holds the request until ``release()`` or 30 s).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Receiver:
    def __init__(self) -> None:
        self.mode = "ok"
        self.messages: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.requests = 0
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        recv = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with recv._changed:
                    recv.requests += 1
                    recv._changed.notify_all()
                mode = recv.mode
                if mode == "hang":
                    recv._released.wait(30)
                    return  # no answer at all
                if mode == "ok":
                    with recv._changed:
                        recv.messages.append(json.loads(body))
                        recv.paths.append(self.path)
                        recv._changed.notify_all()
                self.send_response(500 if mode == "500" else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "hook/S3CRETt0ken-abc123") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def wait(self, pred: Any, timeout: float = 10.0, what: str = "messages") -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {what}; got {self.messages}"
                    )
                self._changed.wait(left)

    def wait_messages(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        self.wait(lambda: len(self.messages) >= n, timeout, f"{n} message(s)")
        return list(self.messages)

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    """A started receiver, closed (hung requests released) after the test."""
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture(name="receiver2")
def receiver2_fixture() -> Iterator[Receiver]:
    """A second receiver, for a second channel."""
    r = Receiver()
    try:
        yield r
    finally:
        r.close()
