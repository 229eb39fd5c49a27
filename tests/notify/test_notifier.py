"""The notifier at the component level: real apprise channels to a loopback receiver, a real
database and event log, and a FakeClock stepped by hand (issue 17)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from notify_receiver import Receiver, receiver_fixture  # type: ignore[import-not-found]  # noqa: F401

from arenad.clock import FakeClock
from arenad.daemon.bus import Bus
from arenad.daemon.events import EventLog
from arenad.daemon.supervisor import Supervisor
from arenad.guards.trading import TradingGuard, TradingState
from arenad.logs import Redactor
from arenad.notify.channel import AppriseChannel
from arenad.notify.mapping import classify
from arenad.notify.service import Notifier, Sender
from arenad.notify.settings import NotifySettings
from arenad.notify.urls import secrets_of
from arenad.store.db import utc_iso
from fixtures_sim import poll_until

TOKEN = "S3CRETt0ken-abc123"  # noqa: S105 - the test URL's fake credential


class Rig:
    def __init__(self, store: Any, clock: FakeClock, urls: list[str], **settings: Any) -> None:
        self.settings = NotifySettings.model_validate({"daily_summary_at": ""} | settings)
        self.bus = Bus()
        self.events = EventLog(
            store.writer, self.bus, clock, redactor=Redactor(secrets_of(" ".join(urls)))
        )
        self.guard = TradingGuard(store.writer, self.events, bus=self.bus, clock=clock)
        self.clock = clock
        self.store = store
        senders: list[Sender] = [AppriseChannel(u, self.settings.timeout_s) for u in urls]
        self.notifier = Notifier(
            lambda: self.settings,
            senders,
            self.events,
            clock,
            store.path,
            redactor=Redactor(secrets_of(" ".join(urls))),
            writer_stats=lambda: (
                store.writer.stats.committed_items,
                store.writer.stats.failed_items,
                store.writer.running,
            ),
            guard_snapshot=self.guard.snapshot,
        )
        self.tasks: list[asyncio.Task[None]] = []
        self.sub = self.bus.subscribe(["system_event"])

    async def start(self) -> None:
        await self.notifier.prepare()
        self.tasks.append(asyncio.create_task(self.notifier.run_events(self.sub)))
        for ch in self.notifier.channels:
            self.tasks.append(asyncio.create_task(self.notifier.run_channel(ch)))

    async def handled(self, n: int) -> None:
        """Wait until the notifier has taken ``n`` events off the bus (since the start)."""
        await poll_until(lambda: self.notifier.handled >= n, what=f"{n} events handled")

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.notifier.close()

    async def idle(self) -> None:
        await poll_until(lambda: all(ch.idle for ch in self.notifier.channels), what="idle")

    def event_rows(self, category: str) -> list[tuple[str, str, str]]:
        conn = sqlite3.connect(self.store.path)
        try:
            return conn.execute(
                "SELECT level, message, details FROM system_events WHERE category = ?",
                (category,),
            ).fetchall()
        finally:
            conn.close()


@pytest.fixture
async def rig(store: Any) -> AsyncIterator[Callable[..., Any]]:
    made: list[Rig] = []

    async def make(urls: list[str], clock: FakeClock | None = None, **settings: Any) -> Rig:
        r = Rig(
            store, clock or FakeClock(datetime(2026, 12, 2, 12, 0, tzinfo=UTC)), urls, **settings
        )
        await r.start()
        made.append(r)
        return r

    yield make
    for r in made:
        await r.stop()


async def drift_event(events: EventLog, coin: str, level: str = "error") -> dict[str, Any]:
    """A fade account drift as `arenad.fade.reconcile` records it (`_record`)."""
    return await events.emit(
        level,  # type: ignore[arg-type]
        "trading",
        f"fade: account drift in {coin}: the books hold 0.1, the venue 0.3 (60.00 USD); cause: "
        "unknown; trading REDUCING until acknowledged (fade.ack_drift)",
        {
            "coin": coin,
            "ours": "0.1",
            "venue": "0.3",
            "notional_usd": 60.0,
            "cause": None,
            "trading_state": "REDUCING",
            "drift_id": 1,
        },
    )


# --- dedupe and the rate limit --------------------------------------------------------------


async def test_fifty_drifts_in_a_minute_send_the_limit_and_one_suppressed_line(
    rig, receiver
) -> None:  # type: ignore[no-untyped-def]
    r = await rig([receiver.url()], max_per_minute=5)
    for i in range(50):
        await drift_event(r.events, f"C{i:02d}")
    await r.handled(50)
    msgs = await poll_until(
        lambda: len(receiver.messages) >= 5 and receiver.messages, what="5 messages"
    )
    await r.idle()
    assert len(receiver.messages) == 5  # nothing more is queued: the rest are held
    assert [m["title"] for m in msgs] == [f"arenad: ACCOUNT DRIFT in C{i:02d}" for i in range(5)]
    assert "C00: books 0.1, venue 0.3 (60.00 USD)" in msgs[0]["message"]
    ch = r.notifier.channels[0]
    assert len(ch.limit.held) == 45
    r.clock.advance(30)
    await r.notifier.tick()  # still inside the minute
    await r.idle()
    assert len(receiver.messages) == 5
    r.clock.advance(30)
    await r.notifier.tick()
    await poll_until(lambda: len(receiver.messages) >= 6, what="the suppressed line")
    await r.idle()
    last = receiver.messages[-1]
    assert last["title"] == "arenad: 45 more suppressed"
    assert "45 more notifications in the last minute were suppressed" in last["message"]
    assert "45 of them errors" in last["message"]
    r.clock.advance(60)
    await r.notifier.tick()
    await r.idle()
    assert len(receiver.messages) == 6
    assert r.notifier.snapshot()["channels"][0]["suppressed"] == 45


async def test_a_condition_is_sent_once_until_it_clears_then_resolved(rig, receiver) -> None:  # type: ignore[no-untyped-def]
    r = await rig([receiver.url()])
    for _ in range(10):
        await drift_event(r.events, "BTC")
    for _ in range(2):  # the second clearing: nothing open, nothing sent
        await r.events.emit(
            "info",
            "trading",
            "fade: the account book and the venue agree again in BTC (the drift stays open "
            "until acknowledged: fade.ack_drift)",
            {"coin": "BTC", "drift_id": 1},
        )
    await r.handled(12)
    await poll_until(lambda: len(receiver.messages) >= 2, what="2 messages")
    await r.idle()
    assert [m["title"] for m in receiver.messages] == [
        "arenad: ACCOUNT DRIFT in BTC",
        "arenad: RESOLVED: drift in BTC",
    ]
    assert "repeated 9 times" in receiver.messages[1]["message"]
    assert receiver.messages[1]["type"] == "success"
    await drift_event(r.events, "BTC")  # it opens again: sent again
    await poll_until(lambda: len(receiver.messages) >= 3, what="the new drift")


async def test_guard_events_map_to_who_and_why(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    bus = Bus()
    sub = bus.subscribe(["system_event"])
    events = EventLog(store.writer, bus, clock)
    guard = TradingGuard(store.writer, events, bus=bus, clock=clock, daily_loss_limit_usd=100)
    await guard.set_state(TradingState.REDUCING, "account_drift", "books and venue differ")
    await guard.set_state(TradingState.ACTIVE, "operator", "account drift acknowledged")
    await guard.report_daily_pnl("fade", -150.0)
    await guard.release("operator")
    await guard.engage("operator", "manual")
    await guard.release("operator")
    await guard.engage("ingest_gap", "fills of gpt-5 cannot be backfilled: 3 failures")
    await guard.release("operator")
    await guard.engage("account_drift", "account drift in BTC")
    got = []
    while len(got) < 9:
        got += classify((await sub.get()).data)
    assert [(n.category, n.title) for n in got[5:]] == [
        ("kill_switch", "kill switch released"),
        ("ingest_gap", "INGEST GAP: kill switch engaged"),
        ("kill_switch", "kill switch released"),
        ("drift", "ACCOUNT DRIFT: kill switch engaged"),
    ]
    assert "by ingest_gap: fills of gpt-5 cannot be backfilled" in got[6].body
    got = got[:5]
    assert [(n.category, n.title, n.key, n.resolved) for n in got] == [
        ("trading_state", "trading REDUCING", "trading_state", False),
        ("trading_state", "trading ACTIVE", "trading_state", True),
        ("daily_loss", "DAILY LOSS LIMIT: kill switch engaged", "kill_switch", False),
        ("kill_switch", "kill switch released", "kill_switch", True),
        ("kill_switch", "KILL SWITCH ENGAGED", "kill_switch", False),
    ]
    assert (
        "by daily_loss_limit: day P&L -150.00 USD crossed the limit of -100.00 USD" in got[2].body
    )
    assert "engaged by daily_loss_limit" in got[3].body


async def test_categories_and_min_level_switch_notices_off(rig, receiver) -> None:  # type: ignore[no-untyped-def]
    r = await rig([receiver.url()], min_level="error", categories={"drift": False})
    await drift_event(r.events, "BTC")  # drift off
    await r.guard.set_state(TradingState.REDUCING, "x", "y")  # a warning: below error
    await r.guard.engage("operator", "only this one")
    await r.handled(3)
    await poll_until(lambda: receiver.messages, what="the kill switch")
    await r.idle()
    assert [m["title"] for m in receiver.messages] == ["arenad: KILL SWITCH ENGAGED"]


# --- failing channels -----------------------------------------------------------------------


async def _loop_lag(duration: float) -> float:
    """Largest overshoot of a 10 ms sleep over ``duration`` seconds (the loop's lag)."""
    worst, end = 0.0, time.monotonic() + duration
    while time.monotonic() < end:
        t0 = time.monotonic()
        await asyncio.sleep(0.01)
        worst = max(worst, time.monotonic() - t0 - 0.01)
    return worst


async def test_a_hanging_receiver_does_not_hold_the_loop(rig, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.mode = "hang"
    r = await rig([receiver.url()], timeout_s=30, retries=0)
    await r.guard.engage("operator", "while the receiver hangs")
    await poll_until(lambda: receiver.requests >= 1, what="the request to hang")
    # The delivery hangs (30 s before it counts as failed). Meanwhile the loop runs: the
    # guard takes a decision and commits it, events are written, the loop does not lag.
    t0 = time.monotonic()
    await r.guard.set_state(TradingState.REDUCING, "operator", "during the hang")
    for i in range(50):
        await r.events.emit("info", "test", f"event {i}", durable=True)
    took = time.monotonic() - t0
    lag = await _loop_lag(0.5)
    assert r.notifier.channels[0].busy, "the delivery was meant to be still hanging"
    assert took < 2.0
    assert lag < 0.4, f"event loop lag {lag * 1000:.0f} ms while a channel hangs"
    print(f"\nloop lag while the channel hangs: {lag * 1000:.1f} ms; 51 commits in {took:.3f} s")
    receiver.release()  # the receiver closes without an answer: a failed delivery
    rows = await poll_until(lambda: r.event_rows("notify"), 20, what="the failure event")
    level, message, _ = rows[0]
    assert level == "warning"
    assert f"json://127.0.0.1:{receiver.port} (JSON) did not take 'KILL SWITCH ENGAGED'" in message
    assert TOKEN not in message


async def test_a_receiver_answering_500_is_retried_with_backoff_then_an_event(
    rig, receiver
) -> None:  # type: ignore[no-untyped-def]
    receiver.mode = "500"
    r = await rig([receiver.url()], retries=2, retry_backoff_s=1)
    await r.guard.engage("operator", "fat finger")
    for attempt in (1, 2):
        await poll_until(lambda: r.clock.sleepers == 1, what=f"backoff after attempt {attempt}")
        assert receiver.requests == attempt
        r.clock.advance(60)
    rows = await poll_until(lambda: r.event_rows("notify"), what="the failure event")
    assert receiver.requests == 3
    level, message, _ = rows[0]
    assert level == "warning"
    assert "did not take 'KILL SWITCH ENGAGED' after 3 attempt(s): FAILURE" in message
    assert "error=500" in message
    st = r.notifier.snapshot()["channels"][0]
    assert st["failed"] == 1 and st["last"]["ok"] is False and st["last"]["attempts"] == 3
    receiver.mode = "ok"  # the channel recovers: the next message goes through
    await r.guard.release("operator")
    await poll_until(lambda: receiver.messages, what="the release")
    assert receiver.messages[0]["title"] == "arenad: RESOLVED: kill switch released"
    await r.idle()
    assert r.notifier.snapshot()["channels"][0]["last"]["ok"] is True


async def test_a_hang_past_the_timeout_is_a_timeout_event(rig, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.mode = "hang"
    r = await rig([receiver.url()], timeout_s=0.5, retries=0)
    await r.guard.engage("operator", "x")
    rows = await poll_until(lambda: r.event_rows("notify"), 20, what="the failure event")
    assert "after 1 attempt(s): TIMEOUT" in rows[0][1]


async def test_one_hanging_channel_does_not_delay_another(rig, receiver) -> None:  # type: ignore[no-untyped-def]
    hung = Receiver()
    hung.mode = "hang"
    try:
        r = await rig([hung.url(), receiver.url()], timeout_s=30, retries=0)
        await r.guard.engage("operator", "x")
        # The receiver records a message before the sending thread has read the answer and
        # set `last`: wait for the sender's own record, not just the receiver's.
        await poll_until(
            lambda: receiver.messages and hung.requests and r.notifier.channels[1].last,
            what="both channels",
        )
        assert r.notifier.channels[0].busy and r.notifier.channels[1].last["ok"] is True
    finally:
        hung.close()


async def test_stopping_tells_the_free_channels_and_skips_a_hung_one(rig, receiver) -> None:  # type: ignore[no-untyped-def]
    hung = Receiver()
    hung.mode = "hang"
    try:
        r = await rig([hung.url(), receiver.url()], timeout_s=30, retries=0)
        await r.guard.engage("operator", "x")
        await poll_until(lambda: receiver.messages and hung.requests, what="both channels")
        await poll_until(lambda: r.notifier.channels[1].idle, what="the free channel idle")
        events_task = r.tasks[0]
        t0 = time.monotonic()
        events_task.cancel()  # what the daemon's shutdown does
        await asyncio.gather(events_task, return_exceptions=True)
        took = time.monotonic() - t0
        assert [m["title"] for m in receiver.messages][-1] == "arenad: arenad stopping"
        assert hung.requests == 1  # not queued behind the hung delivery
        assert took < 1.5, f"the farewell took {took:.2f} s"
    finally:
        hung.close()


# --- watched conditions ---------------------------------------------------------------------


async def test_storage_failure_and_recovery(rig, receiver, store) -> None:  # type: ignore[no-untyped-def]
    r = await rig([receiver.url()])
    await r.notifier.tick()  # the baseline
    await store.writer.submit("INSERT INTO no_such_table VALUES (1)")
    await store.writer.flush()
    await r.notifier.tick()
    await poll_until(lambda: receiver.messages, what="the storage failure")
    assert receiver.messages[0]["title"] == "arenad: STORAGE FAILURE"
    assert "refused 1 write(s)" in receiver.messages[0]["message"]
    await store.writer.execute("UPDATE system_status SET updated_at = 'x' WHERE id = 1")
    await r.notifier.tick()
    await poll_until(lambda: len(receiver.messages) >= 2, what="storage resolved")
    assert receiver.messages[1]["title"] == "arenad: RESOLVED: storage"


async def test_a_rejected_live_order_is_sent_a_paper_one_is_not(rig, receiver, store) -> None:  # type: ignore[no-untyped-def]
    r = await rig([receiver.url()])
    sql = (
        "INSERT INTO fade_orders (cloid, bot_id, ts, coin, side, size, simulated, network, status,"
        " order_request, error, updated_at) VALUES (?, 'gpt-5', ?, 'ETH', 'sell', '0.5', ?, ?,"
        " 'rejected', '{}', ?, ?)"
    )
    now = utc_iso(r.clock.now())
    await store.writer.execute(sql, ("0x01", now, 1, "paper", "paper says no", now))
    await store.writer.execute(sql, ("0x02", now, 0, "sim", "Insufficient margin", now))
    await r.notifier.tick()
    await poll_until(lambda: receiver.messages, what="the rejection")
    await r.idle()
    assert len(receiver.messages) == 1
    m = receiver.messages[0]
    assert m["title"] == "arenad: ORDER REJECTED: fade sell 0.5 ETH"
    assert "fade gpt-5 on sim: Insufficient margin" in m["message"]
    await r.notifier.tick()
    await r.idle()
    assert len(receiver.messages) == 1  # once


async def test_a_failed_arena_run_and_rejected_arena_and_strategy_orders(
    rig, receiver, store
) -> None:  # type: ignore[no-untyped-def]
    r = await rig([receiver.url()])
    # as `arenad.arena.component._run_slot` and `arenad.strategies.active` record them
    await r.events.emit(
        "warning",
        "arena",
        "arena run r-0930 completed: 3 models, 9 decisions, 2 orders, 0 errors",
        {"run_id": "r-0930", "slot": "0930", "errors": []},
    )
    await r.events.emit(
        "warning",
        "arena",
        "arena run r-1000 failed: 0 models, 0 decisions, 0 orders, 1 errors",
        {"run_id": "r-1000", "slot": "1000", "errors": ["market data unavailable: 503"]},
    )
    await r.events.emit(
        "warning",
        "trading",
        "strategies: order rejected: insufficient buying power (SPY buy 10)",
        {"client_order_id": "s-1"},
    )
    await r.handled(3)
    now = utc_iso(r.clock.now())
    await store.writer.execute(
        "INSERT INTO arena_orders (client_order_id, created_at, updated_at, book_id, model_id,"
        " symbol, side, qty, purpose, status, error) VALUES ('a-1', ?, ?, 'arena:m1', 'm1',"
        " 'AAPL', 'buy', '3', 'entry', 'rejected', 'asset not tradable')",
        (now, now),
    )
    await r.notifier.tick()
    await poll_until(lambda: len(receiver.messages) >= 3, what="3 messages")
    await r.idle()
    got = {m["title"]: m["message"] for m in receiver.messages}
    assert set(got) == {
        "arenad: arena run FAILED (r-1000)",
        "arenad: strategy order rejected",
        "arenad: ORDER REJECTED: arena buy 3 AAPL",
    }
    assert "market data unavailable: 503" in got["arenad: arena run FAILED (r-1000)"]
    assert "insufficient buying power" in got["arenad: strategy order rejected"]
    assert (
        "arena m1 on alpaca: asset not tradable" in got["arenad: ORDER REJECTED: arena buy 3 AAPL"]
    )


async def test_an_event_that_cannot_be_mapped_does_not_stop_the_next(rig, receiver) -> None:  # type: ignore[no-untyped-def]
    r = await rig([receiver.url()])
    odd = {"category": "trading", "message": "kill switch engaged by ", "details": "not a dict"}
    r.bus.publish("system_event", odd)
    await r.guard.engage("operator", "after the odd one")
    await r.handled(2)
    await poll_until(lambda: receiver.messages, what="the kill switch")
    assert receiver.messages[0]["title"] == "arenad: KILL SWITCH ENGAGED"


async def test_a_crash_loop_is_sent_and_its_recovery(rig, receiver, store) -> None:  # type: ignore[no-untyped-def]
    r = await rig([receiver.url()])
    sup = Supervisor(r.events, r.guard, clock=r.clock, crash_limit=3, crash_window_s=300)
    r.notifier.task_states = lambda: {k: v["state"] for k, v in sup.snapshot().items()}
    runs = 0
    forever = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise RuntimeError(f"boom {runs}")
        await forever.wait()

    sup.add("fade-loop", flaky, trading=True)
    stop = asyncio.Event()
    sup_task = asyncio.create_task(sup.run(stop))
    try:
        for _ in range(3):
            await poll_until(lambda: r.clock.sleepers >= 1, what="a restart backoff")
            r.clock.advance(60)
        await poll_until(lambda: runs == 4, what="the task running again")
        await poll_until(lambda: len(receiver.messages) >= 2, what="crash loop messages")
        titles = sorted(m["title"] for m in receiver.messages)
        assert titles == [
            "arenad: CRASH LOOP: kill switch engaged",
            "arenad: CRASH LOOP: task fade-loop",
        ]
        body = next(m["message"] for m in receiver.messages if "task fade-loop" in m["title"])
        assert "crashed 3 times within 300 s" in body and "boom 3" in body
        await r.notifier.tick()
        await r.idle()
        assert len(receiver.messages) == 2  # not yet recovered
        r.clock.advance(301)
        await r.notifier.tick()
        await poll_until(lambda: len(receiver.messages) >= 3, what="recovered")
        assert receiver.messages[2]["title"] == "arenad: RESOLVED: task fade-loop"
    finally:
        stop.set()
        forever.set()
        await asyncio.gather(sup_task, return_exceptions=True)


async def test_quiet_hours_hold_all_but_errors_for_one_digest(rig, receiver) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))
    r = await rig([receiver.url()], clock, quiet_hours="23:00-07:00", timezone="UTC")
    await drift_event(r.events, "BTC", level="warning")
    await r.guard.engage("operator", "at night")
    await r.handled(2)
    await poll_until(lambda: receiver.messages, what="the error")
    await r.notifier.tick()
    await r.idle()
    assert [m["title"] for m in receiver.messages] == ["arenad: KILL SWITCH ENGAGED"]
    clock.set(datetime(2026, 12, 2, 7, 0, tzinfo=UTC))
    await r.notifier.tick()
    await poll_until(lambda: len(receiver.messages) >= 2, what="the digest")
    d = receiver.messages[1]
    assert d["title"] == "arenad: 1 notifications during quiet hours"
    assert "02:00 ACCOUNT DRIFT in BTC" in d["message"]


# --- the daily summary ----------------------------------------------------------------------


async def test_daily_summary_at_a_faked_time_carries_the_figures(rig, receiver, store) -> None:  # type: ignore[no-untyped-def]
    # 08:00 in Berlin is 07:00 UTC in December.
    clock = FakeClock(datetime(2026, 12, 2, 6, 59, tzinfo=UTC))
    w = store.writer
    created = "2026-11-01T00:00:00.000000Z"
    books = [
        ("fade:gpt-5", "fade", "fade gpt-5"),
        ("bot:gpt-5", "bot", "gpt-5"),
        ("arena:m1", "arena_model", "Model One"),
        ("arena:m2", "arena_model", "Model Two"),
        ("benchmark:BTC", "benchmark", "BTC"),
    ]
    for b in books:
        await w.execute(
            "INSERT INTO books (book_id, kind, name, created_at) VALUES (?, ?, ?, ?)", (*b, created)
        )
    snap = (
        "INSERT INTO equity_snapshots (book_id, ts, equity, positions_value, positions_count,"
        " fees) VALUES (?, ?, ?, ?, ?, ?)"
    )
    before, inside = "2026-12-01T06:00:00.000000Z", "2026-12-02T06:30:00.000000Z"
    rows = [
        ("fade:gpt-5", before, 1000.0, 0.0, 0, 1.0),
        ("fade:gpt-5", inside, 1012.5, -500.0, 1, 3.5),
        ("bot:gpt-5", before, 1000.0, 800.0, 1, 0.0),
        ("bot:gpt-5", inside, 988.0, 900.0, 1, 0.5),
        ("arena:m1", before, 10000.0, 0.0, 0, 0.0),
        ("arena:m1", inside, 10100.0, 2500.0, 2, 0.0),
        ("arena:m2", "2026-12-02T06:40:00.000000Z", 5000.0, 0.0, 0, None),  # new today
        ("benchmark:BTC", before, 1000.0, 1000.0, 1, 0.0),
        ("benchmark:BTC", inside, 2000.0, 2000.0, 1, 0.0),
    ]
    for row in rows:
        await w.execute(snap, row)
    standings = [
        ("arena:m1", 1, 0.01, 100.0, 1.25, "[]"),
        ("fade:gpt-5", 2, 0.0125, 12.5, None, '["sharpe"]'),
        ("bot:gpt-5", 3, -0.012, -12.0, None, "[]"),
        ("arena:m2", 4, 0.0, 0.0, None, "[]"),
    ]
    for s in standings:
        await w.execute(
            "INSERT INTO current_standings (book_id, rank, total_return, total_pnl, sharpe,"
            " insufficient, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*s, inside),
        )
    call = (
        "INSERT INTO llm_calls (created_at, book_id, model_id, provider, model, endpoint,"
        " outcome, duration_ms, system_prompt, prompt, cost_usd) VALUES (?, 'arena:m1', 'm1',"
        " 'openai', 'gpt', 'https://api', 'ok', 10, 's', 'p', ?)"
    )
    await w.execute(call, ("2026-12-01T12:00:00.000000Z", 0.25))
    await w.execute(call, ("2026-12-02T06:00:00.000000Z", 0.17))
    await w.execute(call, ("2026-11-30T12:00:00.000000Z", 5.0))  # the day before: not counted
    r = await rig([receiver.url()], clock, daily_summary_at="08:00", timezone="Europe/Berlin")
    await r.notifier.tick()  # 07:59 Berlin: scheduled, not due
    await r.idle()
    assert receiver.messages == []
    assert r.notifier.snapshot()["next_summary"] == "2026-12-02T08:00:00+01:00"
    clock.advance(60)
    await r.notifier.tick()
    (m,) = await poll_until(lambda: receiver.messages, what="the summary")
    assert m["title"] == "arenad: daily summary"
    text = m["message"]
    print("\n" + text)
    assert "24 h to 2026-12-02 08:00 CET" in text
    assert "P&L: arena +100.00 USD, bots faded -12.00 USD, fade +12.50 USD" in text
    assert " 1. Model One (arena:m1): +1.0 %, +100.00 USD, Sharpe 1.25" in text
    assert " 2. fade gpt-5 (fade:gpt-5): +1.2 %, +12.50 USD, Sharpe: too few points" in text
    assert " 3. gpt-5 (bot:gpt-5): -1.2 %, -12.00 USD" in text
    assert "4." not in text and "BTC" not in text
    assert (
        "Open exposure: 3,000.00 USD in 3 positions (arena 2,500.00 USD, fade 500.00 USD)" in text
    )
    assert "Fees: 2.50 USD" in text
    assert "LLM cost: 0.42 USD (2 calls)" in text
    assert "Trading ACTIVE" in text
    # once a day
    clock.advance(3600)
    await r.notifier.tick()
    await r.idle()
    assert len(receiver.messages) == 1
    assert r.notifier.snapshot()["next_summary"] == "2026-12-03T08:00:00+01:00"


# --- secrets --------------------------------------------------------------------------------


def test_every_url_and_its_credentials_are_registered_with_the_redactor(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from arenad.config.loader import secret_values
    from arenad.config.settings import build_settings

    tg = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567890"
    ntfy = "ntfy://ntfy.sh/arenad-alerts-x7k2p9"
    monkeypatch.setenv("MY_NOTIFY_URLS", f"{tg}, {ntfy}")
    red = Redactor(secret_values(build_settings({"notify": {"urls_env": "MY_NOTIFY_URLS"}})))
    text = (
        f"POST to {tg} failed; token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw, chat "
        "-1001234567890; HTTPSConnectionPool(host='ntfy.sh'): url: /arenad-alerts-x7k2p9"
    )
    out = red.redact_text(text)
    for secret in ("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "-1001234567890", "arenad-alerts-x7k2p9"):
        assert secret not in out
    assert "ntfy.sh" in out  # the host is what a channel is shown as


def test_a_url_pasted_into_urls_env_is_refused_without_repeating_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from arenad.config.loader import load_settings
    from arenad.errors import ConfigError

    path = tmp_path / "config.toml"
    path.write_text('[notify]\nurls_env = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5/12"\n')
    with pytest.raises(ConfigError) as e:
        load_settings(path)
    text = "\n".join(map(str, e.value.problems))
    assert "notify.urls_env" in text and "environment variable" in text
    assert "AAHdq" not in text


def test_settings_reject_bad_times() -> None:
    from pydantic import ValidationError

    for bad in ({"daily_summary_at": "8am"}, {"quiet_hours": "23:00"}, {"timezone": "Mars/Base"}):
        with pytest.raises(ValidationError):
            NotifySettings.model_validate(bad)
    assert NotifySettings().urls_env == ""  # off by default


def test_urls_env_and_timeout_wait_for_a_restart() -> None:
    from arenad.config import loader
    from arenad.config.settings import build_settings

    old = build_settings({"notify": {"urls_env": "A_VAR"}})
    new = build_settings({"notify": {"urls_env": "B_VAR", "timeout_s": 9, "max_per_minute": 3}})
    changes = loader.diff(old, new)
    assert loader.restart_only_changes(changes) == ["notify.timeout_s", "notify.urls_env"]
    kept = loader.keep_restart_only(old, new)
    assert (kept.notify.urls_env, kept.notify.timeout_s) == ("A_VAR", 5.0)
    assert kept.notify.max_per_minute == 3  # applied at once


def test_the_config_screen_lists_channels_by_label_with_their_last_delivery() -> None:
    from arenad.tui.screens.config import notify_text

    off = notify_text({"enabled": False, "reason": "off: [notify] urls_env is not set"}).plain
    assert "off: [notify] urls_env is not set" in off
    st = {
        "enabled": True,
        "invalid": ["discord://…"],
        "channels": [
            {
                "channel": "json://127.0.0.1:8080",
                "service": "JSON",
                "sent": 3,
                "failed": 1,
                "last": {
                    "ts": "2026-12-02T12:00:00.000000Z",
                    "ok": False,
                    "status": "TIMEOUT",
                    "title": "KILL SWITCH ENGAGED",
                    "detail": "Service 'JSON' did not finish within 5.0s.",
                },
            },
            {"channel": "tgram://…", "service": "Telegram", "last": None},
        ],
        "open_conditions": ["kill_switch"],
    }
    text = notify_text(st).plain
    assert "json://127.0.0.1:8080  JSON" in text
    assert "TIMEOUT  KILL SWITCH ENGAGED" in text and "did not finish" in text
    assert "tgram://…  Telegram\n  no delivery yet" in text
    assert "discord://…  not a valid URL: skipped" in text
    assert "open: kill_switch" in text
