"""The aggregates by role: ``bots_aggregate`` is the bots we fade (bot:<id> with fade:<id>),
never the tracker's other nof1 books; ``fade_aggregate`` the fade books; both also in the seed
004 EquitySnapshot shape (view ``fade_equity_snapshots``)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from arenad.metrics import queries
from arenad.store.db import open_reader

T = [f"2025-10-28T0{h}:00:00.000000Z" for h in range(5)]
BOOKS = [
    ("bot:a", "bot", "hyperliquid"),
    ("fade:a", "fade", "hyperliquid"),
    ("bot:b", "bot", "hyperliquid"),
    ("fade:b", "fade", "hyperliquid"),
    ("bot:qwen3-max", "bot", "nof1"),  # tracked by the tracker, not faded
    ("benchmark:BTC", "benchmark", "hyperliquid"),
]
POINTS = [
    ("bot:a", 0, 1000.0),
    ("fade:a", 0, 500.0),
    ("bot:qwen3-max", 0, 100_000.0),
    ("bot:b", 1, 2000.0),  # b starts later: counts from its first point on
    ("fade:b", 2, 700.0),
    ("bot:a", 3, 1100.0),
    ("bot:qwen3-max", 3, 90_000.0),
    ("benchmark:BTC", 4, 5.0),
    ("fade:a", 4, 450.0),
]


async def _populate(store: Any) -> None:
    async def fn(conn: Any) -> None:
        for bid, kind, venue in BOOKS:
            await conn.execute(
                "INSERT INTO books (book_id, kind, name, venue, created_at) VALUES (?, ?, ?, ?, ?)",
                (bid, kind, bid, venue, T[0]),
            )
        await conn.executemany(
            "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES (?, ?, ?)",
            [(b, T[i], e) for b, i, e in POINTS],
        )

    await store.writer.transaction(fn)


async def test_bots_aggregate_is_the_faded_bots_only(store: Any) -> None:
    await _populate(store)
    async with open_reader(store.path) as conn:
        bots = await queries.equity_series(conn, "bots_aggregate", None, 100)
        fade = await queries.equity_series(conn, "fade_aggregate", None, 100)
    assert bots == [
        {"ts": T[0], "equity": 1000.0},
        {"ts": T[1], "equity": 3000.0},
        {"ts": T[3], "equity": 3100.0},
    ]
    assert fade == [
        {"ts": T[0], "equity": 500.0},
        {"ts": T[2], "equity": 1200.0},
        {"ts": T[4], "equity": 1150.0},
    ]
    with sqlite3.connect(store.path) as db:
        rows = db.execute(
            "SELECT id, timestamp, bots_aggregate, fade_arena, bot_equities, fade_equities "
            "FROM fade_equity_snapshots ORDER BY id"
        ).fetchall()
    # Every instant a member book has a point; the nof1 book never counts.
    assert [r[1] for r in rows] == T
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert [r[2] for r in rows] == [1000.0, 3000.0, 3000.0, 3100.0, 3100.0]
    assert [r[3] for r in rows] == [500.0, 500.0, 1200.0, 1200.0, 1150.0]
    assert json.loads(rows[1][4]) == {"a": 1000.0, "b": 2000.0}
    assert json.loads(rows[0][4]) == {"a": 1000.0}
    assert json.loads(rows[4][5]) == {"a": 450.0, "b": 700.0}
