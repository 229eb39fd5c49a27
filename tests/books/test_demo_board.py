"""Issue #13's acceptance on a headless `arenad demo`: with a strategy activated and a tracker
import done *while it runs*, the leaderboard lists fade, bot, arena, strategy, benchmark and
nof1 books; the imported books are ranked before any restart; every fade book has >= 5 equity
points; no |sharpe| > 20 goes unflagged; `arenad audit` is ok.

The demo runs ARENAD_DEMO_TEST_S seconds (default 60 in the suite; the issue's figure is
150: `ARENAD_DEMO_TEST_S=150 pytest tests/books/test_demo_board.py`)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from arenad.control.client import ControlClient
from conftest import REPO, TEST_DATA, wait_for

pytestmark = pytest.mark.slow

DURATION_S = float(os.environ.get("ARENAD_DEMO_TEST_S", "60"))
SNAP = TEST_DATA / "tracker" / "2025-10-28T065103Z"
EXAMPLES = REPO / "examples" / "strategies"
MAX_SHARPE = 20.0


def _env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_")}
    env["ARENAD_SIM__HYPERLIQUID_PORT"] = env["ARENAD_SIM__ALPACA_PORT"] = "0"
    return env


def _cli_env(base: Path) -> dict[str, str]:
    """The CLI aimed at the demo's database and socket (var/demo/ beside the config)."""
    env = _env(base)
    env["ARENAD_DAEMON__DB_PATH"] = str(base / "var" / "demo" / "arenad.db")
    env["ARENAD_DAEMON__SOCKET_PATH"] = str(base / "var" / "demo" / "arenad.sock")
    return env


def _cli(base: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arenad", *args, "--config", str(base / "config.toml")],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=base,
        env=_cli_env(base),
    )


def _call(sock: Path, cmd: str, **args: Any) -> Any:
    async def go() -> Any:
        async with ControlClient(sock) as c:
            return await c.request(cmd, **args)

    return asyncio.run(go())


def _q(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=10) as c:
        return list(c.execute(sql, args))


@pytest.mark.timeout(DURATION_S + 240)
def test_headless_demo_puts_every_kind_of_book_on_one_board(tmp_path: Path) -> None:
    cfg = (REPO / "config.toml").read_text()
    cfg = cfg.replace("recompute_interval_s = 60", "recompute_interval_s = 5")
    (tmp_path / "config.toml").write_text(cfg)
    db = tmp_path / "var" / "demo" / "arenad.db"
    sock = tmp_path / "var" / "demo" / "arenad.sock"
    log = (tmp_path / "demo.log").open("wb")
    t0 = time.monotonic()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arenad",
            "demo",
            "--headless",
            "--duration",
            str(DURATION_S),
            "--config",
            str(tmp_path / "config.toml"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env=_env(tmp_path),
    )

    def demo_log() -> str:
        return (tmp_path / "demo.log").read_text(errors="replace")[-4000:]

    try:
        wait_for(
            lambda: sock.exists() and _call(sock, "status")["pid"],
            60,
            interval=0.2,
            what="the demo daemon answering",
        )
        # While it runs: a strategy saved and activated, a tracker import.
        r = _cli(
            tmp_path,
            "backtest",
            str(EXAMPLES / "sixty_forty.json"),
            "--prices",
            str(EXAMPLES / "prices.csv"),
            "--save",
            "--json",
        )
        assert r.returncode == 0, r.stderr
        sid = json.loads(r.stdout)["saved"]["strategy_id"]
        r = _cli(
            tmp_path, "strategies", "activate", str(sid), "--capital", "10000", "--at", "00:00"
        )
        assert r.returncode == 0, r.stderr + demo_log()
        r = _cli(tmp_path, "tracker", "import", str(SNAP), "--json")
        assert r.returncode == 0, r.stderr
        nof1 = {
            b
            for (b,) in _q(
                db,
                "SELECT e.book_id FROM equity_snapshots e JOIN books b USING (book_id)"
                " WHERE b.venue = 'nof1' GROUP BY e.book_id HAVING count(*) >= 2",
            )
        }
        assert len(nof1) >= 5, nof1
        # Ranked by the running daemon (no restart).
        wait_for(
            lambda: (
                nof1 <= {s["book_id"] for s in _call(sock, "leaderboard") if s["rank"] is not None}
            ),
            max(30.0, DURATION_S - (time.monotonic() - t0) - 5),
            interval=0.5,
            what="the imported nof1 books ranked by the running daemon",
        )
        rc = demo.wait(DURATION_S + 120)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(10)
        log.close()
    assert rc == 0, demo_log()

    board = json.loads(_cli(tmp_path, "leaderboard", "--json").stdout)
    venue = dict(_q(db, "SELECT book_id, venue FROM books"))
    kinds = {
        "fade": [s for s in board if s["kind"] == "fade"],
        "bot": [s for s in board if s["kind"] == "bot" and venue[s["book"]] == "hyperliquid"],
        "arena": [s for s in board if s["kind"] == "arena_model"],
        "strategy": [s for s in board if s["kind"] == "strategy"],
        "benchmark": [s for s in board if s["kind"] == "benchmark"],
        "nof1": [s for s in board if venue.get(s["book"]) == "nof1"],
    }
    assert all(kinds.values()), {k: len(v) for k, v in kinds.items()}
    assert f"strategy:{sid}" in {s["book"] for s in kinds["strategy"]}
    # Every fade book has a curve of at least five points.
    pts = dict(
        _q(
            db,
            "SELECT b.book_id, count(e.ts) FROM books b LEFT JOIN equity_snapshots e"
            " USING (book_id) WHERE b.kind = 'fade' GROUP BY b.book_id",
        )
    )
    assert pts and min(pts.values()) >= 5, pts
    # The strategy book has a curve too (a point at its rebalance and after).
    (strat,) = _q(db, "SELECT count(*) FROM equity_snapshots WHERE book_id = ?", f"strategy:{sid}")
    assert strat[0] >= 1
    # No absurd Sharpe shown as a number: either within bounds, or NULL and flagged.
    for s in board:
        if s["sharpe"] is None:
            continue
        assert abs(s["sharpe"]) <= MAX_SHARPE, s
    for book, sharpe, flagged in _q(
        db, "SELECT model_id, sharpe_ratio, sharpe_insufficient FROM model_performance"
    ):
        assert sharpe is None or abs(sharpe) <= MAX_SHARPE or flagged, (book, sharpe)
    r = _cli(tmp_path, "audit", "--db", str(db), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["ok"], r.stdout[-3000:]
    print(
        f"demo {DURATION_S:.0f} s: fade points min {min(pts.values())} max {max(pts.values())}; "
        f"{len(board)} books on the board; strategy points {strat[0]}"
    )
