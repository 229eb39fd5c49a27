from __future__ import annotations

import os
import socket
import tempfile
import threading
from pathlib import Path

from arenad.daemon import systemd


def test_notify_sends_datagram_and_is_noop_without_socket(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.notify("READY=1") is False
    d = Path(tempfile.mkdtemp(prefix="sd-", dir="/tmp"))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(d / "n"))
    monkeypatch.setenv("NOTIFY_SOCKET", str(d / "n"))
    assert systemd.notify("READY=1", "STATUS=ok")
    assert s.recv(100) == b"READY=1\nSTATUS=ok"
    s.close()


def test_notify_never_blocks_on_a_socket_nobody_reads(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Found under load: the test harness reads its notify socket only now and then, the
    queue (10 datagrams on Linux) filled with WATCHDOG=1 pings, and the daemon's event loop
    stopped inside sendall: status calls timed out and SIGTERM was never handled."""
    d = Path(tempfile.mkdtemp(prefix="sd-", dir="/tmp"))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(d / "n"))
    monkeypatch.setenv("NOTIFY_SOCKET", str(d / "n"))
    results: list[bool] = []
    sender = threading.Thread(
        target=lambda: results.extend(systemd.notify("WATCHDOG=1") for _ in range(500)),
        daemon=True,
    )
    sender.start()
    sender.join(30)
    assert not sender.is_alive(), "notify blocked on a full notify socket"
    assert results[0] is True and results[-1] is False  # queued while there was room, then dropped
    s.close()


def test_watchdog_interval(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd.watchdog_interval() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert systemd.watchdog_interval() is None
