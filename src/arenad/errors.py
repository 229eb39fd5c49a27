"""The project's error classes, typed by what the daemon should do about them.

Adapters convert library errors at the boundary (``raise TemporaryError(...) from e``) so that
the loops above them decide with one ``except`` per consequence, never by inspecting a
library's exception zoo:

- :class:`TemporaryError` resolves itself: retry with backoff (network blips, 429, 5xx).
- :class:`SkipError` is about one input item: record it, skip it, carry on (a malformed wire
  message, an LLM answer that does not validate).
- :class:`OperationalError` stops the component that raised it; for a trading loop the
  supervisor engages the kill switch (bad credentials, an unrecoverable ingest gap).
- :class:`ConfigError` is bad operator input: exit 2 at start, or reject a live edit.
"""

from __future__ import annotations

from dataclasses import dataclass


class ArenadError(Exception):
    """Base of every error arenad raises on purpose."""


class TemporaryError(ArenadError):
    """Retry later; the condition is expected to clear (timeouts, 429, 5xx, dropped sockets)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SkipError(ArenadError):
    """This one item is bad: record it and move on without stopping the loop."""


class OperationalError(ArenadError):
    """The component cannot continue; trading loops that raise it engage the kill switch."""


class StoreError(OperationalError):
    """The database cannot be used (newer schema than this build, corrupt file)."""


class StorageFailure(StoreError):
    """A write could not be persisted: disk full, I/O error, read-only or unwritable file
    system. Trading halts at once (in memory) and the kill switch write is retried."""


class OrderRejected(SkipError):
    """The venue refused one order (per-order error inside an ok envelope, 422, 403)."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a configuration: where, which key, and why."""

    source: str
    """The file (optionally ``file:line:col``) or environment variable the value came from."""
    key: str
    """Dotted key, e.g. ``daemon.log_level``; empty when the whole file is unreadable."""
    reason: str
    """What is wrong, in words an operator can act on."""

    def __str__(self) -> str:
        key = f" {self.key}:" if self.key else ""
        return f"{self.source}:{key} {self.reason}"


class ConfigError(ArenadError):
    """Configuration is invalid; carries one :class:`ConfigProblem` per thing wrong."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
