"""OpenAI-compatible chat completions (OpenAI, Groq, Gemini's compatible endpoint, DeepSeek,
OpenRouter, Ollama, vLLM, llama.cpp): ``POST {base_url}/chat/completions``.

Structured output is asked with ``response_format``: ``{"type": "json_schema", "json_schema":
{"name", "schema", "strict": true}}`` where the endpoint supports schemas, ``{"type":
"json_object"}`` (JSON mode) where it only supports JSON, or nothing (prompt only). The answer
is ``choices[0].message.content``; a ``refusal`` or missing content is a failed attempt.
"""

from __future__ import annotations

from typing import Any

from arenad.llm.base import Answer, ChatRequest, LLMClient


class OpenAICompatClient(LLMClient):
    @property
    def endpoint(self) -> str:
        return f"{self.model.url}/chat/completions"

    def headers(self) -> dict[str, str]:
        h = {"content-type": "application/json", "accept": "application/json"}
        if self.api_key:
            h["authorization"] = f"Bearer {self.api_key}"
        return h

    def body(self, req: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model.model,
            "messages": [
                {"role": "system", "content": req.system},
                {"role": "user", "content": req.user},
            ],
            "temperature": self.model.temperature,
            "max_tokens": self.model.max_tokens,
        }
        mode = self.model.structured_output
        if mode == "json_schema" and req.schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": req.schema_name, "schema": req.schema, "strict": True},
            }
        elif mode == "json_object" or (mode == "json_schema" and req.schema is None):
            body["response_format"] = {"type": "json_object"}
        return body

    def parse(self, data: Any) -> Answer:
        usage = data.get("usage") or {}
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            return Answer(None, error="the answer has no choices")
        choice = choices[0]
        msg = choice.get("message") or {}
        content = msg.get("content")
        if isinstance(content, list):  # some servers answer content parts
            content = (
                "".join(str(p.get("text", "")) for p in content if isinstance(p, dict)) or None
            )
        ans = Answer(
            content if isinstance(content, str) else None,
            _int(usage.get("prompt_tokens")),
            _int(usage.get("completion_tokens")),
            choice.get("finish_reason"),
        )
        if msg.get("refusal"):
            ans.error = f"the model refused: {msg['refusal']}"
        return ans


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None
