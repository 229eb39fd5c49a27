"""A daemon stopped right after it is ready exits promptly: a task cancelled while it opens a
database reader must not leave the connection's (non-daemon) thread behind, which kept the
interpreter from exiting after "arenad stopped"."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.slow


def test_sigterm_right_after_ready_exits(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):  # start-up is when components are opening their readers
        d = daemon_proc()
        d.start()
        t0 = time.monotonic()
        assert d.stop(timeout=8) == 0, d.log()[-2000:]
        assert time.monotonic() - t0 < 8
