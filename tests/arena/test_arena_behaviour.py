"""Cost and behaviour per arena model on the leaderboard, from real runs against the fake LLM
server on loopback: a model whose answers fail to parse 30 % of the time shows a
parse_failure_rate of 0.30, its cost per decision is what its priced calls cost, a baseline
costs exactly 0; and calibration (Brier, reliability) of round-trip-opening decisions."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from arena_fakes import FakeLLMServer, StaticMarket, arena_settings, make_bars

from arenad.arena.executor import InternalExecutor
from arenad.arena.runner import ArenaRunner
from arenad.arena.schedule import Slot
from arenad.arena.store import ArenaStore
from arenad.metrics.recompute import Recomputer
from arenad.metrics.settings import MetricsSettings
from arenad.store.db import utc_iso

SYMBOLS = ["AAPL", "NVDA"]
RUNS = 10  # 10 runs x 2 symbols = 20 answers from the flaky model: 6 do not parse


async def test_parse_failure_rate_and_cost_per_decision(store: Any, tmp_path: Path) -> None:
    bars = {s: make_bars(s) for s in SYMBOLS}
    async with FakeLLMServer() as srv:
        srv.price = float(bars["AAPL"][-1].close)
        models = [
            {
                "id": "flaky",
                "provider": "openai_compatible",
                "model": "parse30",
                "base_url": f"{srv.url}/v1",
                "max_concurrency": 1,  # answers in call order: the 3rd, 6th, 9th... fail
                "input_price_per_mtok": 1.0,
                "output_price_per_mtok": 2.0,
            },
            {"id": "hodl", "baseline": {"kind": "buy_and_hold", "position_fraction": 0.01}},
        ]
        runner = ArenaRunner(
            arena_settings(models),
            ArenaStore(store.writer),
            StaticMarket(bars),
            InternalExecutor(),
        )
        await runner.start()
        t0 = datetime.now(UTC)
        for i in range(RUNS):
            s = await runner.run(Slot(t0 + timedelta(minutes=i), f"test:b{i}"), "operator")
            assert s.status == "completed", s.errors
        await runner.close()
    assert srv.counts[("/v1/chat/completions", "parse30")] == RUNS * len(SYMBOLS)

    rc = Recomputer(store.path, MetricsSettings())
    res = await rc.run(store.writer.transaction, datetime.now(UTC) + timedelta(hours=1))
    board = {s.book_id: s for s in res.boards["all_time"]}
    flaky = board["arena:flaky"].behaviour
    assert flaky is not None
    assert flaky["decisions"] == RUNS * len(SYMBOLS) and flaky["answers"] == RUNS * len(SYMBOLS)
    assert flaky["parse_failures"] == 6
    assert math.isclose(flaky["parse_failure_rate"], 0.30)
    per_call = (1200 * 1.0 + 150 * 2.0) / 1e6  # the fake's usage at the model's prices
    assert flaky["calls"] == RUNS * len(SYMBOLS)
    assert math.isclose(flaky["cost_usd"], per_call * flaky["calls"])
    assert math.isclose(flaky["cost_per_decision_usd"], per_call)
    assert flaky["input_tokens"] == 1200 * flaky["calls"]
    assert flaky["latency_p50_ms"] > 0 and flaky["latency_p95_ms"] >= flaky["latency_p50_ms"]
    # Valid answers are all BUYs: no HOLD among them.
    assert flaky["hold_rate"] == 0.0
    hodl = board["arena:hodl"].behaviour
    assert hodl is not None
    assert hodl["cost_per_decision_usd"] == 0.0 and hodl["calls"] == 0
    assert hodl["parse_failure_rate"] == 0.0
    assert "return_per_inference_usd" in hodl["flags"]

    import sqlite3

    with sqlite3.connect(store.path) as db:
        view = dict(
            db.execute(
                "SELECT model_id, parse_failure_rate FROM model_performance"
                " WHERE kind = 'arena_model'"
            ).fetchall()
        )
    assert math.isclose(view["arena:flaky"], 0.30) and view["arena:hodl"] == 0.0
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[daemon]\ndb_path = "{store.path}"\n')
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "arenad",
            "leaderboard",
            "--json",
            "--kind=arena_model",
            f"--config={cfg}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    rows = {x["book"]: x for x in json.loads(r.stdout)}
    assert math.isclose(rows["arena:flaky"]["parse_failure_rate"], 0.30)
    assert math.isclose(rows["arena:flaky"]["cost_per_decision_usd"], per_call)
    assert rows["arena:hodl"]["cost_per_decision_usd"] == 0.0
    for row in rows.values():
        assert row["verdict"] in ("skill", "unproven", "insufficient")
        assert "calibration" in row


async def test_calibration_of_round_trip_opening_decisions(store: Any) -> None:
    now = datetime(2025, 3, 10, tzinfo=UTC)
    # confidence, pnl: a hand-checked Brier of ((0.9-1)^2 + (0.8-0)^2 + (0.6-1)^2 + (0.3-0)^2) / 4
    trips = [(0.9, "12.5"), (0.8, "-3"), (0.6, "0.01"), (0.3, "-7.25")]

    async def fn(conn: Any) -> None:
        await conn.execute(
            "INSERT INTO books (book_id, kind, name, provider, initial_capital, created_at)"
            " VALUES ('arena:m', 'arena_model', 'm', 'openai_compatible', 1000, ?)",
            (utc_iso(now),),
        )
        await conn.execute(
            "INSERT INTO arena_runs (run_id, slot_key, trigger, scheduled_for, started_at)"
            " VALUES ('r1', 'k1', 'operator', ?, ?)",
            (utc_iso(now), utc_iso(now)),
        )
        for i, (conf, pnl) in enumerate(trips):
            await conn.execute(
                "INSERT INTO arena_decisions (ts, run_id, slot_key, book_id, model_id,"
                " model_name, provider, symbol, action, confidence, valid, client_order_id)"
                " VALUES (?, 'r1', 'k1', 'arena:m', 'm', 'm', 'x', ?, 'BUY', ?, 1, ?)",
                (utc_iso(now), f"S{i}", conf, f"c{i}"),
            )
            await conn.execute(
                "INSERT INTO arena_trades (book_id, model_id, symbol, side, qty, entry_price,"
                " exit_price, opened_at, closed_at, exit_reason, pnl, pnl_pct,"
                " entry_client_order_id, exit_client_order_id) VALUES ('arena:m', 'm', ?,"
                " 'long', '1', '10', '11', ?, ?, 'tp', ?, 0.1, ?, ?)",
                (f"S{i}", utc_iso(now), utc_iso(now), pnl, f"c{i}", f"x{i}"),
            )
        # A decision that opened nothing does not count.
        await conn.execute(
            "INSERT INTO arena_decisions (ts, run_id, slot_key, book_id, model_id, model_name,"
            " provider, symbol, action, confidence, valid) VALUES (?, 'r1', 'k1', 'arena:m',"
            " 'm', 'm', 'x', 'ZZZ', 'HOLD', 0.99, 1)",
            (utc_iso(now),),
        )

    await store.writer.transaction(fn)
    rc = Recomputer(store.path, MetricsSettings())
    res = await rc.run(store.writer.transaction, now + timedelta(days=1))
    cal = {s.book_id: s for s in res.boards["all_time"]}["arena:m"].calibration
    assert cal is not None and cal["trips"] == 4
    assert math.isclose(cal["brier"], (0.01 + 0.64 + 0.16 + 0.09) / 4)
    table = cal["reliability"]
    assert table[9]["count"] == 1 and table[9]["hit_rate"] == 1.0  # 0.9 is in [0.9, 1]
    assert table[8]["hit_rate"] == 0.0 and table[3]["hit_rate"] == 0.0 and table[0]["count"] == 0
    assert table[6]["count"] == 1 and table[6]["mean_confidence"] == 0.6
