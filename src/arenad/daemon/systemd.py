"""The sd_notify datagram protocol: READY=1, WATCHDOG=1, STOPPING=1, STATUS=...

It is a single datagram to the socket named by NOTIFY_SOCKET (a leading '@' means the
abstract namespace), so it is written here rather than pulled in as a dependency. Outside
systemd (no NOTIFY_SOCKET) every call is a no-op.
"""

from __future__ import annotations

import os
import socket


def notify(*states: str, wait: bool = True) -> bool:
    """``wait=False`` (the watchdog ping, sent from the event loop every second): never
    block — with the receiver's queue full the ping is lost rather than the loop stalled."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        s.setblocking(wait)
        try:
            s.connect(addr)
            s.sendall("\n".join(states).encode())
        except OSError:
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
