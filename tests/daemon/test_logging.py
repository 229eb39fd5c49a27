"""Secrets never reach a log line."""

from __future__ import annotations

import io
import json

import structlog
from structlog.testing import capture_logs

from arenad.config import loader
from arenad.config.settings import build_settings
from arenad.logs import REDACTED, Redactor, configure_logging

KEY = "0x" + "7f" * 32


def test_redactor_with_capture_logs() -> None:
    redactor = Redactor([KEY, "sk-ant-very-secret-value"])
    log = structlog.get_logger("t")
    with capture_logs(processors=[redactor]) as logs:
        log.info("signing with " + KEY, detail={"headers": {"x-api-key": "plain", "ok": KEY[2:10]}})
        log.error(
            "request failed",
            url="https://api.example.com/v1?key=sk-ant-very-secret-value",
            api_key="anything",
            nested=[KEY, "fine"],
        )
        log.info("not a secret", api_key_env="ANTHROPIC_API_KEY")
    assert KEY not in repr(logs) and "sk-ant-very-secret-value" not in repr(logs)
    assert logs[0]["event"] == f"signing with {REDACTED}"
    assert logs[0]["detail"]["headers"]["x-api-key"] == REDACTED
    assert logs[1]["api_key"] == REDACTED and logs[1]["nested"] == [REDACTED, "fine"]
    assert logs[1]["url"].endswith(f"key={REDACTED}")
    assert logs[2]["api_key_env"] == "ANTHROPIC_API_KEY"  # a variable *name* is not a secret


def test_configured_secrets_come_from_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARENAD_HL_PRIVATE_KEY", KEY)
    monkeypatch.setenv("MY_LLM_KEY", "llm-secret-123456")
    settings = build_settings({"secrets": {"extra_env": ["MY_LLM_KEY"]}})
    assert set(loader.secret_values(settings)) >= {KEY, "llm-secret-123456"}
    out = io.StringIO()
    configure_logging("json", "info", Redactor(loader.secret_values(settings)), stream=out)
    try:
        structlog.get_logger("t").info(
            "boom", err=ValueError(f"bad key {KEY}"), k="llm-secret-123456"
        )
        try:
            raise RuntimeError(f"traceback with {KEY}")
        except RuntimeError:
            structlog.get_logger("t").exception("crashed")
    finally:
        structlog.reset_defaults()
    text = out.getvalue()
    assert KEY not in text and "llm-secret-123456" not in text
    lines = [json.loads(ln) for ln in text.splitlines()]
    assert lines[0]["event"] == "boom" and REDACTED in lines[0]["err"]
    assert "RuntimeError" in lines[1]["exception"] and REDACTED in lines[1]["exception"]
