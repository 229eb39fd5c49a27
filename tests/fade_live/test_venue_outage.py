"""Venue outages are waited out (issue #14): a real `arenad run` against the simulator whose
REST answers 503 and whose websocket drops every message. Trading on Hyperliquid is held by
itself ("waiting for venue"), nothing crashes, no traceback, and trading resumes once the
backfill has caught up, with every fade book re-targeted from the bots' positions (fills the
backfill brought in while trading was held are not lost); an outage longer than
`[risk] venue_outage_grace_s` (here: the simulator never started) engages the kill switch with
that reason."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from arenad.sim.hyperliquid.bots import bot_address
from arenad.store.db import parse_iso
from conftest import wait_for
from fixtures_sim import SimThread, sim_settings

pytestmark = pytest.mark.slow

BOTS = ["gpt-5", "grok-4", "qwen3-max"]


def config(port: int, grace_s: float) -> str:
    bots = "".join(f'[[fade.bots]]\nid = "{b}"\nwallet = "{bot_address(42, b)}"\n\n' for b in BOTS)
    return f"""\
[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"
config_poll_interval_s = 0.1

[risk]
venue_outage_grace_s = {grace_s}
venue_retry_max_s = 0.5

[sim]
host = "127.0.0.1"
hyperliquid_port = {port}

[fade]
snapshot_interval_s = 1
clearinghouse_check_interval_s = 5
global_exposure_cap_usd = 1000000
default_asset_cap_usd = 1000000
max_orders_per_minute = 10000

{bots}"""


def q(path: Any, sql: str, *args: Any) -> list[dict[str, Any]]:
    try:
        with sqlite3.connect(path) as c:
            c.row_factory = sqlite3.Row
            return [dict(r) for r in c.execute(sql, args)]
    except sqlite3.OperationalError:
        return []


def info(url: str, payload: dict[str, Any]) -> Any:
    r = httpx.post(f"{url}/info", json=payload, timeout=10)
    r.raise_for_status()
    return r.json()


def bot_positions(url: str) -> dict[str, dict[str, Decimal]]:
    out = {}
    for b in BOTS:
        st = info(url, {"type": "clearinghouseState", "user": bot_address(42, b)})
        out[b] = {
            p["position"]["coin"]: Decimal(p["position"]["szi"]) for p in st["assetPositions"]
        }
    return out


def off_target(url: str, db: Any) -> list[str]:
    """Fade book positions that are not the inverse of their bot's venue position (by the
    $10 minimum order or more), read from one snapshot of the database."""
    mids = {c: Decimal(v) for c, v in info(url, {"type": "allMids"}).items()}
    rows = q(db, "SELECT book_id, coin, size FROM fade_positions")
    fade = {(r["book_id"], r["coin"]): Decimal(r["size"]) for r in rows}
    out = []
    for b, bot in bot_positions(url).items():
        for coin in set(bot) | {c for (k, c) in fade if k == f"fade:{b}"}:
            held = fade.get((f"fade:{b}", coin), Decimal(0))
            if abs(bot.get(coin, Decimal(0)) + held) * mids[coin] >= 10:
                out.append(f"{b} {coin}: bot {bot.get(coin, 0)}, fade {held}")
    return out


def step(url: str, n: int) -> None:
    httpx.post(f"{url}/_sim/step", json={"n": n}, timeout=30).raise_for_status()


def venue(d) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert d.proc.poll() is None, d.log()[-3000:]
    return d.status()["venues"]["hyperliquid"]  # type: ignore[no-any-return]


def events(d, search: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = d.cli("events", "--category", "venue", "--search", search, "--json", "--limit", "1000")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_an_outage_shorter_than_the_grace_is_waited_out(sim_thread, daemon_proc) -> None:  # type: ignore[no-untyped-def]
    url = sim_thread.hyperliquid_url
    d = daemon_proc(config(int(url.rsplit(":", 1)[1]), grace_s=120))
    d.start()
    filled = "SELECT id, ts FROM fade_orders WHERE status = 'filled' ORDER BY id"
    wait_for(lambda: len(q(d.db_path, filled)) >= 3, 30, what="fade orders filled")
    assert venue(d)["state"] == "up"
    # The venue goes away: every REST call 503, every websocket message a dropped connection.
    httpx.post(
        f"{url}/_sim/faults",
        json={"http_error_rate": 1.0, "http_error_status": 503, "drop_rate": 1.0},
        timeout=10,
    ).raise_for_status()
    httpx.post(f"{url}/_sim/drop", timeout=10)
    v = wait_for(lambda: (v := venue(d))["state"] == "waiting" and v, 30, what="waiting")
    assert v["grace_s"] == 120 and v["reason"]
    st = d.status()
    assert st["kill_switch"]["engaged"] is False, st["kill_switch"]
    assert st["trading_state"] == "ACTIVE"
    assert "WAITING FOR VENUE hyperliquid" in d.cli("status").stdout
    # Down for 60 s (inside the grace): retried in the task, no crash, no kill switch.
    t_down = time.monotonic()
    wait_for(
        lambda: time.monotonic() - t_down > 60 and venue(d)["state"] == "waiting",
        120,
        interval=1.0,
        what="sixty seconds of outage",
    )
    assert d.status()["kill_switch"]["engaged"] is False
    httpx.post(
        f"{url}/_sim/faults", json={"http_error_rate": 0.0, "drop_rate": 0.0}, timeout=10
    ).raise_for_status()
    try:
        wait_for(lambda: venue(d)["state"] == "up", 45, interval=0.2, what="the hold released")
    except AssertionError as e:
        raise AssertionError(f"{e}: {events(d, '')}") from None
    filled_at_release = len(q(d.db_path, filled))
    released = d.status()
    assert released["kill_switch"]["engaged"] is False, released["kill_switch"]
    assert released["tasks"]["fade-ingest"]["restarts"] == 0, released["tasks"]
    assert released["tasks"]["fade-upkeep"]["restarts"] == 0, released["tasks"]
    assert released["venues"]["hyperliquid"]["outages"] == 1
    # Trading resumes after the backfill: new orders are filled.
    try:
        wait_for(
            lambda: len(q(d.db_path, filled)) > filled_at_release,
            30,
            what="a fade order filled after the outage",
        )
    except AssertionError as e:
        recent = q(d.db_path, "SELECT * FROM fade_decisions ORDER BY id DESC LIMIT 5")
        raise AssertionError(f"{e}: {recent}; {d.status()}") from None
    assert len(events(d, "waiting for venue")) == 1  # one event per state change
    assert len(events(d, "venue back after")) == 1
    assert d.stop() == 0
    log = d.log()
    assert "Traceback" not in log, log[-3000:]
    assert "crashed" not in log


def test_an_outage_past_the_grace_engages_the_kill_switch(daemon_proc) -> None:  # type: ignore[no-untyped-def]
    """Started with the simulator not running (the shipped config without `arenad sim`)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    d = daemon_proc(config(port, grace_s=3))
    d.start()
    v = wait_for(lambda: (v := venue(d))["state"] == "waiting" and v, 20, what="waiting")
    assert "ConnectError" in v["reason"] or "websocket" in v["reason"], v

    def engaged() -> dict[str, Any] | None:
        ks = d.status()["kill_switch"]
        return ks if ks["engaged"] else None

    ks = wait_for(engaged, 30, interval=0.2, what="the kill switch after the grace")
    assert ks["by"] == "venue_outage" and "unreachable for" in ks["reason"]
    assert "grace 3s" in ks["reason"] and ks["persisted"] is True
    # Not before the grace had run out since the outage began.
    (waiting,) = events(d, "waiting for venue")
    assert parse_iso(ks["activated_at"]) - parse_iso(waiting["ts"]) >= timedelta(seconds=3)
    st = d.status()
    assert st["tasks"]["fade-ingest"]["restarts"] == 0 and st["trading_state"] == "HALTED"
    assert d.stop() == 0
    log = d.log()
    assert "Traceback" not in log and "crashed" not in log, log[-3000:]


@pytest.fixture
def manual_sim() -> Iterator[SimThread]:
    """The simulator with its market stopped: it moves only on `POST /_sim/step`, so nothing
    the bots do after the outage can heal a fade book by itself."""
    sim = SimThread(sim_settings(manual_ticks=True)).start()
    try:
        yield sim
    finally:
        sim.stop()


def test_fills_the_backfill_brings_in_during_a_hold_retarget_the_fade_books(  # type: ignore[no-untyped-def]
    manual_sim, daemon_proc
) -> None:
    """The bots trade while the venue is unreachable; their fills come in by the backfill
    while trading is still held (their decisions skipped). Once the hold is released every
    fade book is re-targeted from its bot's position — with the market stopped, no later
    fill would do it."""
    url = manual_sim.hyperliquid_url
    d = daemon_proc(config(int(url.rsplit(":", 1)[1]), grace_s=120))
    d.start()
    filled = "SELECT id FROM fade_orders WHERE status = 'filled'"

    def traded() -> bool:
        step(url, 20)
        return len(q(d.db_path, filled)) >= 3

    wait_for(traded, 60, interval=0.1, what="fade orders filled")
    wait_for(lambda: not off_target(url, d.db_path), 30, interval=0.2, what="books on target")
    before = bot_positions(url)
    httpx.post(
        f"{url}/_sim/faults",
        json={"http_error_rate": 1.0, "http_error_status": 503, "drop_rate": 1.0},
        timeout=10,
    ).raise_for_status()
    httpx.post(f"{url}/_sim/drop", timeout=10)
    wait_for(lambda: venue(d)["state"] == "waiting", 30, interval=0.2, what="waiting")
    step(url, 400)  # the bots trade while the venue is unreachable for the daemon
    httpx.post(
        f"{url}/_sim/faults", json={"http_error_rate": 0.0, "drop_rate": 0.0}, timeout=10
    ).raise_for_status()
    assert bot_positions(url) != before  # the outage moved the bots' positions
    wait_for(lambda: venue(d)["state"] == "up", 45, interval=0.2, what="the hold released")
    skipped = q(
        d.db_path,
        "SELECT count(*) n FROM fade_decisions WHERE skip_reason LIKE 'halted: waiting for venue%'",
    )
    assert skipped[0]["n"] > 0  # fills did come in while trading was held
    try:
        wait_for(lambda: not off_target(url, d.db_path), 30, interval=0.2, what="re-targeted")
    except AssertionError as e:
        raise AssertionError(f"{e}: {off_target(url, d.db_path)}") from None
    retargets = q(
        d.db_path, "SELECT count(*) n FROM fade_decisions WHERE reason LIKE '%re-target%'"
    )
    assert retargets[0]["n"] > 0
    st = d.status()
    assert st["kill_switch"]["engaged"] is False and st["venues"]["hyperliquid"]["outages"] == 1
    assert d.stop() == 0
    assert "Traceback" not in d.log()
