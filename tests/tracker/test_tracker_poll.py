"""The poller against the recorded snapshot served on loopback: what lands in the database is
checked against figures computed here from the served JSON; re-polling adds nothing; every
failure mode is an event plus backoff, never a crash."""

from __future__ import annotations

import contextlib
import json
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from tracker_fixtures import FakeNof1, Rig, db_rows, load, nof1_fixture, rig_fixture  # noqa: F401

from arenad.store.db import open_reader
from arenad.tracker.poller import MARKER_KEY
from arenad.tracker.store import get_state


def tracker_events(rig: Rig) -> list[dict[str, Any]]:
    return [
        {"level": r[0], "message": r[1], **json.loads(r[2])}
        for r in db_rows(
            rig.db,
            "SELECT level, message, details FROM system_events"
            " WHERE category = 'tracker' ORDER BY id",
        )
    ]


async def test_ingest_matches_the_served_json(rig: Rig, nof1: FakeNof1) -> None:
    result = await rig.poller.poll_once()
    await rig.writer.flush()
    assert result.failures == []
    assert sorted(result.ok) == sorted(
        [
            "leaderboard",
            "trades",
            "account-totals",
            "since-inception-values",
            "conversations",
            "analytics",
            "crypto-prices",
        ]
    )

    trades = load("trades")["trades"]
    per_model = Counter(t["model_id"] for t in trades)
    net: dict[str, Decimal] = defaultdict(Decimal)
    for t in trades:
        net[t["model_id"]] += t["realized_net_pnl"]
    assert len(per_model) == 6 and sum(per_model.values()) == 253

    # trades per model, in the tracker's own table and in the books' trade_log
    got = dict(db_rows(rig.db, "SELECT model_id, count(*) FROM nof1_trades GROUP BY model_id"))
    assert got == dict(per_model)
    book_of = dict(db_rows(rig.db, "SELECT model_id, book_id FROM nof1_models"))
    got = dict(
        db_rows(
            rig.db, "SELECT book_id, count(*) FROM trade_log WHERE source = 'nof1' GROUP BY book_id"
        )
    )
    assert got == {book_of[m]: n for m, n in per_model.items()}
    assert book_of["gpt-5"] == "bot:nof1-gpt-5"
    assert book_of["buynhold_btc"] == "benchmark:nof1-buynhold_btc"

    # realized net P&L per model: exact over the TEXT column, and the REAL trade_log sum
    for model, total in net.items():
        texts = db_rows(
            rig.db, "SELECT realized_net_pnl FROM nof1_trades WHERE model_id = ?", model
        )
        assert sum(Decimal(t[0]) for t in texts) == total, model
        (logged,) = db_rows(
            rig.db, "SELECT sum(realized_pnl) FROM trade_log WHERE book_id = ?", book_of[model]
        )[0]
        assert abs(logged - float(total)) < 1e-6, model
    # ... which is also what the site's own analytics say, for every model whose whole history
    # /trades returned (it returns at most 100 per model: gemini had 174)
    for a in load("analytics")["analytics"]:
        m = a["model_id"]
        theirs = a["fee_pnl_moves_breakdown_table"]["overall_pnl_with_fees"]
        if a["overall_trades_overview_table"]["total_trades"] == per_model[m]:
            assert abs(float(net[m]) - float(theirs)) < 1e-6, m
        else:
            assert per_model[m] == 100 and m == "gemini-2.5-pro"

    # exact decimals survive: prices and sizes are the API's digits
    t0 = trades[0]
    (row,) = db_rows(
        rig.db,
        "SELECT entry_price, exit_price, quantity, total_commission, raw"
        " FROM nof1_trades WHERE trade_id = ?",
        t0["trade_id"],
    )
    assert [Decimal(x) for x in row[:4]] == [
        t0["entry_price"],
        t0["exit_price"],
        t0["quantity"],
        t0["total_commission_dollars"],
    ]
    assert json.loads(row[4], parse_float=Decimal) == t0

    # chats and their per-coin decisions
    convs = load("conversations")["conversations"]
    decisions = [
        (c["id"], coin)
        for c in convs
        for coin, v in c["llm_response"].items()
        if isinstance(v, dict)
    ]
    assert db_rows(rig.db, "SELECT count(*) FROM nof1_chats")[0][0] == len(convs)
    assert db_rows(rig.db, "SELECT count(*) FROM nof1_chat_decisions")[0][0] == len(decisions)
    assert db_rows(rig.db, "SELECT count(*) FROM decision_log WHERE source = 'nof1'")[0][0] == len(
        decisions
    )
    signals = Counter(
        v["signal"] for c in convs for v in c["llm_response"].values() if isinstance(v, dict)
    )
    got = dict(db_rows(rig.db, "SELECT decision, count(*) FROM decision_log GROUP BY decision"))
    assert got == {
        {"buy_to_enter": "buy", "close_position": "close"}.get(k, k): n for k, n in signals.items()
    }
    assert db_rows(rig.db, "SELECT min(confidence) >= 0, max(confidence) <= 1 FROM decision_log")[
        0
    ] == (1, 1)

    # equity: inception NAV, two account-totals points, and the leaderboard point (poll time)
    lb = {r["id"]: r["equity"] for r in load("leaderboard")["leaderboard"]}
    for model, equity in lb.items():
        curve = db_rows(
            rig.db,
            "SELECT ts, equity FROM equity_snapshots WHERE book_id = ? ORDER BY ts",
            book_of[model],
        )
        assert curve[0][1] == 10000.0
        assert curve[0][0].startswith("2025-10-17T")
        assert curve[-1][1] == float(equity)
        assert len(curve) == 4
    # account totals and their positions
    totals = load("account-totals")["accountTotals"]
    assert db_rows(rig.db, "SELECT count(*) FROM nof1_account_totals")[0][0] == len(totals)
    assert db_rows(rig.db, "SELECT count(*) FROM nof1_positions")[0][0] == sum(
        len(t["positions"]) for t in totals
    )
    # books exist for every model, season 1 started at the earliest inception
    assert db_rows(rig.db, "SELECT count(*) FROM books WHERE venue = 'nof1'")[0][0] == 7
    (season,) = db_rows(rig.db, "SELECT season_number, start_date, status FROM nof1_seasons")
    assert season == (1, "2025-10-17T22:00:09.834185Z", "active")
    assert rig.dirty == [{"reload": True}]
    assert rig.connection[-1][0] is True


async def test_repolling_adds_nothing_and_resumes_at_the_marker(rig: Rig, nof1: FakeNof1) -> None:
    await rig.poller.poll_once()
    await rig.writer.flush()
    tables = [
        "nof1_trades",
        "nof1_chats",
        "nof1_chat_decisions",
        "nof1_account_totals",
        "nof1_positions",
        "nof1_since_inception",
        "nof1_analytics",
        "nof1_crypto_prices",
        "nof1_models",
        "books",
        "trade_log",
        "decision_log",
        "equity_snapshots",
        "nof1_leaderboard_snapshots",
    ]

    def counts() -> dict[str, int]:
        return {t: db_rows(rig.db, f"SELECT count(*) FROM {t}")[0][0] for t in tables}  # noqa: S608

    first = counts()
    assert nof1.requests[2] == ("account-totals", {})

    # a new poller (a restart) resumes account totals at the stored marker
    rig.poller = rig.new_poller()
    result = await rig.poller.poll_once()
    await rig.writer.flush()
    assert all(not r.inserted for ep, r in result.reports.items() if ep != "leaderboard"), {
        ep: r.inserted for ep, r in result.reports.items()
    }
    after = counts()
    # the leaderboard is a time series: a new poll is a new snapshot, everything else repeats
    assert after["nof1_leaderboard_snapshots"] == first["nof1_leaderboard_snapshots"] + 6
    assert after["equity_snapshots"] == first["equity_snapshots"] + 6
    for t in tables:
        if t not in ("nof1_leaderboard_snapshots", "equity_snapshots"):
            assert after[t] == first[t], t
    at = [q for ep, q in nof1.requests if ep == "account-totals"]
    assert at == [{}, {"lastHourlyMarker": "249"}]
    async with open_reader(rig.db) as conn:
        assert await get_state(conn, MARKER_KEY) == "249"


async def test_schema_drift_keeps_unknown_fields_and_skips_bad_rows(
    rig: Rig, nof1: FakeNof1
) -> None:
    doc = load_raw()

    def mutate() -> None:
        t = doc["trades"]
        t[0]["brand_new_field"] = {"nested": [1, 2]}
        t[1]["entry_price"] = "1,172.4"  # wrong type: a string
        t[2]["quantity"] = None  # required field null
        t[3]["side"] = "sideways"

    mutate()
    nof1.bodies["trades"] = json.dumps(doc).encode()
    result = await rig.poller.poll_once()
    await rig.writer.flush()
    assert "trades" in result.ok
    assert db_rows(rig.db, "SELECT count(*) FROM nof1_trades")[0][0] == 253 - 3
    (raw,) = db_rows(
        rig.db, "SELECT raw FROM nof1_trades WHERE trade_id = ?", doc["trades"][0]["trade_id"]
    )[0]
    assert json.loads(raw)["brand_new_field"] == {"nested": [1, 2]}
    errors = [e for e in tracker_events(rig) if e.get("endpoint") == "trades"]
    assert [(e["row_id"], e["field"]) for e in errors] == [
        (doc["trades"][1]["trade_id"], "entry_price"),
        (doc["trades"][2]["trade_id"], "quantity"),
        (doc["trades"][3]["trade_id"], "side"),
    ]
    assert all(e["level"] == "error" for e in errors)
    assert "entry_price" in errors[0]["message"] and "/trades" in errors[0]["message"]
    assert "string" in errors[0]["reason"]


def load_raw() -> Any:
    from tracker_fixtures import SNAP

    return json.loads((SNAP / "trades.json").read_text())


async def test_a_bad_coin_decision_skips_only_that_decision(rig: Rig, nof1: FakeNof1) -> None:
    from tracker_fixtures import SNAP

    doc = json.loads((SNAP / "conversations.json").read_text())
    chat = next(c for c in doc["conversations"] if len(c["llm_response"]) == 6)
    chat["llm_response"]["BTC"]["confidence"] = "high"
    nof1.bodies["conversations"] = json.dumps(doc).encode()
    await rig.poller.poll_once()
    await rig.writer.flush()
    coins = db_rows(rig.db, "SELECT coin FROM nof1_chat_decisions WHERE chat_id = ?", chat["id"])
    assert sorted(c[0] for c in coins) == ["BNB", "DOGE", "ETH", "SOL", "XRP"]
    (e,) = [e for e in tracker_events(rig) if e.get("endpoint") == "conversations"]
    assert (e["row_id"], e["field"]) == (f"{chat['id']}:BTC", "llm_response.BTC.confidence")


async def test_failures_are_events_and_the_poller_backs_off(rig: Rig, nof1: FakeNof1) -> None:
    nof1.faults.update(
        {
            "positions": "gone",
            "trades": "gone",
            "leaderboard": "5xx",
            "conversations": "hang",
            "analytics": "html",
        }
    )
    result = await rig.poller.poll_once()
    await rig.writer.flush()
    kinds = {f.endpoint: f.kind for f in result.failures}
    assert kinds == {
        "trades": "gone",
        "leaderboard": "server_error",
        "conversations": "timeout",
        "analytics": "not_json",
    }
    # the rest of the round went on
    assert sorted(result.ok) == ["account-totals", "crypto-prices", "since-inception-values"]
    assert db_rows(rig.db, "SELECT count(*) FROM nof1_crypto_prices")[0][0] == 6
    events = {e["endpoint"]: e for e in tracker_events(rig)}
    assert "410 Gone" in events["trades"]["message"] and events["trades"]["level"] == "error"
    assert events["leaderboard"]["status"] == 502 and events["leaderboard"]["level"] == "warning"
    assert events["conversations"]["kind"] == "timeout"
    assert events["analytics"]["kind"] == "not_json"
    assert "not JSON" in events["analytics"]["message"]
    assert rig.connection[-1][0] is True  # the site answered, if badly
    # backoff: the wait grows with failing rounds, capped, and never below the interval
    d1 = rig.poller.next_delay(result)
    assert 10.0 <= d1 <= 20.0
    await rig.poller.poll_once()
    assert nof1.count("trades") == 1  # gone: not asked again
    d2 = rig.poller.next_delay(result)
    assert 20.0 <= d2 <= 40.0
    for _ in range(3):
        result = await rig.poller.poll_once()
    assert 40.0 <= rig.poller.next_delay(result) <= 80.0
    # a clean round resets the wait
    nof1.faults.clear()
    nof1.release.set()
    result = await rig.poller.poll_once()
    assert result.failures == [] and rig.poller.next_delay(result) == 10.0


async def test_rate_limit_waits_at_least_retry_after(rig: Rig, nof1: FakeNof1) -> None:
    nof1.faults["trades"] = "429"
    result = await rig.poller.poll_once()
    assert [f.kind for f in result.failures] == ["rate_limited"]
    assert rig.poller.next_delay(result) == 300.0


async def test_unreachable_api_is_an_event_not_a_crash(rig: Rig, nof1: FakeNof1) -> None:
    await nof1.stop()
    result = await rig.poller.poll_once()
    await rig.writer.flush()
    assert {f.kind for f in result.failures} == {"unreachable"}
    assert len(result.failures) == 7
    assert rig.connection[-1][0] is False
    assert len(tracker_events(rig)) == 7


async def test_values_sqlite_cannot_hold_are_skipped_or_kept_not_crashing(
    rig: Rig, nof1: FakeNof1
) -> None:
    doc = load_raw()
    doc["trades"][0]["entry_oid"] = 10**20  # beyond SQLite INTEGER
    doc["trades"][1]["symbol"] = "BTC\ud800"  # a lone surrogate (a \\ud800 escape on the wire)
    doc["trades"][2]["entry_time"] = 1e300  # not a time
    nof1.bodies["trades"] = json.dumps(doc).encode()  # ASCII-escaped, as a server would send
    result = await rig.poller.poll_once()
    await rig.writer.flush()
    assert "trades" in result.ok
    assert db_rows(rig.db, "SELECT count(*) FROM nof1_trades")[0][0] == 253 - 2
    fields = {(e["row_id"], e["field"]) for e in tracker_events(rig) if "row_id" in e}
    assert fields == {
        (doc["trades"][0]["trade_id"], "entry_oid"),
        (doc["trades"][2]["trade_id"], "entry_time"),
    }
    (sym, raw) = db_rows(
        rig.db,
        "SELECT symbol, raw FROM nof1_trades WHERE trade_id = ?",
        doc["trades"][1]["trade_id"],
    )[0]
    assert sym == "BTC\ufffd" and json.loads(raw)["symbol"] == "BTC\ud800"


async def test_a_refused_write_fails_that_endpoint_only(rig: Rig, nof1: FakeNof1) -> None:
    import sqlite3

    with sqlite3.connect(rig.db) as conn:  # the database itself refuses analytics rows
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON nof1_analytics"
            " BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
        )
    result = await rig.poller.poll_once()
    await rig.writer.flush()
    assert [(f.endpoint, f.kind) for f in result.failures] == [("analytics", "store_error")]
    assert len(result.ok) == 6
    assert db_rows(rig.db, "SELECT count(*) FROM nof1_analytics")[0][0] == 0
    assert db_rows(rig.db, "SELECT count(*) FROM nof1_trades")[0][0] == 253
    (e,) = [e for e in tracker_events(rig) if e.get("kind") == "store_error"]
    assert e["level"] == "error" and "disk says no" in e["message"]


async def test_the_polling_loop_sleeps_longer_after_failures(rig: Rig, nof1: FakeNof1) -> None:
    import asyncio

    from arenad.clock import FakeClock

    clock = FakeClock()
    poller = rig.new_poller()
    poller.clock = clock
    task = asyncio.create_task(poller.run())

    async def next_sleep(rounds: int) -> float:
        deadline = asyncio.get_running_loop().time() + 20
        while not (poller.rounds == rounds and clock.sleepers == 1):
            assert not task.done(), task
            assert asyncio.get_running_loop().time() < deadline, "the loop did not go to sleep"
            await asyncio.sleep(0.01)
        assert poller.last_delay is not None
        return poller.last_delay

    try:
        nof1.faults.update({ep: "5xx" for ep in ("leaderboard", "trades", "analytics")})
        first = await next_sleep(1)
        assert 10.0 <= first <= 20.0
        clock.advance(first)
        second = await next_sleep(2)
        assert 20.0 <= second <= 40.0
        clock.advance(second)
        assert 40.0 <= await next_sleep(3) <= 80.0
        nof1.faults.clear()
        clock.advance(80.0)
        assert await next_sleep(4) == 10.0  # a clean round: back to the interval
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_unchanged_big_bodies_cost_a_304(rig: Rig, nof1: FakeNof1) -> None:
    nof1.etag_endpoints = {"conversations", "trades", "leaderboard"}
    await rig.poller.poll_once()
    result = await rig.poller.poll_once()
    await rig.writer.flush()
    assert result.failures == [] and len(result.ok) == 7
    assert len(nof1.requests) == 14
    assert nof1.not_modified == ["trades", "conversations"]
    # conversations and trades were asked with the ETag and not sent again; the leaderboard
    # is always read (each poll is a point of the curves)
    assert db_rows(rig.db, "SELECT count(*) FROM nof1_leaderboard_snapshots")[0][0] == 12
    assert rig.poller.etags.keys() == {"conversations", "trades"}
    assert db_rows(rig.db, "SELECT count(*) FROM nof1_trades")[0][0] == 253
