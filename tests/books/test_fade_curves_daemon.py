"""A real `arenad run` fading simulator bots (issue #13): every fade book has a live curve —
a point at start-up, points on fills (at most one per `min_snapshot_interval_s`), one at
shutdown — while the periodic snapshot is still 300 s away; the ingest's `delivered` counters
count; `last_order_time` follows the fade's fills; after shutdown no venue is said to be
connected; `arenad audit` is ok."""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from datetime import datetime
from typing import Any

import pytest

from arenad.sim.hyperliquid.bots import bot_address
from conftest import wait_for

pytestmark = pytest.mark.slow

BOTS = ["gpt-5", "grok-4", "qwen3-max"]
MIN_INTERVAL_S = 1


def config(port: int) -> str:
    bots = "".join(f'[[fade.bots]]\nid = "{b}"\nwallet = "{bot_address(42, b)}"\n\n' for b in BOTS)
    return f"""\
[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"
config_poll_interval_s = 0.1

[sim]
host = "127.0.0.1"
hyperliquid_port = {port}

[metrics]
min_snapshot_interval_s = {MIN_INTERVAL_S}

[fade]
snapshot_interval_s = 300
max_orders_per_minute = 600
clearinghouse_check_interval_s = 5
global_exposure_cap_usd = 1000000
default_asset_cap_usd = 1000000

{bots}"""


def q(path: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    try:
        with sqlite3.connect(path) as c:
            return list(c.execute(sql, args))
    except sqlite3.OperationalError:
        return []


def epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def points(db: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {f"fade:{b}": [] for b in BOTS}
    for book, ts in q(
        db, "SELECT book_id, ts FROM equity_snapshots WHERE book_id LIKE 'fade:%' ORDER BY ts"
    ):
        out.setdefault(book, []).append(ts)
    return out


def test_fade_books_have_live_curves_and_status_tells_the_truth(
    sim_thread: Any, daemon_proc: Any
) -> None:
    port = int(sim_thread.hyperliquid_url.rsplit(":", 1)[1])
    d = daemon_proc(config(port))
    d.start()
    try:
        curves = wait_for(
            lambda: (p := points(d.db_path)) and all(len(v) >= 5 for v in p.values()) and p,
            60,
            interval=0.2,
            what="five equity points for every fade book",
        )
    except AssertionError as e:
        raise AssertionError(f"{e}: {points(d.db_path)}\n{d.log()[-3000:]}") from None
    # Coalesced: never two points of a book closer than the interval (forced ones aside:
    # the first is the start-up point).
    for book, ts in curves.items():
        gaps = [epoch(b) - epoch(a) for a, b in itertools.pairwise(ts[1:])]
        assert all(g >= MIN_INTERVAL_S - 0.01 for g in gaps), (book, gaps)
    st = wait_for(
        lambda: (
            (s := d.status())["connections"]["hyperliquid"].get("delivered", {}).get("live", 0)
            + s["connections"]["hyperliquid"].get("delivered", {}).get("snapshot", 0)
            > 0
            and s
        ),
        30,
        interval=0.3,
        what="the ingest's delivered counters in status",
    )
    assert st["connections"]["hyperliquid"]["connected"] is True
    (last_fill,) = q(d.db_path, "SELECT max(updated_at) FROM fade_orders WHERE status = 'filled'")
    assert last_fill[0] is not None
    assert st["last_order_time"] is not None
    stopping = time.time()
    assert d.stop() == 0
    # The shutdown point: every fade book's newest point is from the shutdown.
    for book, ts in points(d.db_path).items():
        assert epoch(ts[-1]) >= stopping - 0.5, (book, ts[-1])
    ((hl, conns, last_order),) = q(
        d.db_path, "SELECT hyperliquid_connected, connections, last_order_time FROM system_status"
    )
    assert hl == 0
    assert all(not c["connected"] for c in json.loads(conns).values())
    assert last_order is not None and epoch(last_order) >= epoch(last_fill[0]) - 1
    d.audit()
