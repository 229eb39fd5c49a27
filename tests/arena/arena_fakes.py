"""Fakes shared by the arena tests: synthetic bars, a static market, and a fake LLM server
speaking the OpenAI chat-completions and Anthropic messages protocols over real loopback HTTP.

The fake server's behaviour is chosen by the ``model`` field of the request, so one server
serves every scenario at once: ``valid``, ``fenced``, ``prose``, ``truncated``,
``wrong_schema``, ``big`` (a 2 MB body), ``slow`` (answers after 2 s), ``rate_limited`` (429
with Retry-After first, then valid), ``error500`` (always 500), ``flaky500`` (500 then valid),
``delay200`` (valid after 200 ms, for the benchmark).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from arenad.arena.market import Bar
from arenad.arena.settings import ArenaSettings


def make_bars(
    symbol: str,
    n: int = 60,
    *,
    start: float = 100.0,
    drift: float = 0.0,
    seed: int = 1,
    end: datetime | None = None,
) -> list[Bar]:
    rng = random.Random(f"{symbol}|{seed}")
    end = end or datetime(2025, 3, 7, 21, 0, tzinfo=UTC)
    price = start
    out = []
    for i in range(n):
        o = price
        price = max(1.0, price * (1 + drift + rng.gauss(0, 0.015)))
        c = price
        hi, lo = max(o, c) * 1.005, min(o, c) * 0.995
        q = Decimal("0.01")
        out.append(
            Bar(
                end - timedelta(days=n - 1 - i),
                Decimal(str(o)).quantize(q),
                Decimal(str(hi)).quantize(q),
                Decimal(str(lo)).quantize(q),
                Decimal(str(c)).quantize(q),
                Decimal(1000 + i),
            )
        )
    return out


class StaticMarket:
    def __init__(self, bars: dict[str, list[Bar]]) -> None:
        self._bars = bars
        self.calls = 0

    async def bars(self, symbols: Sequence[str], limit: int) -> dict[str, list[Bar]]:
        self.calls += 1
        return {s: self._bars.get(s, [])[-limit:] for s in symbols}


def arena_settings(models: list[dict[str, Any]], **kw: Any) -> ArenaSettings:
    data: dict[str, Any] = {
        "models": models,
        "rails": {
            "allowed_symbols": ["AAPL", "NVDA"],
            "max_position_size": 50000,
            "max_daily_loss": 5000,
            "max_open_positions": 5,
        },
        "retry_base_s": 0.05,
        "retry_max_backoff_s": 0.2,
        "run_deadline_s": 10,
    }
    data.update(kw)
    return ArenaSettings.model_validate(data)


def decision_json(symbol: str, price: float = 100.0) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "action": "BUY",
        "quantity": 10,
        "entry_price": None,
        "stop_loss": round(price * 0.8, 2),
        "take_profit": round(price * 1.3, 2),
        "confidence": 0.7,
        "timeframe": "swing",
        "reasoning": {
            "bullish": "trend up",
            "bearish": "rates",
            "technical": "above SMA20",
            "fundamental": "strong earnings",
        },
    }


def _symbol_of(prompt: str) -> str:
    m = re.search(r"Decide for: (\S+)", prompt)
    return m.group(1) if m else "AAPL"


class FakeLLMServer:
    """Both providers on one aiohttp app, on 127.0.0.1 and an ephemeral port."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.counts: Counter[tuple[str, str]] = Counter()
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.price = 100.0

    async def __aenter__(self) -> FakeLLMServer:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1/messages", self._anthropic)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _text(self, scenario: str, symbol: str) -> str:
        d = decision_json(symbol, self.price)
        if scenario == "fenced":
            return "Here is my decision:\n```json\n" + json.dumps(d, indent=2) + "\n```\nGood luck."
        if scenario == "prose":
            return "I think the market looks uncertain, so I would rather wait and see."
        if scenario == "truncated":
            return json.dumps(d)[:70]
        if scenario == "wrong_schema":
            return json.dumps({"ticker": symbol, "verdict": "strong buy", "size": "lots"})
        return json.dumps(d)

    async def _common(self, request: web.Request) -> tuple[str, str, dict[str, Any]] | web.Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        scenario = str(body.get("model"))
        self.counts[(request.path, scenario)] += 1
        n = self.counts[(request.path, scenario)]
        if scenario == "slow":
            await asyncio.sleep(2.0)
        if scenario == "delay200":
            await asyncio.sleep(0.2)
        if scenario == "rate_limited" and n == 1:
            return web.json_response(
                {"error": {"type": "rate_limit_error", "message": "slow down"}},
                status=429,
                headers={"Retry-After": "1"},
            )
        if scenario == "error500" or (scenario == "flaky500" and n == 1):
            return web.json_response(
                {"error": {"type": "server_error", "message": "boom"}}, status=500
            )
        if scenario == "echo_auth":  # a careless endpoint: repeats the credentials it got
            auth = request.headers.get("Authorization") or request.headers.get("x-api-key", "")
            return web.json_response(
                {
                    "error": {
                        "type": "invalid_api_key",
                        "detail": "x" * 150,  # puts the key across a 256-byte storage cut
                        "message": f"bad credentials: {auth}",
                    }
                },
                status=401,
                headers={"X-Echo": auth},
            )
        if scenario == "unauthorized":
            return web.json_response(
                {"error": {"type": "authentication_error", "message": "invalid x-api-key"}},
                status=401,
            )
        if scenario == "big":
            return web.Response(
                body=b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}',
                content_type="application/json",
            )
        prompt = body["messages"][-1]["content"]
        return scenario, self._text(scenario, _symbol_of(prompt)), body

    async def _openai(self, request: web.Request) -> web.Response:
        r = await self._common(request)
        if isinstance(r, web.Response):
            return r
        scenario, text, _body = r
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": scenario,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "length" if scenario == "truncated" else "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1200, "completion_tokens": 150, "total_tokens": 1350},
            }
        )

    async def _anthropic(self, request: web.Request) -> web.Response:
        r = await self._common(request)
        if isinstance(r, web.Response):
            return r
        scenario, text, _body = r
        return web.json_response(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": scenario,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "max_tokens" if scenario == "truncated" else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 1300, "output_tokens": 160},
            }
        )
