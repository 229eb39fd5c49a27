"""Make the client for a model's provider."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from arenad.arena.settings import ArenaModelSettings, ArenaSettings
from arenad.clock import Clock
from arenad.llm.anthropic import AnthropicClient
from arenad.llm.base import LLMClient
from arenad.llm.openai_compat import OpenAICompatClient


def make_client(
    model: ArenaModelSettings,
    arena: ArenaSettings,
    http: httpx.AsyncClient,
    *,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
) -> LLMClient:
    cls: type[LLMClient]
    if model.provider == "openai_compatible":
        cls = OpenAICompatClient
    elif model.provider == "anthropic":
        cls = AnthropicClient
    else:
        raise ValueError(f"model {model.id!r}: provider {model.provider!r} has no HTTP client")
    return cls(
        model,
        http,
        max_response_bytes=arena.max_response_bytes,
        stored_response_bytes=arena.stored_response_bytes,
        retry_base_s=arena.retry_base_s,
        retry_max_backoff_s=arena.retry_max_backoff_s,
        clock=clock,
        environ=environ,
    )
