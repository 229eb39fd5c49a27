"""Acceptance tests of `arenad run` as a real subprocess (issue 2)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time

import pytest

from arenad.control.client import ControlClient, ControlError
from conftest import MINIMAL_CONFIG, wait_for

pytestmark = pytest.mark.slow


def test_ready_status_wal_and_socket_mode(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()
    st = d.status()
    assert st["kill_switch"]["engaged"] is False
    assert st["trading_state"] == "ACTIVE"
    assert st["mode"] == "simulation"
    assert stat.S_IMODE(os.stat(d.socket_path).st_mode) == 0o600
    conn = sqlite3.connect(d.db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # the start-up is on record
    msgs = [r[0] for r in conn.execute("SELECT message FROM system_events")]
    assert any(m.startswith("arenad ") and m.endswith(" started") for m in msgs)
    t0 = time.monotonic()
    assert d.stop(signal.SIGTERM) == 0
    assert time.monotonic() - t0 < 5
    assert "STOPPING=1" in d.notifications or (d.wait_notify("STOPPING=1") is None)
    assert not d.socket_path.exists()


def test_kill_switch_survives_restart_and_only_operator_resume_releases(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()
    r = d.cli("kill", "--reason", "maintenance window")
    assert r.returncode == 0, r.stderr
    assert d.status()["kill_switch"]["engaged"] is True
    assert d.stop() == 0
    d.start()
    st = d.status()
    assert st["kill_switch"]["engaged"] is True
    assert st["kill_switch"]["reason"] == "maintenance window"
    assert st["trading_state"] == "HALTED"
    assert d.cli("resume").returncode == 0
    st = d.status()
    assert st["kill_switch"]["engaged"] is False and st["trading_state"] == "ACTIVE"


def test_cli_without_daemon_says_so_and_exits_1(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    for cmd in (("status",), ("kill",), ("resume",)):
        r = d.cli(*cmd)
        assert r.returncode == 1
        assert "no arenad daemon is running" in r.stderr


def test_sigterm_under_load_exits_0_within_5s_and_keeps_acknowledged_writes(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()
    progress: list[int] = []
    worker = threading.Thread(target=_hammer_kill_resume, args=(d, progress))
    worker.start()
    wait_for(lambda: len(progress) >= 20, what="20 acknowledged kills")
    t0 = time.monotonic()
    assert d.stop(signal.SIGTERM) == 0  # while the client is still sending
    assert time.monotonic() - t0 < 5
    worker.join(10)
    engaged = (
        sqlite3.connect(d.db_path)
        .execute("SELECT count(*) FROM system_events WHERE message LIKE 'kill switch engaged%'")
        .fetchone()[0]
    )
    assert engaged >= len(progress) >= 20


def test_kill_9_mid_write_loses_no_committed_event(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    """Acknowledged kill commands are committed before the ack, so a SIGKILL loses none."""
    d = daemon_proc()
    d.start()
    progress: list[int] = []
    worker = threading.Thread(target=_hammer_kill_resume, args=(d, progress))
    worker.start()
    wait_for(lambda: len(progress) >= 50, what="50 acknowledged kills")
    d.proc.send_signal(signal.SIGKILL)  # mid-stream: the client is still sending
    d.proc.wait(10)
    worker.join(10)
    acked = [len(progress)]
    d.start()  # restart on the same database: the stale socket is replaced
    conn = sqlite3.connect(d.db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    engaged = conn.execute(
        "SELECT count(*) FROM system_events WHERE message LIKE 'kill switch engaged%'"
    ).fetchone()[0]
    assert engaged >= acked[0]


def test_second_daemon_does_not_steal_a_live_socket(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()
    second = subprocess.run(
        [sys.executable, "-m", "arenad", "run", "--config", str(d.config_path)],
        capture_output=True,
        text=True,
        timeout=30,
        env=d.env(),
        cwd=d.dir,
    )
    assert second.returncode == 1
    assert "already listening" in second.stderr + second.stdout
    assert d.status()["kill_switch"]["engaged"] is False  # the first one still answers


def test_live_mode_needs_confirmation(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc('mode = "live"\n' + MINIMAL_CONFIG)
    r = subprocess.run(
        [sys.executable, "-m", "arenad", "run", "--config", str(d.config_path)],
        capture_output=True,
        text=True,
        timeout=30,
        env=d.env(),
        cwd=d.dir,
    )
    assert r.returncode == 2
    assert "--live" in r.stderr and "ARENAD_ALLOW_LIVE" in r.stderr
    assert not d.db_path.exists()  # refused before touching anything
    d.start(env={"ARENAD_ALLOW_LIVE": "1"})
    assert d.status()["mode"] == "live"


def _hammer_kill_resume(d, progress: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Alternate kill/resume until the daemon goes away; append to ``progress`` per acked kill."""

    async def go() -> None:
        try:
            async with ControlClient(d.socket_path) as c:
                for n in range(1_000_000):
                    await c.request("kill", reason=f"k{n}", timeout=10)
                    progress.append(n)
                    await c.request("resume", timeout=10)
        except (ConnectionError, TimeoutError):
            pass

    asyncio.run(go())


def test_events_query_and_live_subscription(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()

    async def go() -> None:
        async with ControlClient(d.socket_path) as c:
            started = await c.request("events", level="info", category="system", limit=5)
            assert any(e["message"].endswith(" started") for e in started)
            with pytest.raises(ControlError) as ei:
                await c.request("events", level="loud")
            assert ei.value.code == "invalid_args"
            await c.subscribe(["system_event", "trading_state"])
            await c.request("kill", reason="from the stream test")
            seen: dict[str, dict] = {}  # type: ignore[type-arg]
            async with asyncio.timeout(10):
                async for ev in c.events():
                    seen[ev["event"]] = ev["data"]
                    if len(seen) == 2:
                        break
            assert seen["trading_state"]["kill_switch"]["reason"] == "from the stream test"
            assert seen["system_event"]["message"].startswith("kill switch engaged")
            searched = await c.request("events", search="from the stream", level="warning")
            assert len(searched) == 1

    asyncio.run(go())
    r = d.cli("events", "--category", "trading")
    assert r.returncode == 0 and "kill switch engaged by operator" in r.stdout


def test_online_backup_while_running(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()
    assert d.cli("kill", "--reason", "before backup").returncode == 0
    dest = d.dir / "backup.db"
    r = d.cli("db", "backup", str(dest))
    assert r.returncode == 0, r.stderr
    conn = sqlite3.connect(dest)
    assert (
        conn.execute("SELECT kill_switch_reason FROM system_status").fetchone()[0]
        == "before backup"
    )
    assert d.cli("db", "backup", str(dest)).returncode == 2  # never overwrites
    assert d.cli("db", "analyze").returncode == 0


def test_frozen_subscriber_does_not_delay_shutdown(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    """A TUI suspended with ctrl-z never answers the closing handshake."""
    d = daemon_proc()
    d.start()
    client = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import asyncio, json, sys\n"
            "from websockets.asyncio.client import unix_connect\n"
            "async def main():\n"
            f"    async with unix_connect({str(d.socket_path)!r}) as ws:\n"
            "        await ws.send(json.dumps({'id': 1, 'cmd': 'subscribe'}))\n"
            "        await ws.recv()\n"
            "        print('subscribed', flush=True)\n"
            "        await asyncio.sleep(3600)\n"
            "asyncio.run(main())\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None and client.stdout.readline().strip() == "subscribed"
        client.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        assert d.stop(signal.SIGTERM, timeout=15) == 0
        assert time.monotonic() - t0 < 5
    finally:
        client.kill()
        client.wait(10)


def test_position_close_routes_by_book_kind_and_refuses_what_nothing_serves(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()

    async def go() -> None:
        async with ControlClient(d.socket_path) as c:
            for args, code in (
                ({"book_id": "fade:gpt-5", "symbol": "BTC"}, "unavailable"),
                ({"book_id": "nonsense", "symbol": "BTC"}, "unavailable"),
                ({"symbol": "BTC"}, "invalid_args"),
                ({"book_id": "arena:x"}, "invalid_args"),
            ):
                with pytest.raises(ControlError) as ei:
                    await c.request("position.close", **args)
                assert ei.value.code == code, args

    asyncio.run(go())
