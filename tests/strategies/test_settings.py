"""The [strategies] section: shipped values, and errors that name the key."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from arenad.config.loader import load_settings
from arenad.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_shipped_config_strategies_block() -> None:
    s = load_settings(REPO / "config.toml").settings.strategies
    assert (s.workers, s.max_runs, s.rebalance, s.rebalance_time) == (
        2,
        1000,
        "monthly",
        time(15, 45),
    )
    assert s.alpaca_trading_url.startswith("http://127.0.0.1")  # offline as shipped


@pytest.mark.parametrize(
    ("block", "key"),
    [
        ("workers = 0", "strategies.workers"),
        ("fee_bps = -1", "strategies.fee_bps"),
        ('rebalance = "hourly"', "strategies.rebalance"),
        ('alpaca_trading_url = "paper-api.alpaca.markets"', "strategies.alpaca_trading_url"),
        ('rebalance_time = "25:00"', "strategies.rebalance_time"),
        ("max_run = 5", "strategies.max_run"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, block: str, key: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"[strategies]\n{block}\n")
    with pytest.raises(ConfigError) as e:
        load_settings(cfg)
    assert any(p.key == key for p in e.value.problems), e.value.problems
