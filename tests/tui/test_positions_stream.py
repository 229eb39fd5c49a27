"""The dashboard's "Live positions" follows the daemon's `position` topic (issue #13).

A real `arenad run` subprocess fades a simulator bot and runs an arena baseline against the
simulator's Alpaca; the TUI attached to its socket must show each new position within 2 s of
the fill that opened it, and drop a closed one within 2 s of the closing fill — from the
stream alone (the TUI is started with no periodic refresh)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import datetime
from typing import Any

import pytest
from tui_fakes import wait_until

from arenad.control.client import ControlClient
from arenad.sim.hyperliquid.bots import bot_address
from arenad.tui import format as fmt
from arenad.tui.app import create_app
from arenad.tui.screens.confirm import ConfirmScreen
from arenad.tui.widgets.positions_table import PositionsTable
from fixtures_sim import poll_until

pytestmark = pytest.mark.slow

LATENCY_S = 2.0
BOT = "gpt-5"
FADE_BOOK = f"fade:{BOT}"
ARENA_BOOK = "arena:buy-and-hold"


def config(hl_port: int, alpaca_port: int) -> str:
    return f"""\
[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"
config_poll_interval_s = 0.1

[sim]
host = "127.0.0.1"
hyperliquid_port = {hl_port}
alpaca_port = {alpaca_port}

[fade]
clearinghouse_check_interval_s = 5
global_exposure_cap_usd = 1000000
default_asset_cap_usd = 1000000

[[fade.bots]]
id = "{BOT}"
wallet = "{bot_address(42, BOT)}"

[arena]
run_deadline_s = 30
upkeep_interval_s = 0.5

[arena.schedule]
kind = "weekly"
weekday = "sun"
at = "03:00"
market_days_only = false
missed_slot = "skip"

[arena.rails]
allowed_symbols = ["AAPL"]

[[arena.models]]
id = "buy-and-hold"
provider = "baseline"
[arena.models.baseline]
kind = "buy_and_hold"
position_fraction = 0.05
"""


def q(path: Any, sql: str, *args: Any) -> list[dict[str, Any]]:
    try:
        with sqlite3.connect(path) as c:
            c.row_factory = sqlite3.Row
            return [dict(r) for r in c.execute(sql, args)]
    except sqlite3.OperationalError:
        return []


def epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def rows(app: Any) -> dict[tuple[str, str], str]:
    """What the dashboard's positions table shows: (book, symbol) → size cell."""
    table = app.screen.query_one(PositionsTable)
    out = {}
    for key in table.rows:
        book, _, symbol = str(key.value).partition("|")
        out[(book, symbol)] = str(table.get_row(key)[2])
    return out


def fade_open(db: Any) -> dict[str, str]:
    return {
        r["coin"]: r["size"]
        for r in q(db, "SELECT coin, size FROM fade_positions WHERE book_id = ?", FADE_BOOK)
        if float(r["size"]) != 0
    }


async def quiet(db: Any) -> None:
    """No fade order is between its intent and its result."""
    await poll_until(
        lambda: not q(db, "SELECT 1 FROM fade_orders WHERE status = 'intent'"),
        timeout=30,
        what="no fade order in flight",
    )


async def test_positions_appear_and_close_from_the_stream(
    sim_thread: Any, daemon_proc: Any
) -> None:
    hl = int(sim_thread.hyperliquid_url.rsplit(":", 1)[1])
    al = int(str(sim_thread.alpaca_url).rsplit(":", 1)[1])
    d = daemon_proc(config(hl, al))
    await asyncio.to_thread(d.start)
    c = await ControlClient(d.socket_path).connect()
    try:
        # Start flat: the bot paused, whatever the fade opened before that closed.
        await c.request("fade.pause", bot_id=BOT)
        await quiet(d.db_path)
        for coin in fade_open(d.db_path):
            await c.request("position.close", book_id=FADE_BOOK, symbol=coin)
        await poll_until(lambda: not fade_open(d.db_path), timeout=30, what="fade book flat")

        app = create_app(lambda: ControlClient(d.socket_path), refresh_s=None)
        async with app.run_test(size=(140, 40)) as pilot:
            await wait_until(pilot, lambda: app.state.connection.state == "connected", timeout=30)
            assert not [k for k in rows(app) if k[0] == FADE_BOOK]

            # 1. The fade opens positions again: the first shows within 2 s of its fill.
            (last,) = q(d.db_path, "SELECT coalesce(max(id), 0) AS id FROM fade_orders")
            await c.request("fade.resume", bot_id=BOT)
            shown = await wait_until(
                pilot,
                lambda: [k[1] for k in rows(app) if k[0] == FADE_BOOK],
                timeout=60,
                what="a fade position in the table",
            )
            seen = time.time()
            await c.request("fade.pause", bot_id=BOT)
            opened = q(
                d.db_path,
                "SELECT min(updated_at) AS at FROM fade_orders WHERE id > ? AND coin = ?"
                " AND status = 'filled'",
                last["id"],
                shown[0],
            )[0]["at"]
            assert seen - epoch(opened) < LATENCY_S, (
                f"fade position shown {seen - epoch(opened):.2f} s after its fill"
            )
            # Once the bot is paused, the table holds exactly the book's positions (sizes
            # too) within 2 s of the last fill.
            await quiet(d.db_path)
            want = fade_open(d.db_path)
            await wait_until(
                pilot,
                lambda: (
                    {k[1]: v for k, v in rows(app).items() if k[0] == FADE_BOOK}
                    == {coin: _cell(size) for coin, size in want.items()}
                ),
                timeout=LATENCY_S,
                what=f"the fade book's positions {want} in the table",
            )

            # 2. `x` on a fade row closes it; the row goes within 2 s of the closing fill.
            coin = sorted(want)[0]
            table = app.screen.query_one(PositionsTable)
            table.focus()
            table.move_cursor(row=table.get_row_index(f"{FADE_BOOK}|{coin}"))
            await pilot.press("x")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_until(
                pilot,
                lambda: (FADE_BOOK, coin) not in rows(app),
                timeout=30,
                what="the closed fade row dropped",
            )
            gone = time.time()
            (close,) = q(
                d.db_path,
                "SELECT updated_at FROM fade_orders WHERE reduce_only = 1 AND coin = ?"
                " ORDER BY id DESC LIMIT 1",
                coin,
            )
            assert gone - epoch(close["updated_at"]) < LATENCY_S, (
                f"closed fade row dropped {gone - epoch(close['updated_at']):.2f} s after"
            )
            assert coin not in fade_open(d.db_path)

            # 3. The arena's baseline buys: its row shows within 2 s of the fill.
            await c.request("arena.run_now")
            await wait_until(
                pilot,
                lambda: (ARENA_BOOK, "AAPL") in rows(app),
                timeout=60,
                what="the arena position in the table",
            )
            seen = time.time()
            (order,) = q(
                d.db_path,
                "SELECT updated_at FROM arena_orders WHERE model_id = 'buy-and-hold'"
                " AND status = 'filled'",
            )
            assert seen - epoch(order["updated_at"]) < LATENCY_S
            led = q(
                d.db_path,
                "SELECT qty FROM arena_positions WHERE book_id = ? AND symbol = 'AAPL'",
                ARENA_BOOK,
            )
            assert rows(app)[(ARENA_BOOK, "AAPL")] == _cell(led[0]["qty"])

            # 4. Closed through the daemon: the row goes within 2 s of the closing fill.
            await c.request("position.close", book_id=ARENA_BOOK, symbol="AAPL")
            await wait_until(
                pilot,
                lambda: (ARENA_BOOK, "AAPL") not in rows(app),
                timeout=30,
                what="the closed arena row dropped",
            )
            gone = time.time()
            exits = q(
                d.db_path,
                "SELECT updated_at FROM arena_orders WHERE purpose = 'exit' AND status = 'filled'",
            )
            assert exits, "the arena exit filled"
            assert gone - epoch(exits[-1]["updated_at"]) < LATENCY_S
    finally:
        await c.close()
    assert await asyncio.to_thread(d.stop) == 0


def _cell(size: str) -> str:
    return str(fmt.dec(size))
