from __future__ import annotations

import os
import socket
import tempfile
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


def test_watchdog_interval(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd.watchdog_interval() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert systemd.watchdog_interval() is None


def test_notify_never_blocks_when_the_receiver_does_not_read(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A receiver's queue holds net.unix.max_dgram_qlen datagrams (10 on some hosts): a
    blocking send would freeze the daemon's event loop at the 11th watchdog ping."""
    import time

    d = Path(tempfile.mkdtemp(prefix="sd-", dir="/tmp"))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(d / "n"))
    monkeypatch.setenv("NOTIFY_SOCKET", str(d / "n"))
    t0 = time.monotonic()
    sent = [systemd.notify("WATCHDOG=1") for _ in range(5000)]
    assert time.monotonic() - t0 < 5
    assert sent[0] is True and sent[-1] is False  # the queue filled; later pings dropped
    s.close()
