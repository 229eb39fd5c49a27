from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

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


def test_ready_and_stopping_wait_for_room_and_are_never_lost(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Only the watchdog ping may be dropped: READY=1 sent while the receiver's queue is full
    waits until the receiver reads, and arrives."""
    d = Path(tempfile.mkdtemp(prefix="sd-", dir="/tmp"))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(d / "n"))
    monkeypatch.setenv("NOTIFY_SOCKET", str(d / "n"))
    for _ in range(10_000):  # fill the queue: pings are dropped once it is full
        if not systemd.notify("WATCHDOG=1"):
            break
    else:
        raise AssertionError("the notify queue never filled")
    results: list[bool] = []
    sender = threading.Thread(
        target=lambda: results.append(systemd.notify("READY=1", "STATUS=serving")), daemon=True
    )
    sender.start()
    # Give a non-blocking send the chance to fail before anything is read (a blocking one
    # just waits here; the result does not depend on this pause, only the reproduction does).
    sender.join(1.0)
    s.settimeout(10)
    got: list[str] = []
    while "READY=1" not in got:
        got += s.recv(4096).decode().splitlines()
    sender.join(10)
    assert results == [True]
    s.close()


# --- the unit file ------------------------------------------------------------------------

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "arenad.service"
NOT_ALLOWED_V4 = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",  # loopback is allowed by the `localhost` keyword instead
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
    )
]


def _unit_values(key: str) -> list[str]:
    return [
        line.split("=", 1)[1]
        for line in UNIT.read_text().splitlines()
        if line.startswith(f"{key}=") and not line.startswith("#")
    ]


def test_unit_network_allow_list_is_public_internet_and_loopback_only() -> None:
    assert _unit_values("IPAddressDeny") == ["any"]
    assert _unit_values("ProtectProc") == ["invisible"]
    assert _unit_values("ProcSubset") == ["pid"]
    allowed = " ".join(_unit_values("IPAddressAllow")).split()
    assert "localhost" in allowed
    nets = [ipaddress.ip_network(a) for a in allowed if a != "localhost"]
    v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in nets if isinstance(n, ipaddress.IPv6Network)]
    assert v6 == [ipaddress.ip_network("2000::/3")]  # global unicast: not ULA, link-local
    for n in v4:
        assert not any(n.overlaps(x) for x in NOT_ALLOWED_V4), n
    # together they cover all of IPv4, so every public address is allowed
    total = sum(n.num_addresses for n in v4) + sum(n.num_addresses for n in NOT_ALLOWED_V4)
    assert total == 2**32
    for addr in ("169.254.169.254", "10.0.0.2", "192.168.1.1", "100.64.0.1"):
        assert not any(ipaddress.ip_address(addr) in n for n in v4), addr
    for addr in ("8.8.8.8", "104.16.0.1", "3.5.140.2", "172.67.1.1"):
        assert any(ipaddress.ip_address(addr) in n for n in v4), addr


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_unit_verifies_and_exposure_is_at_most_1_6(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    # verify checks that ExecStart exists: point it at this interpreter instead of /opt
    unit = tmp_path / "arenad.service"
    unit.write_text(UNIT.read_text().replace("/opt/arenad/.venv/bin/arenad", sys.executable))
    verify = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0 and not verify.stdout.strip(), verify.stdout + verify.stderr
    sec = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sec.returncode == 0, sec.stderr
    m = re.search(r"Overall exposure level for arenad\.service: (\d+\.\d+)", sec.stdout)
    assert m, sec.stdout[-500:]
    assert float(m.group(1)) <= 1.6, sec.stdout
    for line in ("ProtectProc=", "ProcSubset=", "IPAddressDeny="):
        row = next(r for r in sec.stdout.splitlines() if line in r)
        assert row.startswith("✓") or "non-localhost entries" in row, row
