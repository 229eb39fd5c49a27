"""`[arena]` settings validation, the shipped config, and `arenad arena runs`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from arena_fakes import StaticMarket, arena_settings, make_bars

from arenad.arena.executor import InternalExecutor
from arenad.arena.runner import ArenaRunner
from arenad.arena.schedule import Slot
from arenad.arena.settings import ArenaModelSettings, ArenaSettings
from arenad.arena.store import ArenaStore
from arenad.clock import FakeClock
from arenad.config.loader import load_settings
from arenad.errors import ConfigError
from conftest import REPO


def test_shipped_config_runs_the_four_baselines_offline() -> None:
    s = load_settings(REPO / "config.toml").settings.arena
    assert [m.provider for m in s.enabled_models()] == ["baseline"] * 4
    assert {m.baseline.kind for m in s.models if m.baseline} == {
        "buy_and_hold",
        "momentum",
        "rsi_reversion",
        "random",
    }
    assert s.schedule.kind == "daily" and s.schedule.at == "15:45"


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ({"id": "x", "provider": "baseline"}, "needs [arena.models.baseline]"),
        ({"id": "x", "provider": "openai_compatible"}, "needs `model`"),
        ({"id": "x", "provider": "anthropic", "model": "m", "baseline": {}}, "only for provider"),
        ({"id": "Bad Id", "provider": "baseline", "baseline": {}}, "not a valid model id"),
        (
            {"id": "x", "provider": "openai_compatible", "model": "m", "api_key_env": "MY KEY"},
            "not an environment variable name",
        ),
        (
            {"id": "x", "provider": "openai_compatible", "model": "m", "base_url": "ftp://x"},
            "not an http(s) URL",
        ),
        ({"id": "x", "baseline": {"kind": "momentum", "fast": 20, "slow": 10}}, "must be greater"),
        ({"id": "x", "baseline": {}, "alpaca_key_id_env": "K"}, "set both"),
        ({"id": "x", "provider": "grok"}, "provider"),
    ],
)
def test_bad_models_are_rejected_with_a_reason(model: dict[str, Any], reason: str) -> None:
    with pytest.raises(
        ValueError,
        match=reason.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("[", r"\[")
        .replace("]", r"\]"),
    ):
        ArenaModelSettings.model_validate(model)


def test_duplicate_ids_and_bad_symbols() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        ArenaSettings.model_validate(
            {"models": [{"id": "a", "baseline": {}}, {"id": "a", "baseline": {}}]}
        )
    with pytest.raises(ValueError, match="upper case"):
        ArenaSettings.model_validate({"rails": {"allowed_symbols": ["aapl"]}})


def test_config_file_errors_name_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[[arena.models]]\nid = "x"\nprovider = "openai_compatible"\n'
        'model = "m"\napi_key = "sk-123"\n'
    )
    with pytest.raises(ConfigError) as e:
        load_settings(cfg)
    assert any("api_key" in p.key and "secret" in p.reason for p in e.value.problems)
    cfg.write_text('[arena.schedule]\nkind = "cron"\ncron = "99 * * * *"\n')
    with pytest.raises(ConfigError) as e:
        load_settings(cfg)
    assert any("arena.schedule" in p.key and "cron" in p.reason for p in e.value.problems)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arenad", "arena", "runs", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
async def test_arena_runs_cli(tmp_path: Path, store) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[daemon]\ndb_path = "{store.path}"\n')
    r = _cli("--config", str(cfg))
    assert r.returncode == 0 and "no arena runs yet" in r.stdout
    clock = FakeClock()
    runner = ArenaRunner(
        arena_settings([{"id": "bh", "baseline": {"kind": "buy_and_hold"}}]),
        ArenaStore(store.writer),
        StaticMarket({"AAPL": make_bars("AAPL")}),
        InternalExecutor(clock),
        clock=clock,
    )
    await runner.start()
    await runner.run(Slot(clock.now(), "daily:2025-01-02T14:30Z"))
    r = _cli("--json", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    (run,) = json.loads(r.stdout)
    assert run["slot"] == "daily:2025-01-02T14:30Z" and run["status"] == "completed"
    assert run["models_executed"] == ["bh"] and run["trades_generated"] == 1
    assert run["errors"] == [{"symbol": "NVDA", "error": "no bars: models hold on it"}]
    text = _cli("--config", str(cfg))
    assert "daily:2025-01-02T14:30Z" in text.stdout and "completed" in text.stdout
    assert _cli("--limit", "0", "--config", str(cfg)).returncode == 2
    missing = tmp_path / "other.toml"
    missing.write_text(f'[daemon]\ndb_path = "{tmp_path / "none.db"}"\n')
    assert _cli("--config", str(missing)).returncode == 1
