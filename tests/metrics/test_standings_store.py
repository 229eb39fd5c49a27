"""Standings, leaderboard snapshots, summaries and retention on a real database, and the seed
001 example queries answered from it (equity curve, returns series, Sharpe, a symbol's
decisions by model, rankings by timeframe, rank changes)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from arenad.metrics import queries
from arenad.metrics.curve import curve_metrics
from arenad.metrics.recompute import Recomputer, board_once
from arenad.metrics.settings import MetricsSettings
from arenad.store.db import open_reader, utc_iso

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)
HOURS = 40 * 24
BOOKS = [
    ("arena:claude", "arena_model", "Claude", 0.0004),
    ("arena:gpt", "arena_model", "GPT", 0.0002),
    ("fade:gpt-5", "fade", "Fade GPT-5", -0.0001),
    ("benchmark:BTC", "benchmark", "Buy and hold BTC", 0.0003),
]
SETTINGS = MetricsSettings(min_points=30, min_trades=3)


def curve(seed: int, drift: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 10_000 * np.cumprod(1 + rng.normal(drift, 0.004, HOURS))


async def populate(writer: Any) -> dict[str, np.ndarray]:
    curves: dict[str, np.ndarray] = {}
    start = NOW - timedelta(hours=HOURS - 1)

    async def fn(conn: Any) -> None:
        for i, (bid, kind, name, drift) in enumerate(BOOKS):
            await conn.execute(
                "INSERT INTO books (book_id, kind, name, initial_capital, created_at) "
                "VALUES (?, ?, ?, 10000, ?)",
                (bid, kind, name, utc_iso(start)),
            )
            eq = curves[bid] = curve(i, drift)
            await conn.executemany(
                "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES (?, ?, ?)",
                [(bid, utc_iso(start + timedelta(hours=h)), float(e)) for h, e in enumerate(eq)],
            )
        # Round trips: claude 4 (3 wins), gpt 2, none for the fade book.
        trips = [
            ("arena:claude", "AAPL", 30.0),
            ("arena:claude", "NVDA", -10.0),
            ("arena:claude", "NVDA", 25.0),
            ("arena:claude", "AAPL", 5.0),
            ("arena:gpt", "AAPL", -4.0),
            ("arena:gpt", "MSFT", 9.0),
        ]
        for k, (bid, sym, pnl) in enumerate(trips):
            t = NOW - timedelta(days=10 - k)
            await conn.execute(
                "INSERT INTO trade_log (book_id, symbol, direction, quantity, entry_time, "
                "entry_price, exit_time, exit_price, realized_pnl, source, source_id) "
                "VALUES (?, ?, 'long', '1', ?, '100', ?, '101', ?, 'test', ?)",
                (bid, sym, utc_iso(t - timedelta(hours=5)), utc_iso(t), pnl, str(k)),
            )
        # Decisions on AAPL: claude and gpt two minutes apart, the fade an hour later.
        d0 = NOW - timedelta(hours=3)
        for k, (bid, model, dec, conf, dt) in enumerate(
            [
                ("arena:claude", "claude", "buy", 0.8, 0),
                ("arena:gpt", "gpt", "buy", 0.6, 120),
                ("arena:gpt", "gpt", "hold", 0.5, 3600),
                ("fade:gpt-5", "gpt-5", "sell", None, 3700),
            ]
        ):
            await conn.execute(
                "INSERT INTO decision_log (book_id, model_id, symbol, ts, decision, reasoning, "
                "confidence, source, source_id) VALUES (?, ?, 'AAPL', ?, ?, 'because', ?, "
                "'test', ?)",
                (bid, model, utc_iso(d0 + timedelta(seconds=dt)), dec, conf, k),
            )

    await writer.transaction(fn)
    return curves


async def test_recompute_writes_standings_snapshots_and_summaries(store: Any) -> None:
    curves = await populate(store.writer)
    rc = Recomputer(store.path, SETTINGS)
    r = await rc.run(store.writer.transaction, NOW, snapshot=True)
    assert r.changed == {b[0] for b in BOOKS}
    expected = sorted(BOOKS, key=lambda b: -(curves[b[0]][-1] / curves[b[0]][0]))
    with sqlite3.connect(store.path) as db:
        rows = db.execute(
            "SELECT book_id, rank, trades, win_rate, insufficient, sharpe "
            "FROM current_standings ORDER BY rank"
        ).fetchall()
        assert [r[0] for r in rows] == [b[0] for b in expected]
        assert [r[1] for r in rows] == [1, 2, 3, 4]
        by = {r[0]: r for r in rows}
        assert by["arena:claude"][2] == 4 and by["arena:claude"][3] == 0.75
        assert "win_rate" in json.loads(by["arena:gpt"][4])  # 2 trades < min_trades 3
        assert by["fade:gpt-5"][2] == 0 and by["fade:gpt-5"][3] is None
        n = db.execute(
            "SELECT timeframe, count(*) FROM leaderboard_snapshots GROUP BY timeframe"
        ).fetchall()
        assert dict(n) == {"all_time": 4, "daily": 4, "weekly": 4, "monthly": 4}
        days = db.execute(
            "SELECT count(*) FROM daily_summaries WHERE model_id = 'arena:claude'"
        ).fetchone()[0]
        assert days == 41  # 40 days of hourly points starting mid-day span 41 dates
        # The summaries chain: each day's P&L starts from the previous day's close.
        closes = db.execute(
            "SELECT closing_equity, pnl FROM period_summaries WHERE book_id = "
            "'arena:gpt' AND period = 'daily' ORDER BY period_start"
        ).fetchall()
        assert all(b[1] == pytest.approx(b[0] - a[0]) for a, b in pairwise(closes))


async def test_seed_001_example_queries(store: Any) -> None:
    curves = await populate(store.writer)
    rc = Recomputer(store.path, SETTINGS)
    await rc.run(store.writer.transaction, NOW - timedelta(days=1), snapshot=True)
    # A day later, gpt has overtaken claude: one more point each.
    later = NOW + timedelta(hours=1)
    await store.writer.execute(
        "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES ('arena:gpt', ?, 99999)",
        (utc_iso(later),),
    )
    await rc.run(store.writer.transaction, later, snapshot=True)
    with sqlite3.connect(store.path) as db:
        # get_equity_curve(model, limit=252): the newest 252 hourly points, oldest first.
        eq = [
            r[0]
            for r in db.execute(
                "SELECT equity FROM (SELECT timestamp, equity FROM hourly_snapshots WHERE "
                "model_id = 'arena:claude' ORDER BY timestamp DESC LIMIT 252) ORDER BY timestamp"
            )
        ]
        assert eq == pytest.approx(list(curves["arena:claude"][-252:]))
        # get_returns_series: simple returns of that curve.
        ret = np.diff(eq) / np.asarray(eq[:-1])
        assert ret == pytest.approx(
            curves["arena:claude"][-251:] / curves["arena:claude"][-252:-1] - 1
        )
        # calculate_sharpe_ratio: the all-time Sharpe in the standings is that of the stored
        # curve's daily closes (the all-time board's natural period), annualized by 365.25.
        ts = [
            datetime.fromisoformat(r[0])
            for r in db.execute(
                "SELECT ts FROM equity_snapshots WHERE book_id = 'arena:claude' ORDER BY ts"
            )
        ]
        sharpe = db.execute(
            "SELECT sharpe FROM current_standings WHERE book_id = 'arena:claude'"
        ).fetchone()[0]
        ser = pd.Series(curves["arena:claude"], index=pd.DatetimeIndex(ts))
        closes = ser.resample("1D", label="right", closed="left").last().ffill()
        daily = [ser.index[0], *closes.index]
        expected = curve_metrics(
            [x.to_pydatetime() for x in daily],
            [float(ser.iloc[0]), *closes.tolist()],
            periods_per_year_override=365.25,
        )
        assert expected.periods >= SETTINGS.min_points
        assert sharpe == pytest.approx(expected.sharpe, rel=1e-9)
        # get_symbol_decisions("AAPL", since=1 day): grouped by model.
        since = utc_iso(NOW - timedelta(days=1))
        by_model: dict[str, list[str]] = {}
        for model, dec in db.execute(
            "SELECT model_id, decision FROM decision_log WHERE "
            "symbol = 'AAPL' AND ts >= ? ORDER BY ts",
            (since,),
        ):
            by_model.setdefault(model, []).append(dec)
        assert by_model == {"claude": ["buy"], "gpt": ["buy", "hold"], "gpt-5": ["sell"]}
        # get_rankings('all_time'): the newest all-time snapshot in rank order.
        ranking = db.execute(
            "SELECT book_id, rank FROM top_performers WHERE timeframe = 'all_time' ORDER BY rank"
        ).fetchall()
        assert ranking[0] == ("arena:gpt", 1)
        # Rank changes: gpt moved up from its previous all-time rank.
        prev = db.execute(
            "SELECT rank FROM leaderboard_snapshots WHERE timeframe = 'all_time' "
            "AND book_id = 'arena:gpt' ORDER BY snapshot_time"
        ).fetchall()
        hist = db.execute(
            "SELECT previous_rank, rank, rank_change FROM rank_history WHERE "
            "timeframe = 'all_time' AND book_id = 'arena:gpt' "
            "ORDER BY snapshot_time DESC LIMIT 1"
        ).fetchone()
        assert hist == (prev[0][0], 1, prev[0][0] - 1) and hist[2] > 0
        mp = db.execute(
            "SELECT rank, rank_change, total_trades, avg_confidence, best_sector "
            "FROM model_performance WHERE model_id = 'arena:gpt'"
        ).fetchone()
        assert mp == (1, prev[0][0] - 1, 2, pytest.approx(0.55), "MSFT")
        # decision_comparison: claude and gpt on AAPL two minutes apart; gpt's hold and the
        # fade 100 s apart; nothing else within 5 minutes.
        pairs = db.execute(
            "SELECT book_a, book_b, time_diff_seconds FROM decision_comparison ORDER BY ts_a"
        ).fetchall()
        assert pairs == [("arena:claude", "arena:gpt", 120.0), ("arena:gpt", "fade:gpt-5", 100.0)]
    async with open_reader(store.path) as conn:
        groups = await queries.decision_comparison(conn, "AAPL", 300, 10)
        assert [[d["book_id"] for d in g["decisions"]] for g in groups] == [
            ["arena:gpt", "fade:gpt-5"],
            ["arena:claude", "arena:gpt"],
        ]
        assert groups[1]["agreement"] == 1.0 and groups[0]["agreement"] == 0.5
        agg = await queries.equity_series(conn, "fade_aggregate", None, 5)
        assert [p["equity"] for p in agg] == pytest.approx(list(curves["fade:gpt-5"][-5:]))


async def test_incremental_refresh_matches_a_full_load(store: Any) -> None:
    await populate(store.writer)
    rc = Recomputer(store.path, SETTINGS)
    await rc.run(store.writer.transaction, NOW)
    more = NOW + timedelta(hours=2)
    for bid, *_ in BOOKS:
        await store.writer.execute(
            "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES (?, ?, 12345)",
            (bid, utc_iso(more)),
        )
    await store.writer.execute(
        "INSERT INTO trade_log (book_id, symbol, direction, quantity, entry_time, entry_price, "
        "exit_time, exit_price, realized_pnl, source, source_id) VALUES ('fade:gpt-5', 'BTC', "
        "'short', '1', ?, '1', ?, '1', 3.5, 'test', 'x')",
        (utc_iso(NOW), utc_iso(more)),
    )
    r = await rc.run(store.writer.transaction, more)
    assert r.changed == {b[0] for b in BOOKS}
    fresh = await board_once(store.path, SETTINGS, more, "all_time")
    assert [s.as_dict() for s in rc.boards["all_time"]] == [s.as_dict() for s in fresh]


async def test_retention_thins_old_snapshots_to_the_last_of_each_hour(store: Any) -> None:
    start = NOW - timedelta(days=3)
    rows = [
        ("fade:x", utc_iso(start + timedelta(minutes=5 * i)), 100.0 + i) for i in range(3 * 24 * 12)
    ]
    await store.writer.transaction(
        lambda c: c.executemany(
            "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES (?, ?, ?)", rows
        )
    )
    rc = Recomputer(store.path, MetricsSettings(full_resolution_days=1))
    r = await rc.run(store.writer.transaction, NOW, retention=True)
    with sqlite3.connect(store.path) as db:
        old = db.execute(
            "SELECT ts, equity, resolution FROM equity_snapshots WHERE ts < ? ORDER BY ts",
            (utc_iso(NOW - timedelta(days=1)),),
        ).fetchall()
        recent = db.execute(
            "SELECT count(*) FROM equity_snapshots WHERE ts >= ?",
            (utc_iso(NOW - timedelta(days=1)),),
        ).fetchone()[0]
    assert len(old) == 48 and {o[2] for o in old} == {"hourly"}
    assert all(o[0][14:16] == "55" for o in old)  # the last 5-minute point of each hour
    assert recent == 24 * 12 and r.downsampled == 48 * 11


async def test_leaderboard_cli_json(store: Any, tmp_path: Path) -> None:
    await populate(store.writer)
    await Recomputer(store.path, SETTINGS).run(store.writer.transaction, NOW, snapshot=True)
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[daemon]\ndb_path = "{store.path}"\nsocket_path = "{tmp_path}/s.sock"\n'
        "[metrics]\nmin_trades = 3\n"
    )
    r = subprocess.run(
        [sys.executable, "-m", "arenad", "leaderboard", "--json", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    keys = {
        "book",
        "kind",
        "rank",
        "rank_change",
        "equity",
        "total_return",
        "sharpe",
        "max_drawdown",
        "win_rate",
        "profit_factor",
        "trades",
        "insufficient",
    }
    assert all(keys <= set(x) for x in rows) and len(rows) == 4
    assert [x["rank"] for x in rows] == [1, 2, 3, 4]
    assert all(x["rank_change"] in (0, None) for x in rows)
    gpt = next(x for x in rows if x["book"] == "arena:gpt")
    assert gpt["trades"] == 2 and "win_rate" in gpt["insufficient"]
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "arenad",
            "leaderboard",
            "--kind",
            "fade",
            "--timeframe",
            "daily",
            "--config",
            str(cfg),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "fade:gpt-5" in r.stdout and "arena:gpt" not in r.stdout
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "arenad",
            "leaderboard",
            "--timeframe",
            "hourly",
            "--config",
            str(cfg),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "hourly" in r.stderr
