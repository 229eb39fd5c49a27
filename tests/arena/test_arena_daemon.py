"""The arena inside a real `arenad run` subprocess against the simulator: run-now through the
control socket, runs listed by the CLI, and `kill -9` in the middle of a run followed by a
restart leaves no duplicate order and ledgers that match the account."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from decimal import Decimal
from typing import Any

import pytest
from arena_fakes import FakeLLMServer

from arenad.arena.component import SIM_KEY
from arenad.control.client import ControlClient, ControlError
from arenad.venues.alpaca.rest import AlpacaREST
from fixtures_sim import poll_until

CONFIG = """\
[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"
config_poll_interval_s = 0.1

[sim]
host = "127.0.0.1"
alpaca_port = {alpaca_port}

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
allowed_symbols = ["AAPL", "NVDA"]

[[arena.models]]
id = "buy-and-hold"
provider = "baseline"
[arena.models.baseline]
kind = "buy_and_hold"
position_fraction = 0.05

[[arena.models]]
id = "slow-llm"
provider = "openai_compatible"
model = "slow"
base_url = "{llm_url}/v1"
timeout_s = 20
max_attempts = 1
"""


def q(path: Any, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args).fetchall()]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


@pytest.mark.slow
async def test_run_now_kill9_restart_no_duplicate_order(sim_server, daemon_proc) -> None:  # type: ignore[no-untyped-def]
    async with FakeLLMServer() as llm:
        port = int(sim_server.alpaca_url.rsplit(":", 1)[1])
        d = daemon_proc(CONFIG.format(alpaca_port=port, llm_url=llm.url))
        await asyncio.to_thread(d.start)
        r = await asyncio.to_thread(d.cli, "arena", "run-now", "--json")
        assert r.returncode == 0, r.stderr + d.log()
        run_id = json.loads(r.stdout)["run_id"]
        # the baseline's orders go out while the slow model is still thinking: kill -9 then
        await poll_until(
            lambda: q(d.db_path, "SELECT * FROM arena_orders WHERE model_id = 'buy-and-hold'"),
            timeout=30,
            what="the baseline's orders",
        )
        assert q(d.db_path, "SELECT status FROM arena_runs")[0]["status"] == "running"
        await asyncio.to_thread(d.stop, signal.SIGKILL)

        await asyncio.to_thread(d.start)  # restart: reconciles orders, marks the run stopped
        # every order ends known: filled, or not_sent if the kill came between its committed
        # intent and the request (never sent again: its run is over)
        await poll_until(
            lambda: all(
                o["status"] in ("filled", "not_sent")
                for o in q(d.db_path, "SELECT * FROM arena_orders")
            ),
            timeout=30,
            what="orders reconciled",
        )
        runs = await asyncio.to_thread(d.cli, "arena", "runs", "--json")
        assert runs.returncode == 0, runs.stderr
        (killed,) = json.loads(runs.stdout)
        assert killed["run_id"] == run_id and killed["status"] == "stopped"
        assert "interrupted" in killed["errors"][-1]["error"]

        # a second run: buy-and-hold holds what it has; the slow model decides this time
        r = await asyncio.to_thread(d.cli, "arena", "run-now", "--json")
        assert r.returncode == 0, r.stderr
        second = json.loads(r.stdout)["run_id"]

        def done() -> bool:
            rows = q(d.db_path, "SELECT status FROM arena_runs WHERE run_id = ?", second)
            return bool(rows) and rows[0]["status"] != "running"

        await poll_until(done, timeout=40, what="the second run")
        (row,) = q(d.db_path, "SELECT * FROM arena_runs WHERE run_id = ?", second)
        assert row["status"] == "completed", row
        assert set(json.loads(row["models_executed"])) == {"buy-and-hold", "slow-llm"}

        rest = AlpacaREST(sim_server.alpaca_url, sim_server.alpaca_url, *SIM_KEY)
        try:
            venue = await rest.orders(status="all")
            cids = [o.client_order_id for o in venue]
            assert len(cids) == len(set(cids)), "a client order id reached the venue twice"
            ours = q(d.db_path, "SELECT * FROM arena_orders WHERE status != 'not_sent'")
            assert {o["client_order_id"] for o in ours} == set(cids)
            bh = sorted(o["symbol"] for o in ours if o["model_id"] == "buy-and-hold")
            assert bh == ["AAPL", "NVDA"]  # each bought once, across both runs
            account = {p.symbol: Decimal(str(p.qty)) for p in await rest.positions()}
        finally:
            await rest.close()

        def ledgers_match() -> bool:
            held: dict[str, Decimal] = {}
            for p in q(d.db_path, "SELECT * FROM arena_positions"):
                held[p["symbol"]] = held.get(p["symbol"], Decimal(0)) + Decimal(p["qty"])
            return held == account

        await poll_until(ledgers_match, timeout=20, what="ledgers to match the account")
        events = q(d.db_path, "SELECT * FROM system_events WHERE category = 'arena'")
        assert not [e for e in events if "do not match" in e["message"]]
        # the control commands the TUI uses
        async with ControlClient(d.socket_path) as c:
            models = {m["model_id"]: m for m in await c.request("arena.models")}
            assert set(models) == {"buy-and-hold", "slow-llm"}
            assert models["buy-and-hold"]["book_id"] == "arena:buy-and-hold"
            runs_p = await c.request("arena.runs", limit=5)
            assert [r["status"] for r in runs_p][-1] == "stopped"
            assert runs_p[0]["status"] in ("ok", "partial") and runs_p[0]["models"] == 2
            decisions = await c.request("arena.decisions", book_id="arena:buy-and-hold")
            assert decisions and all(x["book_id"] == "arena:buy-and-hold" for x in decisions)
            assert {x["action"] for x in decisions} <= {"BUY", "HOLD"}
            paused = await c.request("arena.pause", model_id="slow-llm")
            assert paused["paused"] is True
            with pytest.raises(ControlError) as e:
                await c.request("arena.pause", model_id="nobody")
            assert e.value.code == "invalid_args"
            third = (await c.request("arena.run_now"))["run_id"]

            def third_done() -> bool:
                rows = q(d.db_path, "SELECT status FROM arena_runs WHERE run_id = ?", third)
                return bool(rows) and rows[0]["status"] != "running"

            await poll_until(third_done, timeout=30, what="the third run")
            (row3,) = q(d.db_path, "SELECT * FROM arena_runs WHERE run_id = ?", third)
            assert json.loads(row3["models_executed"]) == ["buy-and-hold"]
            await c.request("arena.resume", model_id="slow-llm")
            # the TUI's generic command, routed by the book's kind to the arena
            closed = await c.request("position.close", book_id="arena:buy-and-hold", symbol="AAPL")
            assert closed["reason"] == "manual" and closed["status"] == "submitted"
            await poll_until(
                lambda: q(d.db_path, "SELECT * FROM arena_trades WHERE exit_reason = 'manual'"),
                timeout=20,
                what="the manual exit",
            )
            with pytest.raises(ControlError):
                await c.request("arena.close_position", model_id="buy-and-hold", symbol="AAPL")

            # The metrics component: the books on one leaderboard, their round trips, and the
            # generic positions/orders gathered from the arena.
            await c.request("metrics.recompute")
            board = await c.request("leaderboard", timeframe="all_time")
            ids = {r["book_id"] for r in board}
            assert {"arena:buy-and-hold", "benchmark:SPY"} <= ids, board
            assert all(r["rank"] is None or r["rank"] >= 1 for r in board)
            only = await c.request("leaderboard", kind="benchmark")
            assert [r["book_id"] for r in only] == ["benchmark:SPY"]
            trips = await c.request("trades", book_id="arena:buy-and-hold")
            assert any(t["symbol"] == "AAPL" and t["exit_reason"] == "manual" for t in trips)
            pos = await c.request("positions")
            assert pos and all(p["kind"] == "arena_model" for p in pos)
            assert all(p["symbol"] != "AAPL" or p["book_id"] != "arena:buy-and-hold" for p in pos)
            orders = await c.request("orders", book_id="arena:buy-and-hold", limit=50)
            assert orders and {o["status"] for o in orders} <= {"filled", "rejected"}
            eq = await c.request("equity", series=["arena:buy-and-hold"])
            assert eq["series"]["arena:buy-and-hold"]
            with pytest.raises(ControlError) as e:
                await c.request("leaderboard", timeframe="hourly")
            assert e.value.code == "invalid_args"

            # The next run's prompts carry each model's standing ("Sharpe so far", trades).
            async def run_now() -> str | None:
                try:
                    return str((await c.request("arena.run_now"))["run_id"])
                except ControlError as e:  # the third run's second: refused, not folded in
                    assert e.code == "unavailable", e
                    return None

            fourth: str | None = None
            deadline = asyncio.get_running_loop().time() + 10
            while fourth is None:
                assert asyncio.get_running_loop().time() < deadline, "run_now kept refusing"
                fourth = await run_now()
                if fourth is None:
                    await asyncio.sleep(0.1)  # polling: the next second frees the slot

            def fourth_done() -> bool:
                rows = q(d.db_path, "SELECT status FROM arena_runs WHERE run_id = ?", fourth)
                return bool(rows) and rows[0]["status"] != "running"

            await poll_until(fourth_done, timeout=30, what="the fourth run")
            (prompt,) = q(
                d.db_path, "SELECT prompt FROM llm_calls WHERE run_id = ? LIMIT 1", fourth
            )
            slow = next(r for r in board if r["book_id"] == "arena:slow-llm")
            assert f"{slow['trades']} closed trades" in prompt["prompt"]
            # ... and its verdict on skill versus luck, the board's (issue 15).
            assert f"Verdict: {slow['verdict']}" in prompt["prompt"]
        await asyncio.to_thread(d.stop)
        # every arena book has a curve from start-up to shutdown: the books' invariants hold
        await asyncio.to_thread(d.audit)
        (n,) = q(
            d.db_path,
            "SELECT count(*) AS n FROM equity_snapshots WHERE book_id = 'arena:buy-and-hold'",
        )
        assert n["n"] >= 2
