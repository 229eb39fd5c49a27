"""Secrets never reach the database or the log, against a real `arenad run` subprocess: LLM
endpoints (a loopback fake) that echo the credentials they got in a 401 body, and keys pasted
into `*_env` settings of a live edit. The keys appear in no row of a dump of the database, in
none of its files' bytes, in no log line and in no CLI output."""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
from typing import Any

import pytest
from arena_fakes import FakeLLMServer

from fixtures_sim import poll_until

pytestmark = pytest.mark.slow

LLM_KEY = "sk-test-" + secrets.token_hex(20)
ANTHROPIC_KEY = "sk-ant-test-" + secrets.token_hex(20)
PASTED_HL = "0x" + secrets.token_hex(32)
PASTED_LLM = "sk-proj-" + secrets.token_hex(20)
PASTED_ALPACA = "PK" + secrets.token_hex(9).upper()

CONFIG = """\
[daemon]
db_path = "arenad.db"
socket_path = "arenad.sock"
log_format = "json"
config_poll_interval_s = 0.1

[secrets]
hyperliquid_private_key_env = "{hl_env}"
extra_env = [{extra}]

[sim]
host = "127.0.0.1"
alpaca_port = {alpaca_port}

[fade]
enabled = false

[arena]
run_deadline_s = 30

[arena.schedule]
kind = "weekly"
weekday = "sun"
at = "03:00"
market_days_only = false
missed_slot = "skip"

[arena.rails]
allowed_symbols = ["AAPL"]

[[arena.models]]
id = "echo-openai"
provider = "openai_compatible"
model = "echo_auth"
base_url = "{llm_url}/v1"
api_key_env = "{llm_env}"
max_attempts = 1

[[arena.models]]
id = "echo-anthropic"
provider = "anthropic"
model = "echo_auth"
base_url = "{llm_url}"
api_key_env = "TEST_ANTHROPIC_KEY"
max_attempts = 1
"""


def q(path: Any, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args).fetchall()]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def dump(path: Any) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def leaked(text: str) -> list[str]:
    keys = {
        "LLM_KEY": LLM_KEY,
        "ANTHROPIC_KEY": ANTHROPIC_KEY,
        "PASTED_HL": PASTED_HL,
        "PASTED_LLM": PASTED_LLM,
        "PASTED_ALPACA": PASTED_ALPACA,
    }
    # the whole key, or any 12 characters of its secret part
    return [n for n, k in keys.items() if k in text or k[-12:] in text or k[8:20] in text]


async def test_echoed_and_pasted_keys_reach_no_row_and_no_log_line(
    sim_server,  # type: ignore[no-untyped-def]
    daemon_proc,
) -> None:
    async with FakeLLMServer() as llm:
        port = int(sim_server.alpaca_url.rsplit(":", 1)[1])

        def cfg(hl_env: str = "ARENAD_HL_PRIVATE_KEY", llm_env: str = "TEST_LLM_KEY") -> str:
            return CONFIG.format(
                alpaca_port=port, llm_url=llm.url, hl_env=hl_env, llm_env=llm_env, extra=""
            )

        d = daemon_proc(cfg())
        env = {"TEST_LLM_KEY": LLM_KEY, "TEST_ANTHROPIC_KEY": ANTHROPIC_KEY}
        await asyncio.to_thread(d.start, env=env)
        r = await asyncio.to_thread(d.cli, "arena", "run-now", "--json")
        assert r.returncode == 0, r.stderr + d.log()
        run_id = json.loads(r.stdout)["run_id"]

        def done() -> bool:
            rows = q(d.db_path, "SELECT status FROM arena_runs WHERE run_id = ?", run_id)
            return bool(rows) and rows[0]["status"] != "running"

        await poll_until(done, timeout=40, what="the run")
        # the endpoint really echoed the keys (the fake saw them, both 401s are recorded)
        lower = [{k.lower(): v for k, v in h.items()} for h in llm.headers]
        sent = {h.get("authorization") or h.get("x-api-key") for h in lower}
        assert sent == {f"Bearer {LLM_KEY}", ANTHROPIC_KEY}
        calls = q(d.db_path, "SELECT status_code, response, error FROM llm_calls")
        assert len(calls) == 2 and {c["status_code"] for c in calls} == {401}
        assert all("[REDACTED]" in c["response"] and "[REDACTED]" in c["error"] for c in calls)

        # keys pasted where a variable name belongs: each edit rejected, nothing echoed
        def rejected() -> int:
            return len(
                q(
                    d.db_path,
                    "SELECT id FROM system_events WHERE category='config' AND level='error'",
                )
            )

        edits = [
            cfg(hl_env=PASTED_HL),
            cfg(llm_env=PASTED_LLM),
            cfg().replace("extra_env = []", f'extra_env = ["{PASTED_ALPACA}"]'),
        ]
        for n, text in enumerate(edits, start=1):
            d.config_path.write_text(text)
            await poll_until(lambda n=n: rejected() == n, timeout=15, what=f"edit {n} rejected")
        msgs = q(d.db_path, "SELECT message FROM system_events WHERE level = 'error'")
        assert all("looks like a secret" in m["message"] for m in msgs[-3:]), msgs
        d.config_path.write_text(cfg())
        await poll_until(
            lambda: d.status()["last_reload"]["ok"], timeout=15, what="the good file back"
        )
        runs = await asyncio.to_thread(d.cli, "arena", "runs", "--json")
        events = await asyncio.to_thread(d.cli, "events", "--json", "--limit", "1000")
        assert runs.returncode == 0 and events.returncode == 0, runs.stderr + events.stderr
        assert "401" in runs.stdout
        assert await asyncio.to_thread(d.stop) == 0

    assert leaked(dump(d.db_path)) == []
    raw = b"".join(
        p.read_bytes() for p in d.dir.iterdir() if p.name.startswith("arenad.db") and p.is_file()
    )
    assert leaked(raw.decode("latin-1")) == []
    assert leaked(d.log()) == [] and "[REDACTED]" in d.log()
    assert leaked(runs.stdout + runs.stderr + events.stdout + events.stderr) == []
