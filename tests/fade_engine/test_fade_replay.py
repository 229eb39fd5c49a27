"""`arenad replay nof1` on the recorded Alpha Arena trades: with no slippage and no fee the
fade's realized P&L is exactly the bots' negated gross P&L (to the cent); with a fee it is
lower by exactly the fees charged. Figures are recomputed here from the JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from arenad.fade.replay import load_trades, replay
from conftest import TEST_DATA

TRADES = TEST_DATA / "tracker" / "2025-10-28T065103Z" / "trades.json"
CENT = Decimal("0.005")


def recorded() -> dict[str, tuple[int, Decimal]]:
    out: dict[str, tuple[int, Decimal]] = {}
    for t in json.loads(TRADES.read_text())["trades"]:
        n, g = out.get(t["model_id"], (0, Decimal(0)))
        out[t["model_id"]] = (n + 1, g + Decimal(str(t["realized_gross_pnl"])))
    return out


def test_fade_pnl_is_the_bots_negated_gross_pnl_and_fees_come_off_exactly() -> None:
    want = recorded()
    trades = load_trades(TRADES)
    free, errors, fills = replay(trades)
    assert errors == [] and fills == 2 * sum(n for n, _ in want.values())
    assert {r.bot: (r.trades, r.bot_realized_pnl) for r in free} == want
    for r in free:
        assert r.fade_fees == 0 and r.skipped == []
        assert abs(r.fade_realized_pnl + r.bot_realized_pnl) < CENT, r.bot
    paid, _, _ = replay(trades, fee_bps=Decimal("4.5"))
    for a, b in zip(free, paid, strict=True):
        assert b.fade_fees > 0
        assert abs(a.fade_realized_pnl - b.fade_fees - b.fade_realized_pnl) < Decimal("1e-9")
    slipped, _, _ = replay(trades, slippage_bps=Decimal(10))
    assert sum(r.fade_realized_pnl for r in slipped) < sum(r.fade_realized_pnl for r in free)


def test_cli_json_and_bad_input(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "arenad",
            "replay",
            "nof1",
            str(TRADES),
            "--json",
            "--fee-bps",
            "0",
            "--slippage-bps",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    want = recorded()
    assert {x["bot"] for x in rows} == set(want)
    for x in rows:
        assert {"bot", "trades", "bot_realized_pnl", "fade_realized_pnl", "fade_fees"} <= set(x)
        assert x["trades"] == want[x["bot"]][0]
        assert round(x["fade_realized_pnl"], 2) == round(-x["bot_realized_pnl"], 2)
    bad = tmp_path / "bad.json"
    bad.write_text('{"trades": [{"model_id": "m", "symbol": "BTC", "side": "up"}, 7]}')
    r = subprocess.run(
        [sys.executable, "-m", "arenad", "replay", "nof1", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "field 'side' must be long or short" in r.stderr and "trade 1: not an object" in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "arenad", "replay", "nof1", str(TRADES), "--fee-bps", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "basis points" in r.stderr


def _oracle_psr(x: list[float]) -> float:
    import math

    import numpy as np
    from scipy.stats import kurtosis, norm, skew

    r = np.asarray(x)
    sr = r.mean() / r.std(ddof=1)
    g3, g4 = skew(r, bias=True), kurtosis(r, fisher=False, bias=True)
    z = sr * math.sqrt(len(r) - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return float(norm.cdf(z))


def test_fadeability_per_bot_net_of_costs_with_its_psr() -> None:
    import math

    from arenad.fade.replay import fadeability

    results, _, _ = replay(load_trades(TRADES), fee_bps=Decimal("4.5"), slippage_bps=Decimal(2))
    fadeability(results, Decimal(10_000), min_points=10)
    want = recorded()
    enough = [r for r in results if r.trades >= 10]
    assert enough
    for r in results:
        f = r.fadeability
        assert f is not None and f["trips"] == want[r.bot][0] == r.trades
        # Every cent of the fade's net P&L (fees and slippage in) is in one round trip.
        assert abs(sum(r.trip_series()) - r.fade_realized_pnl) < Decimal("1e-9")
        assert math.isclose(f["net_return"], float(r.fade_realized_pnl) / 10_000)
        if r.trades >= 10:
            series = [float(x) / 10_000 for x in r.trip_series()]
            assert math.isclose(f["psr"], _oracle_psr(series), rel_tol=1e-9)
            assert f["dsr_trials"] == len(enough) and f["verdict"] in ("skill", "unproven")
        else:
            assert f["psr"] is None and f["verdict"] == "insufficient"
            assert f["flags"]["psr"] == "sample_too_small"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "arenad",
            "replay",
            "nof1",
            str(TRADES),
            "--json",
            "--min-points=10",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    rows = {x["bot"]: x for x in json.loads(r.stdout)}
    assert all(
        "psr" in x["fadeability"] and "net_return" in x["fadeability"] for x in rows.values()
    )
    text = subprocess.run(
        [sys.executable, "-m", "arenad", "replay", "nof1", str(TRADES)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert text.returncode == 0 and "verdict" in text.stdout.splitlines()[0]
