"""LLM providers against fake OpenAI-compatible and Anthropic servers on loopback (real HTTP):
every kind of answer ends as a stored decision or a stored failure, and the run completes."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import httpx
import pytest
from arena_fakes import FakeLLMServer, StaticMarket, arena_settings, make_bars

from arenad.arena.executor import InternalExecutor
from arenad.arena.runner import ArenaRunner
from arenad.arena.schedule import Slot
from arenad.arena.settings import ArenaModelSettings, ArenaSettings
from arenad.arena.store import ArenaStore
from arenad.clock import SystemClock
from arenad.llm.base import ChatRequest, classify, retry_after_s
from arenad.llm.factory import make_client

SCENARIOS = [
    "valid",
    "fenced",
    "prose",
    "truncated",
    "wrong_schema",
    "big",
    "slow",
    "rate_limited",
    "error500",
    "flaky500",
]
SYMBOLS = ["AAPL", "NVDA"]


def _models(url: str) -> list[dict[str, Any]]:
    out = []
    for provider, base in (("openai_compatible", f"{url}/v1"), ("anthropic", url)):
        short = "oa" if provider == "openai_compatible" else "an"
        for sc in SCENARIOS:
            out.append(
                {
                    "id": f"{short}-{sc.replace('_', '-')}",
                    "provider": provider,
                    "model": sc,
                    "base_url": base,
                    "api_key_env": "FAKE_LLM_KEY",
                    "timeout_s": 0.4 if sc == "slow" else 5.0,
                    "max_attempts": 2 if sc == "slow" else 3,
                    "input_price_per_mtok": 1.0,
                    "output_price_per_mtok": 2.0,
                }
            )
    return out


def _rows(path: Any, sql: str, *args: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def test_every_answer_ends_as_a_stored_decision_or_failure(store) -> None:  # type: ignore[no-untyped-def]
    bars = {s: make_bars(s) for s in SYMBOLS}
    async with FakeLLMServer() as srv:
        srv.price = float(bars["AAPL"][-1].close)
        settings = arena_settings(_models(srv.url))
        runner = ArenaRunner(
            settings,
            ArenaStore(store.writer),
            StaticMarket(bars),
            InternalExecutor(),
            environ={"FAKE_LLM_KEY": "sk-test-123"},
        )
        await runner.start()
        t0 = time.perf_counter()
        summary = await runner.run(Slot(SystemClock().now(), "test:providers"), "operator")
        elapsed = time.perf_counter() - t0
        await runner.close()

    assert summary.status == "completed", summary.errors
    assert len(summary.models_executed) == 2 * len(SCENARIOS)
    assert elapsed < 8, "models must be called concurrently"
    decisions = _rows(store.path, "SELECT * FROM arena_decisions")
    by = {(r["model_id"], r["symbol"]): r for r in decisions}
    assert len(decisions) == 2 * len(SCENARIOS) * len(SYMBOLS)
    for short in ("oa", "an"):
        for sym in SYMBOLS:
            for sc in ("valid", "fenced", "flaky500"):
                r = by[(f"{short}-{sc}", sym)]
                assert r["valid"] == 1 and r["action"] == "BUY", (sc, dict(r))
                assert r["order_status"] == "filled"
                assert json.loads(r["reasoning"])["technical"] == "above SMA20"
            expect = {
                "prose": "prose only",
                "truncated": "truncated",
                "wrong-schema": "schema:",
                "big": "larger than",
                "slow": "gave up after 2 attempts",
                "error500": "HTTP 500",
            }
            for sc, reason in expect.items():
                r = by[(f"{short}-{sc}", sym)]
                assert r["valid"] == 0 and r["action"] == "HOLD", (sc, dict(r))
                assert reason in r["error"], (sc, r["error"])
                assert r["order_status"] is None
            # prose/truncated/wrong schema keep the model's raw text
            for sc in ("prose", "truncated", "wrong-schema"):
                assert by[(f"{short}-{sc}", sym)]["raw"]
        # one 429 per provider, honoured, then the answer
        rl = [by[(f"{short}-rate-limited", s)] for s in SYMBOLS]
        assert all(r["valid"] == 1 for r in rl)

    calls = _rows(store.path, "SELECT * FROM llm_calls")
    assert all(c["prompt"] and c["system_prompt"] for c in calls)
    ok = [c for c in calls if c["outcome"] == "ok" and c["model_id"] == "oa-valid"]
    assert ok and ok[0]["input_tokens"] == 1200 and ok[0]["output_tokens"] == 150
    assert ok[0]["cost_usd"] == pytest.approx((1200 * 1.0 + 150 * 2.0) / 1e6)
    assert ok[0]["status_code"] == 200 and ok[0]["duration_ms"] > 0
    an_ok = [c for c in calls if c["outcome"] == "ok" and c["model_id"] == "an-valid"]
    assert an_ok[0]["input_tokens"] == 1300 and an_ok[0]["endpoint"].endswith("/v1/messages")
    limited = [c for c in calls if c["status_code"] == 429]
    assert len(limited) == 2 and all(c["outcome"] == "retry" for c in limited)
    big = [c for c in calls if c["model_id"] == "oa-big"]
    assert big[0]["response_bytes"] > 1_048_576
    assert len(big[0]["response"]) < 70_000 and "cut" in big[0]["response"]
    slow = [c for c in calls if c["model_id"] == "an-slow"]
    assert len(slow) == 2 * len(SYMBOLS) and all(c["status_code"] is None for c in slow)
    e500 = [c for c in calls if c["model_id"] == "oa-error500"]
    assert len(e500) == 3 * len(SYMBOLS)

    # the wire: auth headers, versions, structured output
    oa = [(b, h) for b, h in zip(srv.requests, srv.headers, strict=True) if "response_format" in b]
    assert oa and oa[0][1]["Authorization"] == "Bearer sk-test-123"
    assert oa[0][0]["response_format"]["type"] == "json_schema"
    assert oa[0][0]["response_format"]["json_schema"]["strict"] is True
    an = [(b, h) for b, h in zip(srv.requests, srv.headers, strict=True) if "system" in b]
    assert an and an[0][1]["x-api-key"] == "sk-test-123"
    assert an[0][1]["anthropic-version"] == "2023-06-01"
    assert an[0][0]["output_config"]["format"]["type"] == "json_schema"
    assert an[0][0]["max_tokens"] == 1024

    run = _rows(store.path, "SELECT * FROM arena_runs")[0]
    assert run["status"] == "completed"
    assert run["trades_generated"] == 2 * 4 * len(SYMBOLS)  # valid, fenced, flaky500, rate_limited
    errors = json.loads(run["errors"])
    assert {e["model_id"] for e in errors} >= {"oa-prose", "an-big", "oa-slow"}


async def test_retry_after_is_honoured() -> None:
    async with FakeLLMServer() as srv, httpx.AsyncClient() as http:
        m = ArenaModelSettings(
            id="x", provider="openai_compatible", model="rate_limited", base_url=f"{srv.url}/v1"
        )
        client = make_client(m, ArenaSettings(retry_base_s=0.01), http)
        t0 = time.perf_counter()
        res = await client.ask(
            ChatRequest("s", "Decide for: AAPL"), deadline=client.clock.monotonic() + 10
        )
        waited = time.perf_counter() - t0
    assert res.ok and len(res.attempts) == 2
    assert res.attempts[0].status_code == 429 and res.attempts[0].retry_after == 1.0
    assert waited >= 1.0


async def test_retry_that_would_pass_the_deadline_is_not_started() -> None:
    async with FakeLLMServer() as srv, httpx.AsyncClient() as http:
        m = ArenaModelSettings(id="x", provider="anthropic", model="rate_limited", base_url=srv.url)
        client = make_client(m, ArenaSettings(), http)
        res = await client.ask(
            ChatRequest("s", "Decide for: AAPL"), deadline=client.clock.monotonic() + 0.5
        )
    assert not res.ok and len(res.attempts) == 1
    assert "would pass the run deadline" in (res.error or "")


async def test_unauthorized_is_not_retried_and_missing_key_sends_nothing() -> None:
    async with FakeLLMServer() as srv, httpx.AsyncClient() as http:
        m = ArenaModelSettings(
            id="x", provider="openai_compatible", model="unauthorized", base_url=f"{srv.url}/v1"
        )
        res = await make_client(m, ArenaSettings(), http).ask(
            ChatRequest("s", "u"), deadline=time.monotonic() + 5
        )
        assert len(res.attempts) == 1 and "401" in (res.error or "")
        m2 = ArenaModelSettings(
            id="y",
            provider="anthropic",
            model="valid",
            base_url=srv.url,
            api_key_env="NOT_SET_ANYWHERE_123",
        )
        res2 = await make_client(m2, ArenaSettings(), http, environ={}).ask(
            ChatRequest("s", "u"), deadline=time.monotonic() + 5
        )
        assert res2.attempts == [] and "NOT_SET_ANYWHERE_123" in (res2.error or "")
        assert len(srv.requests) == 1


async def test_connection_refused_is_a_recorded_failure() -> None:
    async with httpx.AsyncClient() as http:
        m = ArenaModelSettings(
            id="x",
            provider="openai_compatible",
            model="m",
            base_url="http://127.0.0.1:9/v1",
            max_attempts=2,
        )
        res = await make_client(m, ArenaSettings(retry_base_s=0.01), http).ask(
            ChatRequest("s", "u"), deadline=time.monotonic() + 5
        )
    assert not res.ok and len(res.attempts) == 2
    assert all(a.status_code is None and a.outcome == "retry" for a in res.attempts)


def test_classify_and_retry_after() -> None:
    assert classify(429, b'{"error":{"type":"rate_limit_error","message":"x"}}')[0] == "retry"
    assert classify(429, b'{"error":{"code":"insufficient_quota","message":"pay"}}')[0] == "fail"
    assert classify(529, b'{"type":"error","error":{"type":"overloaded_error"}}')[0] == "retry"
    assert classify(503, b"<html>")[0] == "retry"
    assert (
        classify(400, b'{"error":{"message":"response_format not supported"}}')[1].count(
            "structured_output"
        )
        == 1
    )
    assert classify(404, b"{}")[0] == "fail"
    assert retry_after_s({"retry-after": "3"}) == 3.0
    assert retry_after_s({"retry-after-ms": "250"}) == 0.25
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_s({}) is None


def test_openai_json_object_and_none_modes() -> None:
    http = httpx.AsyncClient()
    s = ArenaSettings()
    for mode, expect in (("json_object", {"type": "json_object"}), ("none", None)):
        m = ArenaModelSettings(
            id="x", provider="openai_compatible", model="m", structured_output=mode
        )  # type: ignore[arg-type]
        body = make_client(m, s, http).body(ChatRequest("s", "u", {"type": "object"}))
        assert body.get("response_format") == expect


@pytest.mark.parametrize("provider", ["openai_compatible", "anthropic"])
async def test_an_endpoint_that_echoes_the_key_gets_it_redacted(provider: str) -> None:
    key = "sk-echo-" + "0123456789abcdef" * 2
    async with FakeLLMServer() as srv, httpx.AsyncClient() as http:
        base = f"{srv.url}/v1" if provider == "openai_compatible" else srv.url
        m = ArenaModelSettings(
            id="x",
            provider=provider,  # type: ignore[arg-type]
            model="echo_auth",
            base_url=base,
            api_key_env="ECHO_KEY",
        )
        # a storage cut inside the echoed key must not leave a part of it either
        arena = ArenaSettings(stored_response_bytes=256)
        res = await make_client(m, arena, http, environ={"ECHO_KEY": key}).ask(
            ChatRequest("s", "u"), deadline=time.monotonic() + 5
        )
    (a,) = res.attempts
    assert a.status_code == 401 and a.outcome == "fail" and "[REDACTED]" in a.raw
    assert key in json.dumps(srv.headers)  # the key was sent, and echoed back
    for text in (a.raw, a.error or "", res.error or ""):
        assert key not in text and key[8:20] not in text
    assert "[REDACTED]" in (a.error or "")
