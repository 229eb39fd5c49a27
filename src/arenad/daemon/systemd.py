"""The sd_notify datagram protocol: READY=1, WATCHDOG=1, STOPPING=1, STATUS=...

It is a single datagram to the socket named by NOTIFY_SOCKET (a leading '@' means the
abstract namespace), so it is written here rather than pulled in as a dependency. Outside
systemd (no NOTIFY_SOCKET) every call is a no-op.

The socket is non-blocking: a receiver that stops reading (its queue holds only
``net.unix.max_dgram_qlen`` datagrams, 10 on some hosts) must not freeze the event loop that
calls this; the datagram is dropped and the call returns False.
"""

from __future__ import annotations

import os
import socket


def notify(*states: str) -> bool:
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
    with socket.socket(socket.AF_UNIX, kind) as s:
        try:
            s.connect(addr)
            s.sendall("\n".join(states).encode())
        except OSError:  # including BlockingIOError: the receiver's queue is full
            return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec), or None when not asked for."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.1, int(usec) / 1e6 / 2)
    except ValueError:
        return None
