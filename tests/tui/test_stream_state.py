"""The pure parts of the TUI: coalescing buffer, view state, formatting (no terminal)."""

from __future__ import annotations

import tracemalloc
from typing import Any

from arenad.tui import format as fmt
from arenad.tui.client import Unavailable
from arenad.tui.state import Snapshot, TuiState
from arenad.tui.stream import StreamBuffer
from arenad.tui.widgets.event_table import matches


def ev(topic: str, data: Any, ts: str = "2025-01-02T14:30:00Z") -> dict[str, Any]:
    return {"event": topic, "ts": ts, "data": data}


def test_state_topics_keep_only_the_newest() -> None:
    b = StreamBuffer()
    for i in range(1000):
        b.put(ev("status", {"uptime_s": i}))
    b.put(ev("position", {"book_id": "fade:x", "symbol": "BTC", "size": "1"}))
    b.put(ev("position", {"book_id": "fade:x", "symbol": "BTC", "size": "2"}))
    b.put(ev("equity", {"ts": "t1", "series": {"fade_aggregate": 1.0}}))
    b.put(ev("equity", {"ts": "t2", "series": {"fade_aggregate": 2.0, "bots_aggregate": 3.0}}))
    assert len(b) == 4
    batch = b.drain()
    assert batch.latest["status"] == {"uptime_s": 999}
    assert batch.positions == [{"book_id": "fade:x", "symbol": "BTC", "size": "2"}]
    assert batch.equity == {"fade_aggregate": ("t2", 2.0), "bots_aggregate": ("t2", 3.0)}
    assert batch.topics == {"status", "position", "equity"}
    assert len(b) == 0 and b.drain().topics == frozenset()
    assert b.coalesced == 999 + 1 + 1


def test_log_topics_are_bounded_and_count_what_they_drop() -> None:
    b = StreamBuffer(max_items=10)
    for i in range(25):
        b.put(ev("system_event", {"message": f"m{i}"}))
    batch = b.drain()
    assert [e["message"] for e in batch.logs["system_event"]] == [f"m{i}" for i in range(15, 25)]
    assert b.overflowed == 15
    assert batch.logs["system_event"][0]["ts"] == "2025-01-02T14:30:00Z"  # from the envelope


def test_memory_does_not_grow_with_the_event_rate() -> None:
    b = StreamBuffer(max_items=100)
    tracemalloc.start()
    for i in range(2000):
        b.put(ev("system_event", {"message": "x" * 100, "i": i}))
        b.put(ev("status", {"uptime_s": i}))
    base = tracemalloc.get_traced_memory()[0]
    for i in range(20000):
        b.put(ev("system_event", {"message": "x" * 100, "i": i}))
        b.put(ev("status", {"uptime_s": i}))
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(b) == 101
    assert grown < 200_000, grown


def test_malformed_and_unknown_events_are_counted_not_raised() -> None:
    b = StreamBuffer()
    for bad in (
        "text",
        None,
        {"event": 3, "data": {}},
        {"event": "status"},
        {"event": "status", "data": []},
        ev("equity", {"series": "x"}),
        ev("equity", {"ts": "t", "series": {"a": "NaN"}}),
    ):
        b.put(bad)
    b.put(ev("tick_of_the_future", {}))
    b.put(ev("dropped", {"count": 7}))
    assert b.malformed == 7 and b.ignored == 1
    batch = b.drain()
    assert batch.dropped_upstream == 7 and batch.topics == {"dropped"}


def _snapshot(**kw: Any) -> Snapshot:
    base: dict[str, Any] = {
        "status": {"kill_switch": {"engaged": False}, "trading_state": "ACTIVE"},
        "config": Unavailable("config"),
        "events": [],
        "positions": [],
        "equity": {"series": {"fade_aggregate": [{"ts": "t0", "equity": 1.0}, {"bad": 1}]}},
    }
    return Snapshot(**(base | kw))


def test_trading_state_event_merges_into_status_at_once() -> None:
    s = TuiState()
    s.apply_snapshot(_snapshot(), 0.0)
    assert not s.kill_engaged
    b = StreamBuffer()
    b.put(
        ev(
            "trading_state",
            {"trading_state": "HALTED", "kill_switch": {"engaged": True, "by": "operator"}},
        )
    )
    assert s.apply(b.drain(), 1.0) == {"trading_state"}
    assert s.kill_engaged and s.status is not None and s.status["trading_state"] == "HALTED"


def test_positions_open_update_and_close() -> None:
    s = TuiState()
    s.apply_snapshot(_snapshot(positions=[{"book_id": "a", "symbol": "BTC", "size": "1"}]), 0)
    b = StreamBuffer()
    b.put(ev("position", {"book_id": "a", "symbol": "ETH", "size": "-2"}))
    b.put(ev("position", {"book_id": "a", "symbol": "BTC", "size": "0"}))
    s.apply(b.drain(), 0)
    assert [p["symbol"] for p in s.position_rows()] == ["ETH"]


def test_unavailable_panels_light_up_when_the_engine_starts_publishing() -> None:
    s = TuiState()
    s.apply_snapshot(_snapshot(positions=Unavailable("positions"), equity=Unavailable("equity")), 0)
    assert isinstance(s.positions, Unavailable) and isinstance(s.equity, Unavailable)
    b = StreamBuffer()
    b.put(ev("position", {"book_id": "a", "symbol": "BTC", "size": "1"}))
    b.put(ev("equity", {"ts": "t1", "series": {"fade_aggregate": 5.0}}))
    s.apply(b.drain(), 0)
    assert len(s.position_rows()) == 1
    assert not isinstance(s.equity, Unavailable)
    assert list(s.equity["fade_aggregate"]) == [("t1", 5.0)]


def test_equity_history_is_bounded() -> None:
    s = TuiState(max_points=50)
    s.apply_snapshot(_snapshot(), 0)
    for i in range(200):
        b = StreamBuffer()
        b.put(ev("equity", {"ts": f"t{i}", "series": {"fade_aggregate": float(i)}}))
        s.apply(b.drain(), 0)
    assert not isinstance(s.equity, Unavailable)
    assert len(s.equity["fade_aggregate"]) == 50
    assert s.equity["fade_aggregate"][-1] == ("t199", 199.0)


def test_staleness_only_counts_while_connected() -> None:
    s = TuiState()
    s.apply_snapshot(_snapshot(), 10.0)
    s.connection.state = "connected"
    assert not s.stale(14.0) and s.stale(16.0)
    s.connection.state = "disconnected"
    assert not s.stale(100.0)


def test_live_event_filter_matches_the_daemon_rules() -> None:
    e = {
        "level": "warning",
        "category": "api",
        "message": "429 from nof1",
        "details": {"Retry": "2s"},
    }
    assert matches(e, "info", None, None) and matches(e, "warning", "api", "NOF1")
    assert not matches(e, "error", None, None)
    assert not matches(e, None, "trading", None)
    assert matches(e, None, None, "retry")  # details are searched too
    assert not matches({"level": "weird"}, "info", None, None)


def test_format_never_raises_on_odd_values() -> None:
    assert fmt.dec("96500.000") == "96,500" and fmt.dec("-0.50") == "-0.5"
    assert fmt.dec(None) == fmt.DASH and fmt.dec("abc") == "?"
    assert fmt.money(-1234.5, signed=True) == "-1,234.50" and fmt.money("x") == "?"
    assert fmt.pct(12.345) == "+12.35%" and fmt.ratio(None) == fmt.DASH
    assert str(fmt.rank_change(2)) == "▲2" and str(fmt.rank_change(-3)) == "▼3"
    assert str(fmt.rank_change(0)) == "=" and str(fmt.rank_change(None)) == "new"
    assert fmt.uptime(3723) == "01:02:03" and fmt.uptime(90061) == "1d 01:01:01"
    assert fmt.clock("2025-01-02T14:30:05.123Z") == "14:30:05" and fmt.clock(None) == fmt.DASH
    assert str(fmt.pnl(True)) == "?"
