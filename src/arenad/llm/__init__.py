"""LLM providers over HTTP: OpenAI-compatible chat completions and Anthropic messages.

Each call is a sequence of recorded :class:`~arenad.llm.base.Attempt` s (prompt, raw answer,
latency, tokens, cost), retried for 429/5xx/timeouts within a deadline. Nothing here raises for
what a provider answers: the outcome is data, so a run can record it and carry on.
"""
