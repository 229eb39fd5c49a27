"""model_performance.last_trade_at (0011) and avg_confidence over decisions that act, for
every source (a fade skip or an nof1 HOLD carries no view)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from arenad.books.tables import (
    BookSpec,
    DecisionEntry,
    EquityPoint,
    RoundTrip,
    mirror_decisions,
    record_round_trips,
    register_book,
    write_equity,
)
from arenad.metrics.recompute import Recomputer
from arenad.metrics.settings import MetricsSettings
from arenad.store.db import utc_iso

NOW = datetime(2025, 10, 28, 12, tzinfo=UTC)


async def test_last_trade_at_and_confidence_of_acting_decisions(store: Any) -> None:
    ts = utc_iso(NOW)

    async def fn(conn: Any) -> None:
        for bid, kind in (("nof1:m", "bot"), ("fade:b", "fade")):
            await register_book(conn, BookSpec(bid, kind, bid, initial_capital=10_000.0), ts)
            await write_equity(
                conn,
                [
                    EquityPoint(bid, utc_iso(NOW - timedelta(hours=h)), 10_000.0 + h)
                    for h in range(3)
                ],
            )
        await mirror_decisions(
            conn,
            [
                DecisionEntry("nof1:m", ts, "buy", "nof1", "1", confidence=0.8),
                DecisionEntry("nof1:m", ts, "hold", "nof1", "2", confidence=0.1),
                DecisionEntry("fade:b", ts, "execute", "fade", "3", confidence=0.6),
                DecisionEntry("fade:b", ts, "skip", "fade", "4", confidence=0.0),
            ],
        )
        # A HOLD stored with its confidence before the layer (an older database) is left out
        # of the average too.
        await conn.execute(
            "INSERT INTO decision_log (book_id, ts, decision, confidence, source, source_id)"
            " VALUES ('nof1:m', ?, 'HOLD', 0.0, 'nof1', 'old')",
            (ts,),
        )
        await record_round_trips(
            conn,
            [
                RoundTrip("fade:b", "BTC", "long", "1", e, "100", x, "101", 1.0, "fade", f"t{i}")
                for i, (e, x) in enumerate(
                    [
                        (utc_iso(NOW - timedelta(hours=2)), utc_iso(NOW - timedelta(hours=1))),
                        (utc_iso(NOW - timedelta(hours=3)), utc_iso(NOW - timedelta(minutes=5))),
                    ]
                )
            ],
        )

    await store.writer.transaction(fn)
    stored = dict(
        sqlite3.connect(store.path)
        .execute("SELECT source_id, confidence FROM decision_log")
        .fetchall()
    )
    assert stored == {"1": 0.8, "2": None, "3": 0.6, "4": None, "old": 0.0}
    await Recomputer(store.path, MetricsSettings(min_points=2, min_trades=1)).run(
        store.writer.transaction, NOW
    )
    with sqlite3.connect(store.path) as c:
        c.row_factory = sqlite3.Row
        perf = {r["model_id"]: dict(r) for r in c.execute("SELECT * FROM model_performance")}
    assert perf["nof1:m"]["avg_confidence"] == 0.8
    assert perf["fade:b"]["avg_confidence"] == 0.6
    assert perf["nof1:m"]["hold_decisions"] == 2
    assert perf["fade:b"]["last_trade_at"] == utc_iso(NOW - timedelta(minutes=5))
    assert perf["nof1:m"]["last_trade_at"] is None
    assert "sharpe_insufficient" in perf["fade:b"]  # 0010's flags are kept
