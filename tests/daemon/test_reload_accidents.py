"""Saves that are almost certainly accidents, against a real `arenad run` subprocess trading
against the simulator's bots: an empty file (an editor between truncate and write), a file
truncated just before its bots, and an edit that drops every bot. Each is rejected with an
error event, the settings in force stay, and no bot fill made meanwhile is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from typing import Any

import httpx
import pytest

from arenad.control.client import ControlClient
from arenad.sim.hyperliquid.bots import bot_address
from conftest import wait_for

pytestmark = pytest.mark.slow

BOTS = ["gpt-5", "grok-4", "qwen3-max"]


def config(hl_port: int, alpaca_port: int, *, bots: bool = True) -> str:
    text = f"""\
[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"
config_poll_interval_s = 0.1

[sim]
host = "127.0.0.1"
hyperliquid_port = {hl_port}
alpaca_port = {alpaca_port}

[arena.schedule]
kind = "weekly"
weekday = "sun"
at = "03:00"
market_days_only = false
missed_slot = "skip"

[[arena.models]]
id = "buy-and-hold"
provider = "baseline"
[arena.models.baseline]
kind = "buy_and_hold"

[fade]
snapshot_interval_s = 60
"""
    if bots:
        text += "".join(
            f'\n[[fade.bots]]\nid = "{b}"\nwallet = "{bot_address(42, b)}"\n' for b in BOTS
        )
    return text


def q(path: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    try:
        with sqlite3.connect(path) as c:
            return list(c.execute(sql, args))
    except sqlite3.OperationalError:
        return []


def venue_fills(
    url: str, wallet: str, since_ms: int, until_ms: int | None = None
) -> set[tuple[str, int]]:
    r = httpx.post(
        f"{url}/info",
        json={
            "type": "userFillsByTime",
            "user": wallet,
            "startTime": since_ms,
            "endTime": until_ms,
        },
        timeout=10,
    )
    return {(f["hash"], int(f["tid"])) for f in r.json()}


def stored_fills(db: Any, wallet: str) -> set[tuple[str, int]]:
    rows = q(db, "SELECT hash, tid FROM fade_bot_events WHERE wallet = ?", wallet.lower())
    return {(h, int(t)) for h, t in rows}


def write_atomic(path: Any, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def control(socket_path: Any, cmd: str) -> dict[str, Any]:
    """Over the socket itself: the CLI would read the broken file to find it."""

    async def ask() -> dict[str, Any]:
        async with ControlClient(socket_path) as c:
            return await c.request(cmd)  # type: ignore[no-any-return]

    return asyncio.run(ask())


def test_accidental_saves_are_rejected_and_no_fill_is_lost(sim_thread, daemon_proc) -> None:  # type: ignore[no-untyped-def]
    hl = sim_thread.hyperliquid_url
    hl_port = int(hl.rsplit(":", 1)[1])
    alpaca_port = int(str(sim_thread.alpaca_url).rsplit(":", 1)[1])
    good = config(hl_port, alpaca_port)
    d = daemon_proc(good)
    d.start()
    wallets = [bot_address(42, b) for b in BOTS]
    wait_for(
        lambda: all(stored_fills(d.db_path, w) for w in wallets), 30, what="fills of every bot"
    )
    since = int(time.time() * 1000)

    def errors() -> int:
        return q(
            d.db_path,
            "SELECT count(*) FROM system_events WHERE category = 'config' AND level = 'error'",
        )[0][0]

    truncated = good[: good.index("[[fade.bots]]")]  # a save cut off at a line boundary
    accidents = {
        "empty": ("", "holds no settings"),
        "truncated": (truncated, "removes every fade bot"),
        "every bot removed": (config(hl_port, alpaca_port, bots=False), "removes every fade bot"),
    }
    for n, (name, (text, reason)) in enumerate(accidents.items(), start=1):
        window_start = int(time.time() * 1000)
        d.config_path.write_text(text)  # in place, as an editor that truncates then writes
        wait_for(lambda n=n: errors() == n, what=f"the {name} file rejected")
        msg = q(d.db_path, "SELECT message FROM system_events WHERE level = 'error' ORDER BY id")
        assert reason in msg[-1][0] and "previous settings stay in force" in msg[-1][0], name
        # The error event is recorded inside the reload; its result is set right after.
        st = wait_for(
            lambda: (
                (control(d.socket_path, "status")["last_reload"] or {}).get("ok") is False
                and control(d.socket_path, "status")["last_reload"]
            ),
            what=f"the {name} reload's result",
        )
        assert st["changes"] == {}
        in_force = control(d.socket_path, "config")["settings"]
        assert [b["id"] for b in in_force["fade"]["bots"]] == BOTS, name
        assert [m["id"] for m in in_force["arena"]["models"]] == ["buy-and-hold"], name
        # the bots keep trading while the bad file is on disk: wait for at least one fill
        wait_for(
            lambda ws=window_start: any(venue_fills(hl, w, ws) for w in wallets),
            what=f"a bot fill while the {name} file is on disk",
        )
        write_atomic(d.config_path, good)
        # the good file again changes nothing: no "config reloaded" event, no snapshot
        wait_for(lambda: d.status()["last_reload"]["ok"], what=f"good file after {name}")

    # Every fill the venue made from the first accident to now is stored (later ones may
    # still be on their way).
    until = int(time.time() * 1000)

    def missing() -> dict[str, int]:
        gaps = {w: venue_fills(hl, w, since, until) - stored_fills(d.db_path, w) for w in wallets}
        return {w: len(g) for w, g in gaps.items() if g}

    wait_for(lambda: not missing(), 30, interval=0.2, what="every fill of the window stored")
    assert (
        q(
            d.db_path,
            "SELECT count(*) FROM system_events WHERE category = 'config' AND level = 'info'",
        )[0][0]
        == 0
    )
    assert d.stop() == 0


def test_a_bot_removed_and_re_added_gets_the_fills_of_its_absence(sim_thread, daemon_proc) -> None:  # type: ignore[no-untyped-def]
    hl = sim_thread.hyperliquid_url
    hl_port = int(hl.rsplit(":", 1)[1])
    alpaca_port = int(str(sim_thread.alpaca_url).rsplit(":", 1)[1])
    good = config(hl_port, alpaca_port)
    d = daemon_proc(good)
    d.start()
    wallets = [bot_address(42, b) for b in BOTS]
    wait_for(
        lambda: all(stored_fills(d.db_path, w) for w in wallets), 30, what="fills of every bot"
    )
    since = int(time.time() * 1000)
    first = good.index("[[fade.bots]]")
    second = good.index("[[fade.bots]]", first + 1)
    edits = {
        # one bot taken out on purpose (the others stay)
        "gpt-5 removed": good[:first] + good[second:],
        # every bot taken out on purpose: `enabled = false` says so
        "fade disabled": config(hl_port, alpaca_port, bots=False).replace(
            "[fade]\n", "[fade]\nenabled = false\n"
        ),
    }
    for name, text in edits.items():
        snaps = len(q(d.db_path, "SELECT id FROM settings_snapshots"))
        write_atomic(d.config_path, text)
        wait_for(
            lambda s=snaps: len(q(d.db_path, "SELECT id FROM settings_snapshots")) > s,
            what=f"{name} applied",
        )
        # The snapshot row is written inside the reload; its result is set right after.
        wait_for(
            lambda: (control(d.socket_path, "status")["last_reload"] or {}).get("ok") is True,
            what=f"{name}: the reload's result",
        )
        gone = int(time.time() * 1000)
        # the removed bot trades on at the venue while it is not tracked
        wait_for(lambda g=gone: venue_fills(hl, wallets[0], g), what=f"a fill while {name}")
        write_atomic(d.config_path, good)
        wait_for(
            lambda: (
                [b["id"] for b in control(d.socket_path, "config")["settings"]["fade"]["bots"]]
                == BOTS
            ),
            what=f"every bot back after {name}",
        )
    until = int(time.time() * 1000)

    def missing() -> dict[str, int]:
        gaps = {w: venue_fills(hl, w, since, until) - stored_fills(d.db_path, w) for w in wallets}
        return {w: len(g) for w, g in gaps.items() if g}

    wait_for(lambda: not missing(), 30, interval=0.2, what="the fills of the absences stored")
    d.stop(signal.SIGKILL)
