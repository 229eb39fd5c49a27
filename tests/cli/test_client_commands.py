"""The client commands (issue 21 item 12), run as a user runs them: `python -m arenad …`
subprocesses against a real daemon (`daemon_proc`) and real database files."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arenad.cli import AREA_CLIS, COMMANDS, build_parser, main
from arenad.config.settings import DaemonSettings
from arenad.daemon import cli as dcli
from arenad.store.migrate import migrate
from conftest import MINIMAL_CONFIG

CLIENT_COMMANDS = [
    ("status",),
    ("kill",),
    ("resume",),
    ("ack-drift",),
    ("reload",),
    ("events",),
    ("positions",),
    ("trades",),
    ("arena", "runs"),
    ("arena", "run-now"),
]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENAD_")}
    env.update(extra)
    return env


def arenad(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arenad", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env or _env(),
    )


def _subparsers(
    p: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    out = {path: p}
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sp in a.choices.items():
                out |= _subparsers(sp, (*path, name))
    return out


def test_every_client_command_takes_socket_and_config() -> None:
    parsers = _subparsers(build_parser())
    for cmd in CLIENT_COMMANDS:
        opts = {s for a in parsers[cmd]._actions for s in a.option_strings}
        assert {"--socket", "--config"} <= opts, cmd


def test_every_option_has_help_text() -> None:
    missing = []
    for path, p in _subparsers(build_parser()).items():
        for a in p._actions:
            if isinstance(a, argparse._HelpAction | argparse._SubParsersAction):
                continue
            if not a.help:
                missing.append(f"arenad {' '.join(path)} {'/'.join(a.option_strings) or a.dest}")
    assert missing == []


def test_the_command_table_is_what_the_areas_register() -> None:
    """`arenad --help` lists commands from COMMANDS without importing the areas: it must
    name exactly the commands they register, with their help, each from its module."""
    seen: dict[str, tuple[str, str]] = {}
    for mod in AREA_CLIS:
        sub = build_parser([mod])._actions[-1]
        assert isinstance(sub, argparse._SubParsersAction)
        for a in sub._choices_actions:
            seen[a.dest] = (mod, str(a.help))
    assert seen == COMMANDS
    assert DaemonSettings().socket_path == dcli.DEFAULT_SOCKET
    assert DaemonSettings().db_path == dcli.DEFAULT_DB


def test_unknown_flag_after_a_subcommand_prints_that_subcommands_usage(tmp_path: Path) -> None:
    r = arenad("status", "--bogus", cwd=tmp_path)
    assert r.returncode == 2
    assert (
        r.stderr.startswith("usage: arenad status")
        and "unrecognized arguments: --bogus" in r.stderr
    )
    r = arenad("arena", "runs", "--nope", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("usage: arenad arena runs"), r.stderr


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-45", "1x", "", "2026-12-01T25:00"])
def test_events_since_rejects_a_bad_value_naming_the_flag(bad: str, tmp_path: Path) -> None:
    r = arenad("events", "--since", bad, "--socket", str(tmp_path / "none.sock"), cwd=tmp_path)
    assert r.returncode == 2
    assert "argument --since" in r.stderr and repr(bad) in r.stderr


def test_events_since_accepts_iso_and_relative_times() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert dcli.parse_since("1h", now) == "2026-12-02T11:00:00.000000Z"
    assert dcli.parse_since("2d", now) == "2026-11-30T12:00:00.000000Z"
    assert dcli.parse_since("30m", now) == "2026-12-02T11:30:00.000000Z"
    assert dcli.parse_since("2026-12-01") == "2026-12-01T00:00:00.000000Z"
    assert dcli.parse_since("2026-12-01T18:00Z") == "2026-12-01T18:00:00.000000Z"
    assert dcli.parse_since("2026-12-01T19:00+01:00") == "2026-12-01T18:00:00.000000Z"


@pytest.mark.slow
def test_client_commands_against_a_real_daemon(daemon_proc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()
    sock = str(d.socket_path)
    # --socket alone, from a directory with no config.toml
    for cmd in (("status",), ("positions",), ("trades",), ("events",)):
        r = arenad(*cmd, "--socket", sock, cwd=tmp_path)
        assert r.returncode == 0, (cmd, r.stderr)
    # arena runs / run-now take --socket (the arena is not configured here: refused, exit 1)
    r = arenad("arena", "run-now", "--socket", sock, cwd=tmp_path)
    assert r.returncode in (1, 2) and "unrecognized" not in r.stderr, r.stderr
    assert "refused" in r.stderr or "unavailable" in r.stderr or "unknown" in r.stderr, r.stderr
    # human status always shows the kill switch
    r = arenad("status", "--socket", sock, cwd=tmp_path)
    assert "kill switch: off" in r.stdout, r.stdout
    assert arenad("kill", "--socket", sock, cwd=tmp_path).returncode == 0
    r = arenad("status", "--socket", sock, cwd=tmp_path)
    assert "KILL SWITCH ENGAGED by operator" in r.stdout
    assert arenad("resume", "--socket", sock, cwd=tmp_path).returncode == 0
    # events --since: a relative time and a date reach the daemon as timestamps
    ev = json.loads(
        arenad("events", "--since", "1h", "--json", "--socket", sock, cwd=tmp_path).stdout
    )
    assert any("kill switch" in e["message"] for e in ev)
    later = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    ev = json.loads(
        arenad("events", "--since", later, "--json", "--socket", sock, cwd=tmp_path).stdout
    )
    assert ev == []
    # no config.toml in the working directory: ARENAD_DAEMON__SOCKET_PATH is honoured
    r = arenad("status", "--json", cwd=tmp_path, env=_env(ARENAD_DAEMON__SOCKET_PATH=sock))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pid"] == d.proc.pid
    # and it wins over the config file, as for the daemon
    (tmp_path / "config.toml").write_text('[daemon]\nsocket_path = "elsewhere.sock"\n')
    r = arenad("status", cwd=tmp_path, env=_env(ARENAD_DAEMON__SOCKET_PATH=sock))
    assert r.returncode == 0, r.stderr
    r = arenad("status", cwd=tmp_path)
    assert r.returncode == 1 and "elsewhere.sock" in r.stderr
    # --config names the socket
    assert arenad("status", "--config", str(d.config_path), cwd=tmp_path).returncode == 0
    d.stop()


@pytest.mark.slow
def test_status_into_a_closed_pipe_exits_without_a_traceback(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    d.start()
    r = subprocess.run(  # noqa: S602 - a fixed command line, for a real pipe closed early
        f"{sys.executable} -m arenad status --socket {d.socket_path} | head -1; "
        f"{sys.executable} -m arenad events --json --limit 500 --socket {d.socket_path}"
        " | head -c 10 >/dev/null",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert r.stdout.startswith("arenad "), r.stdout
    assert "Traceback" not in r.stderr and "BrokenPipeError" not in r.stderr, r.stderr
    d.stop()


def test_broken_pipe_is_handled_in_process(tmp_path: Path) -> None:
    """The same, deterministically: stdout a pipe whose reader is already closed."""
    code = (
        "import os, sys\n"
        "r, w = os.pipe(); os.close(r); os.dup2(w, 1)\n"
        "sys.argv = ['arenad', 'events', '--help']\n"
        "from arenad.cli import main\n"
        "sys.exit(main())\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=_env()
    )
    assert "Traceback" not in r.stderr, r.stderr


def _books_db(path: Path) -> None:
    asyncio.run(migrate(path))
    ts = "2026-12-01T10:00:00.000000Z"
    with sqlite3.connect(path) as c:
        c.execute(
            "INSERT INTO fade_positions (book_id, coin, size, entry_price, opened_at, updated_at)"
            " VALUES ('fade:gpt-5', 'BTC', '-0.5', '96500', ?, ?)",
            (ts, ts),
        )
        c.execute(
            "INSERT INTO fade_positions (book_id, coin, size, entry_price, opened_at, updated_at)"
            " VALUES ('fade:gpt-5', 'ETH', '0', '3000', ?, ?)",
            (ts, ts),
        )
        c.execute(
            "INSERT INTO arena_positions (book_id, symbol, qty, avg_price, timeframe, opened_at,"
            " updated_at) VALUES ('arena:momentum', 'AAPL', '12', '187.20', 'swing', ?, ?)",
            (ts, ts),
        )
        c.execute(
            "INSERT INTO trade_log (book_id, symbol, direction, quantity, entry_time, entry_price,"
            " exit_time, exit_price, realized_pnl, fees, source, source_id) VALUES"
            " ('arena:momentum', 'NVDA', 'long', '3', ?, '100', ?, '110', 29.5, 0.5, 'arena',"
            " 't1')",
            (ts, "2026-12-01T11:00:00.000000Z"),
        )


@pytest.mark.slow
def test_positions_and_trades_from_the_daemon_and_from_the_database(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    d = daemon_proc()
    _books_db(d.db_path)
    d.start()
    cwd = d.dir
    # Through the daemon: exactly what its `positions` / `trades` commands answer.
    from arenad.control.client import ControlClient

    async def ask(cmd: str) -> Any:
        async with ControlClient(d.socket_path) as c:
            return await c.request(cmd)

    live = json.loads(d.cli("positions", "--json").stdout)
    assert live == asyncio.run(ask("positions"))  # the engines' books (none run here)
    trades = json.loads(d.cli("trades", "--json").stdout)
    assert trades == asyncio.run(ask("trades"))
    assert [(t["book_id"], t["symbol"], t["pnl"]) for t in trades] == [
        ("arena:momentum", "NVDA", 29.5)
    ]
    d.stop()
    # No daemon: the database (a zero-size position is not open).
    rows = json.loads(d.cli("positions", "--json").stdout)
    assert [(p["book_id"], p["symbol"], p["size"]) for p in rows] == [
        ("fade:gpt-5", "BTC", "-0.5"),
        ("arena:momentum", "AAPL", "12"),
    ]
    assert all(p["unrealized_pnl"] is None for p in rows)
    r = d.cli("positions")
    assert "from the database" in r.stdout and "AAPL" in r.stdout
    only = json.loads(d.cli("positions", "--json", "--kind", "fade").stdout)
    assert [p["symbol"] for p in only] == ["BTC"]
    offline = json.loads(d.cli("trades", "--json").stdout)
    assert offline == trades
    r = d.cli("trades", "--symbol", "NVDA")
    assert "NVDA" in r.stdout and "29.50" in r.stdout
    assert d.cli("trades", "--limit", "0").returncode == 2
    assert cwd.exists()


def test_leaderboard_during_a_demo_points_at_the_demos_database(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(MINIMAL_CONFIG.replace("arenad.db", "var/arenad.db"))
    demo = tmp_path / "var" / "demo"
    demo.mkdir(parents=True)
    asyncio.run(migrate(demo / "arenad.db"))
    r = arenad("leaderboard", cwd=tmp_path)
    assert r.returncode == 1
    assert f"no database at {tmp_path / 'var' / 'arenad.db'}" in r.stderr
    assert str(demo / "arenad.db") in r.stderr and "ARENAD_DAEMON__DB_PATH" in r.stderr
    hinted = arenad(
        "leaderboard", cwd=tmp_path, env=_env(ARENAD_DAEMON__DB_PATH=str(demo / "arenad.db"))
    )
    assert hinted.returncode == 0, hinted.stderr
    # the same hint from the other readers
    r = arenad("positions", cwd=tmp_path)
    assert r.returncode == 1 and str(demo / "arenad.db") in r.stderr and "--socket" in r.stderr


def test_main_returns_2_on_a_bad_value() -> None:
    assert main(["trades", "--limit", "x"]) == 2
