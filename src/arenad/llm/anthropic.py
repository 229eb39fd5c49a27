"""Anthropic messages API: ``POST {base_url}/v1/messages`` with ``x-api-key`` and
``anthropic-version: 2023-06-01``.

The system prompt is the top-level ``system`` field; ``max_tokens`` is required. Structured
output (``structured_output = "json_schema"``) is asked with ``output_config: {"format":
{"type": "json_schema", "schema": ...}}``; otherwise the prompt alone asks for JSON. The
answer is the concatenated ``text`` blocks of ``content``; ``stop_reason = "max_tokens"`` is
kept in the record (the parser then reports the JSON as truncated).
"""

from __future__ import annotations

from typing import Any

from arenad.llm.base import Answer, ChatRequest, LLMClient

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicClient(LLMClient):
    @property
    def endpoint(self) -> str:
        return f"{self.model.url}/v1/messages"

    def headers(self) -> dict[str, str]:
        h = {"content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        if self.api_key:
            h["x-api-key"] = self.api_key
        return h

    def body(self, req: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model.model,
            "max_tokens": self.model.max_tokens,
            "temperature": min(self.model.temperature, 1.0),
            "system": req.system,
            "messages": [{"role": "user", "content": req.user}],
        }
        if self.model.structured_output == "json_schema" and req.schema is not None:
            body["output_config"] = {"format": {"type": "json_schema", "schema": req.schema}}
        return body

    def parse(self, data: Any) -> Answer:
        if data.get("type") == "error":
            err = data.get("error") or {}
            return Answer(None, error=f"{err.get('type')}: {err.get('message')}")
        blocks = data.get("content")
        if not isinstance(blocks, list):
            return Answer(None, error="the answer has no content blocks")
        text = "".join(
            str(b.get("text", ""))
            for b in blocks
            if isinstance(b, dict) and b.get("type") == "text"
        )
        usage = data.get("usage") or {}
        ans = Answer(
            text or None,
            _int(usage.get("input_tokens")),
            _int(usage.get("output_tokens")),
            data.get("stop_reason"),
        )
        if data.get("stop_reason") == "refusal":
            ans.error = "the model refused"
        return ans


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None
