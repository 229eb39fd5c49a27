"""One arena run with 10 LLM models x 5 symbols against a fake OpenAI-compatible server on
loopback that answers each call after 200 ms. Fifty calls in sequence would take 10 s; run
concurrently (each model's max_concurrency = 5) the run should take about one call's time.
Everything real but the model: HTTP over loopback, prompt building, parsing, rails, the
internal executor, and every call, decision and order committed to SQLite through the store
writer (synchronous=FULL, as shipped).

    .venv/bin/python -m bench.arena_run [RUNS]
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from arenad.arena.executor import InternalExecutor
from arenad.arena.market import Bar
from arenad.arena.runner import ArenaRunner
from arenad.arena.schedule import manual_slot
from arenad.arena.settings import ArenaSettings
from arenad.arena.store import ArenaStore
from arenad.store.migrate import migrate_sync
from arenad.store.writer import StoreWriter

SYMBOLS = ["AAPL", "NVDA", "TSLA", "MSFT", "GOOGL"]
MODELS = 10
DELAY_S = 0.2


async def _answer(request: web.Request) -> web.Response:
    body = await request.json()
    m = re.search(r"Decide for: (\S+)", body["messages"][-1]["content"])
    sym = m.group(1) if m else "AAPL"
    await asyncio.sleep(DELAY_S)
    text = json.dumps(
        {
            "symbol": sym,
            "action": "BUY",
            "quantity": 1,
            "entry_price": None,
            "stop_loss": 50,
            "take_profit": 500,
            "confidence": 0.6,
            "timeframe": "swing",
            "reasoning": {"bullish": "b", "bearish": "b", "technical": "t", "fundamental": "f"},
        }
    )
    return web.json_response(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1500, "completion_tokens": 120, "total_tokens": 1620},
        }
    )


class _Market:
    def __init__(self) -> None:
        end = datetime(2025, 3, 7, 21, tzinfo=UTC)
        self._bars = {
            s: [
                Bar(
                    end - timedelta(days=59 - i),
                    Decimal(100 + i),
                    Decimal(101 + i),
                    Decimal(99 + i),
                    Decimal(100 + i),
                    Decimal(1000),
                )
                for i in range(60)
            ]
            for s in SYMBOLS
        }

    async def bars(self, symbols: Any, limit: int) -> dict[str, list[Bar]]:
        return {s: self._bars[s][-limit:] for s in symbols}


async def bench(runs: int, shared_pool: bool = False) -> dict[str, Any]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", _answer)
    web_runner = web.AppRunner(app)
    await web_runner.setup()
    site = web.TCPSite(web_runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    settings = ArenaSettings.model_validate(
        {
            "models": [
                {
                    "id": f"m{i}",
                    "provider": "openai_compatible",
                    "model": f"fake-{i}",
                    "base_url": f"http://127.0.0.1:{port}/v1",
                    "max_concurrency": 5,
                    "input_price_per_mtok": 1.0,
                    "output_price_per_mtok": 3.0,
                }
                for i in range(MODELS)
            ],
            "rails": {"allowed_symbols": SYMBOLS},
        }
    )
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.db"
        migrate_sync(path)
        writer = StoreWriter(path, synchronous="full")
        await writer.start()
        shared = (
            httpx.AsyncClient(limits=httpx.Limits(max_connections=200)) if shared_pool else None
        )
        runner = ArenaRunner(
            settings, ArenaStore(writer), _Market(), InternalExecutor(), http=shared
        )
        await runner.start()
        walls = []
        summary = None
        for i in range(runs + 1):  # the first run warms connections and is not counted
            slot = manual_slot(datetime(2025, 3, 10, 15, tzinfo=UTC) + timedelta(seconds=i))
            t0 = time.perf_counter()
            summary = await runner.run(slot, "operator")
            wall = time.perf_counter() - t0
            if i:
                walls.append(wall)
            assert summary.status == "completed", summary.errors
            assert summary.decisions == MODELS * len(SYMBOLS)
        await runner.close()
        if shared is not None:
            await shared.aclose()
        await writer.close()
        conn = sqlite3.connect(path)
        lat = [r[0] for r in conn.execute("SELECT duration_ms FROM llm_calls")]
        n_calls = len(lat)
        conn.close()
    await web_runner.cleanup()
    assert summary is not None
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, "
        f"python {platform.python_version()}",
        "models": MODELS,
        "symbols": len(SYMBOLS),
        "llm_delay_s": DELAY_S,
        "runs": runs,
        "calls_recorded": n_calls,
        "sequential_sum_s": MODELS * len(SYMBOLS) * DELAY_S,
        "wall_median_s": round(statistics.median(walls), 3),
        "wall_max_s": round(max(walls), 3),
        "call_latency_p50_ms": round(statistics.median(lat), 1),
        "call_latency_max_ms": round(max(lat), 1),
        "trades_last_run": summary.trades,
    }


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 5
    out = asyncio.run(bench(runs))
    # The same run with one connection pool shared by all models (the first design), as the
    # baseline measured on the same machine in the same run.
    shared = asyncio.run(bench(runs, shared_pool=True))
    out["shared_pool_wall_median_s"] = shared["wall_median_s"]
    out["shared_pool_call_latency_p50_ms"] = shared["call_latency_p50_ms"]
    print(json.dumps(out, indent=2))
    assert out["wall_max_s"] < 1.0, "a 10x5 run must finish well under 1 s"


if __name__ == "__main__":
    main()
