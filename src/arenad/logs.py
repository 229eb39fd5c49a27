"""structlog set-up: JSON lines under systemd, a readable console in a terminal, and a
processor that removes every configured secret from every log line."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[REDACTED]"
# A key whose value is a secret: the name's last word(s), so `x-api-key`, `client_secret` and
# `access_token` are secret-named while `max_tokens` and `input_tokens` (counts) are not.
_SECRET_KEY = re.compile(
    r"(^|[_.\-])(private[_-]?key|secret([_-]?key)?|api[_-]?key|password|passphrase"
    r"|([a-z]+[_-])?token|authorization|mnemonic|cookie)$",
    re.I,
)


class Redactor:
    """Replace secret values wherever they appear, and the values of secret-named keys.

    The set of secrets is replaced on config reload (new models may name new key variables).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.set_secrets(secrets)

    def set_secrets(self, secrets: Iterable[str]) -> None:
        # Very short values would redact ordinary words; real keys are long.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    @property
    def active(self) -> bool:
        """Whether any secret is configured (else strings pass unchanged)."""
        return bool(self._secrets)

    def redact_text(self, value: str) -> str:
        """``value`` with every configured secret replaced (the hot path of the store writer:
        one substring test per secret)."""
        for s in self._secrets:
            if s in value:
                value = value.replace(s, REDACTED)
        return value

    def redact(self, value: Any) -> Any:
        """The one redaction of arenad: log lines, system events, LLM answers and errors, and
        every value the daemon writes to its database go through it. Strings lose every
        configured secret; in mappings, the values of secret-named keys (``authorization``,
        ``api_key``, ... but not ``*_env``, which hold variable names) are replaced whole."""
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {k: REDACTED if _is_secret_key(k) else self.redact(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact(v) for v in value)
        if isinstance(value, BaseException):
            return self.redact(repr(value))
        return value

    def __call__(
        self, _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for k in list(event_dict):
            v = event_dict[k]
            event_dict[k] = REDACTED if _is_secret_key(k) and isinstance(v, str) else self.redact(v)
        return event_dict


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and not key.endswith("_env") and bool(_SECRET_KEY.search(key))


def _render_exc(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    return structlog.processors.format_exc_info(_logger, _name, event_dict)


_stream: TextIO | None = None


def configure_logging(
    fmt: str = "auto",
    level: str = "info",
    redactor: Redactor | None = None,
    stream: TextIO | None = None,
) -> Redactor:
    """(Re)configure logging. Without ``stream`` the previous stream is kept, so a config reload
    that changes the level never sends logs back to a terminal a TUI owns."""
    global _stream
    redactor = redactor or Redactor()
    stream = stream or _stream or sys.stderr
    _stream = stream
    if fmt == "auto":
        fmt = "json" if os.environ.get("JOURNAL_STREAM") or not stream.isatty() else "console"
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(default=str, sort_keys=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _render_exc,  # tracebacks become text before redaction sees them
        redactor,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    return redactor
