"""The provider-independent part of an LLM call: one HTTP attempt read with a size cap, the one
function that decides retry vs fail, jittered backoff within a deadline, and the call record.

Providers (``openai_compat``, ``anthropic``) only say how to build the request body and how to
read the answer. Errors are converted here, at the boundary: every httpx exception and every
HTTP status becomes an :class:`Attempt` with ``outcome`` ``ok``, ``retry`` or ``fail`` and a
reason in words. A call therefore never raises for anything the network or the provider does
(only cancellation propagates).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from arenad.arena.settings import ArenaModelSettings
from arenad.clock import Clock, SystemClock
from arenad.logs import Redactor

Outcome = Literal["ok", "retry", "fail"]
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


@dataclass(frozen=True, slots=True)
class ChatRequest:
    system: str
    user: str
    schema: dict[str, Any] | None = None
    """JSON schema of the answer, for providers' structured output."""
    schema_name: str = "decision"


@dataclass(slots=True)
class Answer:
    """What a provider's success body says."""

    text: str | None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    error: str | None = None
    """Set when a 200 body still carries no usable answer (refusal, no choices)."""


@dataclass(slots=True)
class Attempt:
    """One HTTP request to a provider and what became of it (a row of the LLM call log)."""

    endpoint: str
    method: str
    started_at: datetime
    latency_ms: float
    status_code: int | None
    outcome: Outcome
    raw: str
    """The answer body as received, cut to the stored size (see ``raw_bytes``)."""
    raw_bytes: int
    content: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    cost_usd: float | None = None
    error: str | None = None
    retry_after: float | None = None


@dataclass(slots=True)
class CallResult:
    content: str | None
    """The model's text, when some attempt succeeded."""
    attempts: list[Attempt] = field(default_factory=list)
    error: str | None = None
    """Why there is no content (the last attempt's reason, or the deadline)."""

    @property
    def ok(self) -> bool:
        return self.content is not None


def retry_after_s(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait per ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    v = headers.get("retry-after")
    if not v:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_message(body: bytes) -> str:
    """The provider's own error message (both providers nest it under ``error``)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body[:200].decode("utf-8", "replace")
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            kind = err.get("type") or err.get("code") or ""
            return f"{kind}: {err.get('message', '')}".strip(": ")
        if isinstance(err, str):
            return err
    return str(data)[:200]


def classify(status: int, body: bytes) -> tuple[Outcome, str]:
    """The one place that decides whether an HTTP answer is worth retrying."""
    msg = error_message(body)
    if status == 429:
        # A 429 that means the money ran out will not clear by waiting.
        if any(k in msg for k in ("insufficient_quota", "spend_limit", "billing")):
            return "fail", f"HTTP 429 quota exhausted: {msg}"
        return "retry", f"HTTP 429 rate limited: {msg}"
    if status in RETRY_STATUSES or status >= 500:
        return "retry", f"HTTP {status}: {msg}"
    if status in (401, 403):
        return "fail", f"HTTP {status} not authorized (check the API key variable): {msg}"
    if status == 400 and "response_format" in msg:
        return "fail", (
            f"HTTP 400: {msg} (if this endpoint lacks structured output, set "
            "structured_output = 'json_object' or 'none' for this model)"
        )
    return "fail", f"HTTP {status}: {msg}"


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Jittered exponential backoff for the attempt that just failed (1-based)."""
    step: float = min(cap, base * 2.0 ** (attempt - 1))
    return step * (0.5 + rng.random() / 2)


class LLMClient(ABC):
    """One model's client: request building is the provider's, everything else is here."""

    def __init__(
        self,
        model: ArenaModelSettings,
        http: httpx.AsyncClient,
        *,
        max_response_bytes: int = 1_048_576,
        stored_response_bytes: int = 65_536,
        retry_base_s: float = 0.5,
        retry_max_backoff_s: float = 8.0,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.model = model
        self.http = http
        self.max_response_bytes = max_response_bytes
        self.stored_response_bytes = stored_response_bytes
        self.retry_base_s = retry_base_s
        self.retry_max_backoff_s = retry_max_backoff_s
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        env = os.environ if environ is None else environ
        self.api_key: str | None = env.get(model.api_key_env) if model.api_key_env else None
        self._redact = Redactor([self.api_key] if self.api_key else []).redact_text
        self._slots = asyncio.Semaphore(model.max_concurrency)

    # --- provider specifics ------------------------------------------------------------

    @property
    @abstractmethod
    def endpoint(self) -> str: ...

    @abstractmethod
    def headers(self) -> dict[str, str]: ...

    @abstractmethod
    def body(self, req: ChatRequest) -> dict[str, Any]: ...

    @abstractmethod
    def parse(self, data: Any) -> Answer: ...

    # --- the call ----------------------------------------------------------------------

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        if input_tokens is None and output_tokens is None:
            return None
        m = self.model
        return (
            (input_tokens or 0) * m.input_price_per_mtok
            + (output_tokens or 0) * m.output_price_per_mtok
        ) / 1e6

    async def ask(self, req: ChatRequest, *, deadline: float) -> CallResult:
        """Ask once, retrying 429/5xx/timeouts until success, a final failure, ``max_attempts``
        or the ``deadline`` (on this client's clock's monotonic time)."""
        result = CallResult(None)
        if self.model.api_key_env and not self.api_key:
            result.error = f"environment variable {self.model.api_key_env} is not set"
            return result
        async with self._slots:
            for n in range(1, self.model.max_attempts + 1):
                remaining = deadline - self.clock.monotonic()
                if remaining <= 0:
                    result.error = _join(result.error, "run deadline reached before the call")
                    return result
                a = await self._attempt(req, min(self.model.timeout_s, remaining))
                result.attempts.append(a)
                if a.outcome == "ok":
                    result.content, result.error = a.content, None
                    return result
                result.error = a.error
                if a.outcome == "fail" or n == self.model.max_attempts:
                    if a.outcome == "retry":
                        result.error = f"gave up after {n} attempts: {a.error}"
                    return result
                wait = backoff(n, self.retry_base_s, self.retry_max_backoff_s, self.rng)
                if a.retry_after is not None:
                    wait = max(wait, a.retry_after)
                if self.clock.monotonic() + wait >= deadline:
                    result.error = f"{a.error}; a retry in {wait:.1f}s would pass the run deadline"
                    return result
                await self.clock.sleep(wait)
        return result

    async def _attempt(self, req: ChatRequest, timeout: float) -> Attempt:
        started = self.clock.now()
        t0 = time.perf_counter()
        status: int | None = None
        body = b""
        total = 0
        headers: Mapping[str, str] = {}

        def done(outcome: Outcome, error: str | None, **kw: Any) -> Attempt:
            # Redacted before anything keeps it (call log, decision, run errors, live stream,
            # log): an endpoint may echo the key, e.g. the Authorization header in a 401 body.
            # The body is decoded whole first, so a key across the storage cut is still found.
            cap = self.stored_response_bytes
            clean = self._redact(body.decode("utf-8", "replace")).encode()
            stored = clean[:cap].decode("utf-8", "replace")
            if total > len(body) or len(clean) > cap:  # (an answer over the size limit)
                stored += f"\n[... cut: {total} bytes received]"
            if error is not None:
                error = self._redact(error)
            if kw.get("content") is not None:
                kw["content"] = self._redact(kw["content"])
            return Attempt(
                self.endpoint,
                "POST",
                started,
                (time.perf_counter() - t0) * 1000,
                status,
                outcome,
                stored,
                total,
                error=error,
                **kw,
            )

        try:
            async with asyncio.timeout(timeout):
                async with self.http.stream(
                    "POST", self.endpoint, json=self.body(req), headers=self.headers()
                ) as resp:
                    status, headers = resp.status_code, resp.headers
                    chunks: list[bytes] = []
                    async for chunk in resp.aiter_bytes():
                        total += len(chunk)
                        if total > self.max_response_bytes:
                            body = b"".join(chunks)
                            return done(
                                "fail", f"answer larger than {self.max_response_bytes} bytes"
                            )
                        chunks.append(chunk)
                    body = b"".join(chunks)
        except TimeoutError:
            return done("retry", f"no complete answer within {timeout:.1f}s")
        except httpx.HTTPError as e:
            return done("retry", f"{type(e).__name__}: {e}")
        if status != 200:
            outcome, reason = classify(status or 0, body)
            ra = retry_after_s(headers, self.clock.now()) if outcome == "retry" else None
            return done(outcome, reason, retry_after=ra)
        try:
            data = json.loads(body)
            ans = self.parse(data)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
            return done("fail", f"HTTP 200 but not a {self.model.provider} answer: {e}")
        cost = self.cost(ans.input_tokens, ans.output_tokens)
        extra = {
            "input_tokens": ans.input_tokens,
            "output_tokens": ans.output_tokens,
            "finish_reason": ans.finish_reason,
            "cost_usd": cost,
        }
        if ans.error or ans.text is None:
            return done("fail", ans.error or "the answer has no text", **extra)
        return done("ok", None, content=ans.text, **extra)


def _join(a: str | None, b: str) -> str:
    return f"{a}; {b}" if a else b
