"""The fade store on a real database: the recorded mainnet userFills stored as bot events
without loss and exactly once however often they are delivered; the write-ahead order intent;
results, positions, round trips and the decision log; and seed 004's example queries."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fade_fakes import fill, settings

from arenad.fade.engine import FadeEngine, FillResult
from arenad.fade.settings import FadeBotSettings
from arenad.fade.store import FadeStore, NewFill, fill_key
from arenad.guards.trading import TradingState
from arenad.venues.hyperliquid.wire import parse_fills
from conftest import TEST_DATA

RECORDED = json.loads((TEST_DATA / "fade" / "info_userFills.json").read_text())
WALLET = RECORDED["request"]["user"]
NOW = datetime(2025, 10, 28, 12, tzinfo=UTC)


def rows(path: Any, sql: str, *args: Any) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as c:
        c.row_factory = sqlite3.Row
        return [dict(r) for r in c.execute(sql, args)]


async def ingest(
    fs: FadeStore, e: FadeEngine, bot_id: str, raws: list[dict[str, Any]], source: str
) -> int:
    """What the component does with an ingest batch: parse, drop the known, decide, store."""
    fills, errors = parse_fills(raws, WALLET)
    assert errors == []
    known = await fs.known_keys(WALLET, [fill_key(f) for f in fills])
    new = [f for f in fills if fill_key(f) not in known]
    new = list({fill_key(f): f for f in new}.values())
    decisions, plans = e.on_bot_fills(
        bot_id, new, marks={}, state=TradingState.HALTED, day_pnl=None, now_s=0
    )
    await fs.record_batch(
        [NewFill(bot_id, f, source) for f in new],
        decisions,
        plans,
        e,
        NOW,
        network="paper",
        simulated=True,
    )
    return len(new)


async def test_recorded_mainnet_fills_are_stored_without_loss_and_once(store: Any) -> None:
    st = settings(bots=[FadeBotSettings(id="whale", wallet=WALLET)])
    e = FadeEngine(st, sz_decimals={})
    fs = FadeStore(store.writer, store.path)
    await fs.register_books(st, NOW)
    raw = RECORDED["response"]
    assert await ingest(fs, e, "whale", raw[:300], "snapshot") == 300
    # Redelivered (a reconnect's backfill overlapping the snapshot), then the rest live.
    assert await ingest(fs, e, "whale", raw[200:], "backfill") == 200
    assert await ingest(fs, e, "whale", raw, "poll") == 0
    events = rows(store.path, "SELECT * FROM fade_bot_events ORDER BY id")
    assert len(events) == len(raw) == 500
    parsed, _ = parse_fills(raw, WALLET)
    by_key = {fill_key(f): r for f, r in zip(parsed, raw, strict=True)}
    assert len(by_key) == 500  # legacy fills have no tid: the key falls back to more fields
    for ev in events:
        r = by_key[ev["fill_key"]]
        assert json.loads(ev["raw"]) == r  # the message as received, every field
        assert (ev["price"], ev["size"], ev["previous_size"]) == (
            r["px"],
            r["sz"],
            r["startPosition"],
        )
        signed = Decimal(r["sz"]) * (1 if r["side"] == "B" else -1)
        assert Decimal(ev["current_size"]) == Decimal(r["startPosition"]) + signed
    # Every event has its decision (skips here: the kill switch is engaged).
    assert rows(store.path, "SELECT count(*) n FROM fade_decisions")[0]["n"] == 500
    assert (
        rows(store.path, "SELECT count(*) n FROM fade_decisions WHERE event_id IS NULL")[0]["n"]
        == 0
    )
    assert (
        rows(store.path, "SELECT count(*) n FROM decision_log WHERE source = 'fade'")[0]["n"] == 500
    )
    assert await fs.last_fill_ms(WALLET) == max(r["time"] for r in raw)


async def test_intent_before_send_result_after_and_the_seed_004_queries(store: Any) -> None:
    st = settings()
    e = FadeEngine(st, sz_decimals={"BTC": 3})
    fs = FadeStore(store.writer, store.path)
    await fs.register_books(st, NOW)
    t0 = int((NOW - timedelta(hours=2)).timestamp() * 1000)
    day: list[float] = []
    for i, (q, start, px) in enumerate([("1", "0", "100"), ("-1", "1", "110")]):
        f = fill("b1", "BTC", q, px, start, ms=t0 + i * 3_600_000)
        ds, ps = e.on_bot_fills(
            "b1", [f], marks={"BTC": Decimal(px)}, state=TradingState.ACTIVE, day_pnl=None, now_s=i
        )
        await fs.record_batch(
            [NewFill("b1", f, "live")], ds, ps, e, NOW, network="paper", simulated=True
        )
        (p,) = ps
        # The intent is committed before the order goes anywhere.
        (o,) = rows(store.path, "SELECT * FROM fade_orders WHERE cloid = ?", p.cloid)
        assert o["status"] == "intent" and o["decision_id"] == ds[0].id
        assert (await fs.open_intents())[-1]["cloid"] == p.cloid
        res = FillResult("filled", abs(p.size), Decimal(px), Decimal("0.05"), oid=7 + i)
        out = e.apply_fill(p, res, f.time_ms)
        await fs.record_result(p, res, out, e, NOW + timedelta(minutes=i))
        day.append(float(sum(out.realized.values()) - sum(out.fees.values())))
    assert await fs.open_intents() == []
    # The fade sold 1 at 100 and bought it back at 110: -10, less 0.10 in fees.
    (trip,) = rows(store.path, "SELECT * FROM trade_log WHERE source = 'fade'")
    assert (trip["book_id"], trip["direction"], trip["entry_price"], trip["exit_price"]) == (
        "fade:b1",
        "short",
        "100",
        "110",
    )
    assert trip["realized_pnl"] == -10.1 and trip["fees"] == 0.1
    pos = rows(store.path, "SELECT * FROM fade_positions WHERE coin = 'BTC' ORDER BY book_id")
    assert {p["book_id"]: Decimal(p["size"]) for p in pos} == {
        "account": 0,
        "bot:b1": 0,
        "fade:b1": 0,
    }
    executed = rows(
        store.path,
        "SELECT executed, execution_price FROM decision_log WHERE source = 'fade' ORDER BY id",
    )
    assert executed == [
        {"executed": 1, "execution_price": "100"},
        {"executed": 1, "execution_price": "110"},
    ]
    await fs.record_equity(e, {"BTC": Decimal(110)}, NOW)

    # Seed 004, "recent bot trades for a specific bot".
    recent = rows(
        store.path,
        "SELECT side, size, price FROM fade_bot_events WHERE bot_id = ? ORDER BY ts DESC LIMIT 50",
        "b1",
    )
    assert recent == [
        {"side": "sell", "size": "1", "price": "110"},
        {"side": "buy", "size": "1", "price": "100"},
    ]
    # "Our trades that mirror a bot".
    mine = rows(
        store.path,
        "SELECT side, size, avg_price, status FROM fade_orders WHERE "
        "bot_id = ? ORDER BY ts DESC, id DESC",
        "b1",
    )
    assert [(m["side"], Decimal(m["size"]), m["avg_price"], m["status"]) for m in mine] == [
        ("buy", 1, "110", "filled"),
        ("sell", 1, "100", "filled"),
    ]
    # "Daily P&L": realized net of fees since the day began.
    (pnl,) = rows(
        store.path,
        "SELECT sum(realized_pnl) - sum(CAST(fee AS REAL)) AS p FROM "
        "fade_orders WHERE ts >= ? AND realized_pnl IS NOT NULL",
        NOW.strftime("%Y-%m-%dT00:00:00"),
    )
    assert round(pnl["p"], 6) == round(sum(day), 6) == -10.1
    # "Equity curve, last 24 hours": the fade book's snapshot is capital + P&L.
    eq = rows(
        store.path,
        "SELECT book_id, equity FROM equity_snapshots WHERE ts >= ? ORDER BY ts",
        (NOW - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    assert {r["book_id"]: r["equity"] for r in eq}["fade:b1"] == 10_000 - 10.1
    # "Is the kill switch active".
    assert rows(store.path, "SELECT kill_switch FROM system_status LIMIT 1") in (
        [],
        [{"kill_switch": 0}],
    )


async def test_positions_and_pauses_survive_a_restart(store: Any) -> None:
    st = settings()
    e = FadeEngine(st, sz_decimals={"BTC": 3})
    fs = FadeStore(store.writer, store.path)
    f = fill("b1", "BTC", "2", "100", "0")
    ds, (p,) = e.on_bot_fills("b1", [f], marks={}, state=TradingState.ACTIVE, day_pnl=None, now_s=0)
    await fs.record_batch(
        [NewFill("b1", f, "live")], ds, [p], e, NOW, network="paper", simulated=True
    )
    res = FillResult("filled", Decimal(1), Decimal(100))  # half: the target heals later
    await fs.record_result(p, res, e.apply_fill(p, res, 1), e, NOW)
    await fs.set_paused("b2", True, "operator", NOW)
    again = FadeEngine(st, sz_decimals={"BTC": 3})
    await fs.load_into(again)
    assert again.fades["b1"].size("BTC") == Decimal(-1) == again.account.size("BTC")
    assert again.bots["b1"].size("BTC") == Decimal(2) and again.paused == {"b2"}
    (d,), _ = again.on_bot_fills(
        "b1",
        [fill("b1", "BTC", "0.5", "100", "2")],
        marks={},
        state=TradingState.ACTIVE,
        day_pnl=None,
        now_s=0,
    )
    assert d.order_size == Decimal("-1.5")  # heals the missing 1 and follows the new 0.5


async def test_a_repeated_fill_id_links_the_stored_event_and_never_writes_a_second_order(
    store: Any,
) -> None:
    """A venue that repeats a fill's hash:tid (a restarted simulator did) slipping past the
    known-key check: the stored event is linked (no stale lastrowid, no FOREIGN KEY failure),
    and the plan whose cloid is already stored is reported, not written again."""
    st = settings()
    e = FadeEngine(st, sz_decimals={"BTC": 3})
    fs = FadeStore(store.writer, store.path)
    await fs.register_books(st, NOW)
    t0 = int((NOW - timedelta(hours=2)).timestamp() * 1000)
    f = fill("b1", "BTC", "1", "100", "0", ms=t0)
    ds, ps = e.on_bot_fills(
        "b1", [f], marks={"BTC": Decimal(100)}, state=TradingState.ACTIVE, day_pnl=None, now_s=0
    )
    first = await fs.record_batch(
        [NewFill("b1", f, "live")], ds, ps, e, NOW, network="paper", simulated=True
    )
    assert first.repeated_cloids == set() and first.repeated_keys == []
    # Something else is written in between, so a stale lastrowid would point elsewhere.
    other = fill("b1", "BTC", "1", "101", "1", ms=t0 + 1000)
    ds2, ps2 = e.on_bot_fills(
        "b1", [other], marks={"BTC": Decimal(101)}, state=TradingState.ACTIVE, day_pnl=None, now_s=1
    )
    await fs.record_batch(
        [NewFill("b1", other, "live")], ds2, ps2, e, NOW, network="paper", simulated=True
    )
    # The first fill again, as a live fill newer than anything stored would be.
    ds3, ps3 = e.on_bot_fills(
        "b1", [f], marks={"BTC": Decimal(100)}, state=TradingState.ACTIVE, day_pnl=None, now_s=2
    )
    assert [p.cloid for p in ps3] == [p.cloid for p in ps]  # same cause, same cloid
    again = await fs.record_batch(
        [NewFill("b1", f, "live")], ds3, ps3, e, NOW, network="paper", simulated=True
    )
    assert again.repeated_cloids == {ps[0].cloid}
    assert again.repeated_keys == [fill_key(f)]
    orders = rows(store.path, "SELECT * FROM fade_orders ORDER BY id")
    assert [o["cloid"] for o in orders] == [ps[0].cloid, ps2[0].cloid]  # no second order
    links = rows(store.path, "SELECT order_id FROM fade_order_books ORDER BY order_id")
    assert [r["order_id"] for r in links] == [orders[0]["id"], orders[1]["id"]]
    (ev,) = rows(store.path, "SELECT id FROM fade_bot_events WHERE fill_key = ?", fill_key(f))
    assert ds3[0].event_id == ev["id"]  # the stored row, not a stale one
