"""Fade replay throughput: recorded Alpha Arena round trips (nof1 trades.json, 253 trades of
six models = 506 fills) repeated with shifted times into a longer history, run through the
fade engine (every decision with its guards, netting, fill crediting, exact accounting) as
`arenad replay nof1` does. Target: over 20,000 fills/s. Baseline in the same run: the bare
loop that only builds the fills and books them on the bot books (the cost of the input).

    .venv/bin/python -m bench.fade_replay [REPEATS]
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from arenad.fade.replay import legs, replay

DATA = Path(__file__).resolve().parents[1] / "tests/data/tracker/2025-10-28T065103Z/trades.json"


def history(repeats: int) -> list[dict[str, Any]]:
    base = json.loads(DATA.read_text())["trades"]
    span = max(t["exit_time"] for t in base) - min(t["entry_time"] for t in base) + 60
    out = []
    for k in range(repeats):
        for t in base:
            c = dict(t)
            c["entry_time"] = t["entry_time"] + k * span
            c["exit_time"] = t["exit_time"] + k * span
            c["trade_id"] = f"{t['trade_id']}#{k}"
            out.append(c)
    return out


def main(repeats: int) -> None:
    trades = history(repeats)
    rates, base_rates = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        results, errors, fills = replay(trades, fee_bps=Decimal("4.5"))
        rates.append(fills / (time.perf_counter() - t0))
        assert not errors and sum(r.trades for r in results) == len(trades)
        t0 = time.perf_counter()
        leg_list, _, _ = legs(trades)
        base_rates.append(len(leg_list) / (time.perf_counter() - t0))
    print(f"machine: {platform.machine()} python {platform.python_version()} ({sys.platform})")
    print(f"history: {len(trades):,} round trips = {fills:,} fills, 6 bots")
    print(
        f"replay through the engine: {statistics.median(rates):,.0f} fills/s (median of 3)"
        "  [target > 20,000]"
    )
    print(f"baseline, reading the fills only: {statistics.median(base_rates):,.0f} fills/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
