"""Fixtures shared by every area's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from arenad.store.migrate import migrate
from arenad.store.writer import StoreWriter

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"

# Fixture plugins of the areas (each a module in tests/).
pytest_plugins = ["fixtures_sim"]


@dataclass
class Store:
    path: Path
    writer: StoreWriter


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh migrated database with a running writer (closed, and so drained, after)."""
    path = tmp_path / "arenad.db"
    await migrate(path)
    writer = StoreWriter(path, synchronous="normal")
    await writer.start()
    try:
        yield Store(path, writer)
    finally:
        await writer.close()


# --- a real `arenad run` subprocess -------------------------------------------------------

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402

MINIMAL_CONFIG = """\
[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"
log_level = "info"
config_poll_interval_s = 0.1
"""


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.02, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll until ``predicate()`` is truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class DaemonProc:
    """`arenad run` in a subprocess with its own config, database, socket and NOTIFY_SOCKET.

    Directories are short (/tmp/ad-XXXX) because a Unix socket path must fit in 108 bytes.
    """

    def __init__(self, config_text: str = MINIMAL_CONFIG) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ad-", dir="/tmp"))
        self.config_path = self.dir / "config.toml"
        self.config_path.write_text(config_text)
        self.db_path = self.dir / "arenad.db"
        self.socket_path = self.dir / "arenad.sock"
        self.notify_path = self.dir / "notify.sock"
        self.log_path = self.dir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._notify: socket.socket | None = None
        self.notifications: list[str] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_")}
        env.update(extra)
        return env

    def start(
        self, *args: str, wait_ready: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        if self._notify is None:
            self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._notify.bind(str(self.notify_path))
            self._notify.settimeout(0.05)
        self.notifications.clear()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "arenad", "run", "--config", str(self.config_path), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            env=self.env(NOTIFY_SOCKET=str(self.notify_path), **(env or {})),
        )
        if wait_ready:
            self.wait_notify("READY=1", timeout=60)
        return self.proc

    def wait_notify(self, state: str, timeout: float = 10.0) -> None:
        assert self._notify is not None

        def seen() -> bool:
            exited = self.proc is not None and self.proc.poll() is not None
            # Every datagram queued so far, not one per poll: after an exit the last ones
            # (STOPPING=1 behind WATCHDOG=1 and STATUS=...) must still be read before judging.
            while True:
                try:
                    self.notifications += self._notify.recv(4096).decode().splitlines()  # type: ignore[union-attr]
                except TimeoutError:
                    break
                if state in self.notifications:
                    break
            if exited and state not in self.notifications:
                raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{self.log()}")
            return state in self.notifications

        wait_for(seen, timeout, interval=0, what=f"sd_notify {state}")

    def drain_notify(self) -> list[str]:
        """Every datagram queued on the notify socket now (also kept in ``notifications``)."""
        got: list[str] = []
        if self._notify is None:
            return got
        while True:
            try:
                got += self._notify.recv(4096).decode().splitlines()
            except TimeoutError:
                break
        self.notifications += got
        return got

    def cli(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "arenad", *args, "--config", str(self.config_path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(),
            cwd=self.dir,
        )

    def status(self) -> dict:  # type: ignore[type-arg]
        r = self.cli("status", "--json")
        assert r.returncode == 0, f"{r.stderr}\n--- daemon log (tail) ---\n{self.log()[-4000:]}"
        return json.loads(r.stdout)  # type: ignore[no-any-return]

    def audit(self) -> dict:  # type: ignore[type-arg]
        """`arenad audit --json` on this daemon's database (live or stopped): assert it is ok
        (issue #13: every end-to-end scenario ends with the books' invariants checked)."""
        r = self.cli("audit", "--db", str(self.db_path), "--json", timeout=120)
        out = json.loads(r.stdout) if r.stdout.strip() else {}
        assert r.returncode == 0 and out.get("ok") is True, (
            f"arenad audit failed (exit {r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}"
        )
        return out  # type: ignore[no-any-return]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the daemon and wait for its exit. The daemon bounds its own shutdown; the
        generous wait is for a loaded machine, and a daemon that overstays it is shown."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        while True:
            # Read the notify socket meanwhile, as systemd does: STOPPING=1 waits for room in
            # its queue (watchdog pings may have filled it).
            self.drain_notify()
            try:
                return self.proc.wait(0.1)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    break
        raise AssertionError(
            f"daemon still running {timeout} s after signal {sig}:\n{self.log()[-4000:]}"
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self._notify is not None:
            self._notify.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def daemon_proc() -> Iterator[type[DaemonProc]]:
    """Factory of DaemonProc instances, all cleaned up (killed, files removed) after the test."""
    made: list[DaemonProc] = []

    class Tracked(DaemonProc):
        def __init__(self, config_text: str = MINIMAL_CONFIG) -> None:
            super().__init__(config_text)
            made.append(self)

    yield Tracked
    for d in made:
        d.cleanup()
