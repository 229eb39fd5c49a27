"""Notifications from a real `arenad run` subprocess to a loopback receiver (issue 17)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from typing import Any

import pytest
from notify_receiver import (  # type: ignore[import-not-found]  # noqa: F401
    Receiver,
    receiver2_fixture,
    receiver_fixture,
)

from arenad.control.client import ControlClient
from conftest import MINIMAL_CONFIG, wait_for

pytestmark = pytest.mark.slow

VAR = "TEST_ARENAD_NOTIFY_URLS"


def config(**notify: Any) -> str:
    lines = [f'urls_env = "{VAR}"', 'daily_summary_at = ""', "check_interval_s = 0.2"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in notify.items()]
    return MINIMAL_CONFIG + "\n[notify]\n" + "\n".join(lines) + "\n"


def ask(sock: Any, cmd: str, **args: Any) -> Any:
    async def go() -> Any:
        async with ControlClient(sock) as c:
            return await c.request(cmd, **args)

    return asyncio.run(go())


def titles(r: Receiver) -> list[str]:
    return [m["title"] for m in r.messages]


def db_dump(path: Any) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def assert_secret_nowhere(d: Any, url: str, token: str) -> None:
    log = d.log()
    dump = db_dump(d.db_path)
    for secret in (url, token):
        assert secret not in log, f"{secret!r} in the daemon log"
        assert secret not in dump, f"{secret!r} in the database"


def test_kill_switch_engaged_and_released_reach_the_phone(daemon_proc, receiver, receiver2) -> None:  # type: ignore[no-untyped-def]
    url = receiver.url()
    other = receiver2  # a second channel: the variable holds two URLs
    d = daemon_proc(config())
    d.start(env={VAR: f"{url}\n{other.url('x/0therT0ken-99887766')}"})
    receiver.wait(lambda: "arenad: arenad started" in titles(receiver), what="the start message")
    ask(d.socket_path, "kill", reason="fat finger on BTC")
    t0 = time.monotonic()
    receiver.wait(
        lambda: any("KILL SWITCH" in t for t in titles(receiver)), 5.0, "the kill switch message"
    )
    assert time.monotonic() - t0 < 5.0
    kill = [m for m in receiver.messages if "KILL SWITCH" in m["title"]]
    assert len(kill) == 1
    assert "by operator: fat finger on BTC" in kill[0]["message"]
    assert kill[0]["type"] == "failure"
    # a second engagement is the same condition: not sent again. Its reason quotes the URL
    # (an operator's paste): the log, the events and the database must still not hold it.
    ask(d.socket_path, "kill", reason=f"pasted {url} by mistake")
    ask(d.socket_path, "resume")
    receiver.wait(lambda: any("RESOLVED" in t for t in titles(receiver)), 5.0, "resolved")
    resolved = [m for m in receiver.messages if "RESOLVED" in m["title"]]
    assert resolved[0]["title"] == "arenad: RESOLVED: kill switch released"
    assert "engaged by operator" in resolved[0]["message"]
    assert "repeated 1 time)" in resolved[0]["message"]
    assert sum("KILL SWITCH" in t for t in titles(receiver)) == 1

    # the control command: the channel by scheme and host only, and its last delivery
    def recorded() -> dict[str, Any] | None:
        st = ask(d.socket_path, "notify.status")
        lasts = [c["last"] for c in st["channels"]]
        return st if all(x and x["title"].startswith("RESOLVED") for x in lasts) else None

    st = wait_for(recorded, 10, what="the delivery recorded")
    assert st["enabled"] is True
    ch, ch2 = st["channels"]
    assert ch["channel"] == f"json://127.0.0.1:{receiver.port}"
    assert ch2["channel"] == f"json://127.0.0.1:{other.port}"
    assert ch["last"]["ok"] is True and ch["sent"] >= 3
    assert d.stop() == 0
    assert "arenad: arenad stopping" in titles(receiver)
    assert_secret_nowhere(d, url, "S3CRETt0ken-abc123")
    assert_secret_nowhere(d, other.url("x/0therT0ken-99887766"), "0therT0ken-99887766")
    assert [m["title"] for m in other.messages] == titles(receiver)  # each channel got all


def test_unclean_previous_stop_is_told_at_start(daemon_proc, receiver) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc(config())
    d.start(env={VAR: receiver.url()})
    receiver.wait_messages(1)
    ask(d.socket_path, "kill", reason="before the crash")
    receiver.wait_messages(2)
    assert d.proc is not None
    d.proc.kill()  # no chance to record a stop
    d.proc.wait(10)
    d.start(env={VAR: receiver.url()})
    receiver.wait(lambda: any("UNCLEAN" in t for t in titles(receiver)), what="unclean start")
    (m,) = [m for m in receiver.messages if "UNCLEAN" in m["title"]]
    assert "ended without stopping" in m["message"]
    assert "the kill switch is engaged (restored from the last run)" in m["message"]
    # the kill switch engaged before the restart is still the open condition
    ask(d.socket_path, "resume")
    receiver.wait(lambda: any("RESOLVED" in t for t in titles(receiver)), 5.0, "resolved")
    assert "engaged by operator: before the crash" in receiver.messages[-1]["message"]
    assert d.stop() == 0


def test_hanging_receiver_delays_nothing_and_is_an_event(daemon_proc, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.mode = "hang"
    d = daemon_proc(config(timeout_s=4.0, retries=0))
    d.start(env={VAR: receiver.url()})
    receiver.wait(lambda: receiver.requests >= 1, what="the start message to hang")
    # While the channel hangs (4 s before it counts as failed), the control socket and the
    # guard answer at once: a loop blocked by the delivery would take the 4 s.
    t0 = time.monotonic()
    st = ask(d.socket_path, "kill", reason="while the phone hangs")
    took = time.monotonic() - t0
    assert st["kill_switch"]["engaged"] is True and st["trading_state"] == "HALTED"
    assert took < 2.0, f"kill took {took:.2f} s while the channel hung"
    assert ask(d.socket_path, "notify.status")["channels"][0]["last"] is None  # still hanging

    def failure_events() -> list[dict[str, Any]]:
        rows = ask(d.socket_path, "events", category="notify")
        return [r for r in rows if "TIMEOUT" in r["message"]]

    ev = wait_for(failure_events, 20, what="a notify TIMEOUT event")
    assert ev[0]["level"] == "warning"
    assert f"json://127.0.0.1:{receiver.port}" in ev[0]["message"]
    assert d.status()["loop_lag_ms"] < 500
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 10  # the farewell and a delivery in flight are bounded
    assert_secret_nowhere(d, receiver.url(), "S3CRETt0ken-abc123")


# --- arenad notify test ---------------------------------------------------------------------


def notify_test(tmp_path: Any, cfg: str, value: str | None) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.toml"
    path.write_text(cfg)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_") and k != VAR}
    if value is not None:
        env[VAR] = value
    return subprocess.run(
        [sys.executable, "-m", "arenad", "notify", "test", "--config", str(path), "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )


def test_notify_test_exit_codes(tmp_path, receiver) -> None:  # type: ignore[no-untyped-def]
    bad = Receiver()
    bad.mode = "500"
    try:
        good_url, bad_url = receiver.url(), bad.url("other/t0kenNumber2xyz")
        r = notify_test(tmp_path, config(), good_url)
        assert r.returncode == 0, r.stderr
        assert f"ok      json://127.0.0.1:{receiver.port} (JSON)" in r.stdout
        assert receiver.messages[0]["title"] == "arenad: test notification"

        r = notify_test(tmp_path, config(), f"{good_url}, {bad_url}")
        assert r.returncode == 1, r.stderr
        assert f"FAILED  json://127.0.0.1:{bad.port} (JSON): FAILURE" in r.stdout
        assert "1 of 2 delivered" in r.stdout
        assert "t0kenNumber2xyz" not in r.stdout + r.stderr
    finally:
        bad.close()

    r = notify_test(tmp_path, MINIMAL_CONFIG, good_url)  # no [notify] urls_env
    assert r.returncode == 2 and "urls_env is not set" in r.stderr
    r = notify_test(tmp_path, config(), None)  # the variable is unset
    assert r.returncode == 2 and f"${VAR} is not set or empty" in r.stderr
    r = notify_test(tmp_path, config(), f"{good_url} tgram://not-a-token")
    assert r.returncode == 2 and "INVALID tgram://…" in r.stderr
    assert len(receiver.messages) == 2  # nothing sent when a URL is invalid
    r = notify_test(tmp_path, config(min_level="loud"), good_url)  # bad config
    assert r.returncode == 2 and "notify.min_level" in r.stderr
    r = notify_test(tmp_path, config().replace(VAR, "tgram://1234:abcd/99"), good_url)
    assert r.returncode == 2 and "notify.urls_env" in r.stderr
    assert "abcd/99" not in r.stderr
