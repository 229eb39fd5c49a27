"""The sd_notify datagram protocol: READY=1, WATCHDOG=1, STOPPING=1, STATUS=...

It is a single datagram to the socket named by NOTIFY_SOCKET (a leading '@' means the
abstract namespace), so it is written here rather than pulled in as a dependency. Outside
systemd (no NOTIFY_SOCKET) every call is a no-op.

Only the watchdog ping is sent non-blocking (``MSG_DONTWAIT``): it goes out every second from
the event loop, and a receiver that stops reading (its queue holds only
``net.unix.max_dgram_qlen`` datagrams, 10 by default) must not freeze the loop; a ping that
cannot be queued is dropped (the next one follows). READY=1 and STOPPING=1 are sent once each
and block until queued, so they are never lost.
"""

from __future__ import annotations

import os
import socket


def notify(*states: str, wait: bool | None = None) -> bool:
    """Send ``states`` as one datagram; False when not under systemd or it was not queued.
    ``wait`` defaults to False for a lone ``WATCHDOG=1`` and True for everything else."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    if wait is None:
        wait = states != ("WATCHDOG=1",)
    flags = socket.MSG_NOSIGNAL | (0 if wait else socket.MSG_DONTWAIT)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        try:
            s.connect(addr)
            s.send("\n".join(states).encode(), flags)
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
