"""`arenad kill` wall time against a running daemon, with `python -c pass` as the baseline.

A real `arenad run` daemon is started in a temporary directory (minimal config, its own
database and socket). Then, interleaved so that machine load hits every command alike, N
times each: `python -c pass` (the interpreter's own start-up: the floor), `arenad kill
--socket S`, `arenad kill --config C` (the socket found from the config file, as an operator
types it) and `arenad --help`. Wall time of each subprocess, start to exit; median and p95.
Every kill must exit 0 (it engages the switch, or engages it again).

Run: `python -m bench.cli_kill [N]` (default 30).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """\
[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_")}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _wait_socket(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the daemon exited with {proc.returncode}")
        if path.exists():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(str(path))
                return
            except OSError:
                pass
            finally:
                s.close()
        time.sleep(0.05)
    raise RuntimeError(f"no daemon on {path} after {timeout} s")


def _time(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=60)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"{cmd} exited {r.returncode}: {r.stderr.decode()[-500:]}")
    return dt


def _p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def run(n: int = 30) -> dict[str, tuple[float, float]]:
    d = Path(tempfile.mkdtemp(prefix="ad-bench-", dir="/tmp"))
    (d / "config.toml").write_text(CONFIG)
    env = _env()
    py = sys.executable
    daemon = subprocess.Popen(
        [py, "-m", "arenad", "run", "--config", str(d / "config.toml")],
        cwd=d,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cmds = {
        "python -c pass": [py, "-c", "pass"],
        "arenad kill --socket S": [py, "-m", "arenad", "kill", "--socket", str(d / "arenad.sock")],
        "arenad kill --config C": [py, "-m", "arenad", "kill", "--config", str(d / "config.toml")],
        "arenad --help": [py, "-m", "arenad", "--help"],
    }
    times: dict[str, list[float]] = {k: [] for k in cmds}
    try:
        _wait_socket(d / "arenad.sock", daemon)
        for cmd in cmds.values():  # warm the page cache and .pyc files once
            _time(cmd, env, d)
        for _ in range(n):
            for name, cmd in cmds.items():
                times[name].append(_time(cmd, env, d))
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(10)
        shutil.rmtree(d, ignore_errors=True)
    return {k: (statistics.median(v), _p95(v)) for k, v in times.items()}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 30
    res = run(n)
    base = res["python -c pass"][0]
    print(f"{n} runs each, interleaved; wall time of the whole subprocess")
    print(f"{'command':<26} {'median ms':>10} {'p95 ms':>8} {'median - baseline':>18}")
    for name, (med, p95) in res.items():
        print(f"{name:<26} {med * 1000:>10.1f} {p95 * 1000:>8.1f} {(med - base) * 1000:>17.1f}")


if __name__ == "__main__":
    main()
