"""`arenad demo` on the shipped config: the fade may keep up with the simulator's bots."""

from __future__ import annotations

import shutil
from pathlib import Path

from arenad.config.loader import load_settings
from arenad.daemon.demo import DEMO_MAX_ORDERS_PER_MINUTE, demo_config
from conftest import REPO


def test_the_demo_lets_the_fade_keep_up_with_six_bots(tmp_path: Path) -> None:
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    shipped = load_settings(tmp_path / "config.toml")
    s = shipped.settings
    # Six bots, one trade each ~bot_interval_s, would need this many orders a minute.
    needed = len(s.sim.bots) * 60 / s.sim.bot_interval_s
    assert s.fade.max_orders_per_minute < needed  # the shipped (real-money) limit cannot
    demo = demo_config(shipped).settings
    assert demo.fade.max_orders_per_minute == DEMO_MAX_ORDERS_PER_MINUTE >= 3 * needed
    assert demo.daemon.db_path.parent == (tmp_path / "var" / "demo").resolve()
