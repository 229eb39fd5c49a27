"""Our metrics against empyrical-reloaded (the oracle) to 1e-9 relative."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import empyrical as ep
import numpy as np
import pytest
from backtesting.test import GOOG
from hypothesis import given, settings
from hypothesis import strategies as st

from arenad.cli import main
from arenad.metrics.curve import RoundTrip, curve_metrics, periods_per_year, trade_metrics

REL = 1e-9


def close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, float(b), rel_tol=REL, abs_tol=1e-12)


def goog() -> tuple[list[datetime], np.ndarray]:
    ts = [d.to_pydatetime().replace(tzinfo=UTC) for d in GOOG.index]
    return ts, GOOG["Close"].to_numpy(dtype=float)


def oracle(eq: np.ndarray, ppy: float, rf_per_period: float = 0.0) -> dict[str, float]:
    r = eq[1:] / eq[:-1] - 1.0
    return {
        "total_return": ep.cum_returns_final(r),
        "annual_return": ep.annual_return(r, annualization=ppy),
        "annual_volatility": ep.annual_volatility(r, annualization=ppy),
        "sharpe": ep.sharpe_ratio(r, risk_free=rf_per_period, annualization=ppy),
        "sortino": ep.sortino_ratio(r, required_return=rf_per_period, annualization=ppy),
        "max_drawdown": ep.max_drawdown(r),
        "calmar": ep.calmar_ratio(r, annualization=ppy),
    }


@pytest.mark.parametrize("ppy", [252.0, None])
def test_goog_daily_closes(ppy: float | None) -> None:
    ts, eq = goog()
    m = curve_metrics(ts, eq, periods_per_year_override=ppy)
    used = m.periods_per_year
    assert used is not None
    if ppy is None:  # inferred from the dates: a trading-day series, not 365
        assert 245 < used < 256
    for k, v in oracle(eq, used).items():
        assert close(getattr(m, k), v), (k, getattr(m, k), v)
    assert m.periods == len(eq) - 1


def test_risk_free_rate_is_converted_per_period() -> None:
    ts, eq = goog()
    m = curve_metrics(ts, eq, periods_per_year_override=252, risk_free=0.03)
    rf = 1.03 ** (1 / 252) - 1
    o = oracle(eq, 252, rf)
    assert close(m.sharpe, o["sharpe"]) and close(m.sortino, o["sortino"])


def test_irregular_intraday_curve() -> None:
    rng = random.Random(7)
    t = datetime(2025, 10, 1, tzinfo=UTC)
    ts, eq, v = [], [], 10_000.0
    for _ in range(3_000):
        t += timedelta(seconds=rng.choice([30, 60, 60, 300, 3_600]))
        v *= 1 + rng.gauss(0, 0.002)
        ts.append(t)
        eq.append(v)
    arr = np.asarray(eq)
    m = curve_metrics(ts, arr)
    ppy = periods_per_year(ts)
    assert ppy is not None and 30_000 < ppy < 50_000  # ~810 s mean spacing, not daily
    for k, val in oracle(arr, ppy).items():
        assert close(getattr(m, k), val), k


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.2, 0.2, allow_nan=False), min_size=3, max_size=200))
def test_property_matches_oracle(returns: list[float]) -> None:
    eq = 1000.0 * np.cumprod(np.r_[1.0, 1.0 + np.asarray(returns)])
    ts = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i) for i in range(len(eq))]
    m = curve_metrics(ts, eq, periods_per_year_override=365)
    o = oracle(eq, 365)
    for k in ("total_return", "max_drawdown", "annual_volatility"):
        assert math.isclose(getattr(m, k), o[k], rel_tol=1e-9, abs_tol=1e-12), k
    if m.sharpe is not None and np.isfinite(o["sharpe"]):
        assert math.isclose(m.sharpe, o["sharpe"], rel_tol=1e-7, abs_tol=1e-9)


def test_drawdown_dollars_dates_and_duration() -> None:
    ts = [datetime(2025, 1, d, tzinfo=UTC) for d in range(1, 8)]
    eq = [100, 120, 90, 60, 100, 121, 110]
    m = curve_metrics(ts, eq, periods_per_year_override=365)
    assert m.max_drawdown == pytest.approx(-0.5) and m.max_drawdown_usd == pytest.approx(-60)
    assert m.max_drawdown_start == ts[1].isoformat()
    assert m.max_drawdown_trough == ts[3].isoformat()
    assert m.max_drawdown_recovery == ts[5].isoformat()
    assert m.max_drawdown_duration_s == 4 * 86_400


def test_edge_cases_and_insufficient_samples() -> None:
    t = [datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=i) for i in range(5)]
    flat = curve_metrics(t, [100.0] * 5)
    assert flat.total_return == 0 and flat.sharpe is None and flat.sortino is None
    assert flat.max_drawdown == 0 and flat.calmar is None and flat.max_drawdown_start is None
    one = curve_metrics(t[:1], [100.0])
    assert one.periods == 0 and one.insufficient == ["all"]
    few = curve_metrics(t, [100, 101, 99, 102, 103], min_points=30)
    assert "sharpe" in few.insufficient and few.sharpe is not None  # computed, but flagged
    with pytest.raises(ValueError, match="positive"):
        curve_metrics(t[:2], [100.0, 0.0])
    json.dumps(few.as_dict())  # no NaN, no datetime: JSON-safe


def test_round_trips() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    trips = [
        RoundTrip(t0, t0 + timedelta(hours=h), p)
        for h, p in [(1, 100.0), (2, -50.0), (3, 30.0), (2, -10.0)]
    ]
    m = trade_metrics(trips, min_trades=10)
    assert (m.trades, m.wins, m.losses) == (4, 2, 2)
    assert m.win_rate == 0.5 and m.avg_win == 65 and m.avg_loss == -30
    assert m.profit_factor == pytest.approx(130 / 60) and m.expectancy == 17.5
    assert (m.largest_win, m.largest_loss, m.avg_holding_s) == (100, -50, 2 * 3600)
    assert "profit_factor" in m.insufficient
    assert trade_metrics([]).insufficient == ["all"]
    only_wins = trade_metrics(trips[:1])
    assert only_wins.profit_factor is None and only_wins.win_rate == 1


def test_cli_json_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ts, eq = goog()
    f = tmp_path / "eq.csv"
    f.write_text(
        "timestamp,equity\n"
        + "".join(f"{t.date().isoformat()},{v}\n" for t, v in zip(ts, eq, strict=True))
    )
    assert main(["metrics", str(f), "--json", "--periods-per-year", "252"]) == 0
    out = json.loads(capsys.readouterr().out)
    o = oracle(eq, 252)
    for k in (
        "total_return",
        "annual_return",
        "annual_volatility",
        "sharpe",
        "sortino",
        "max_drawdown",
        "calmar",
    ):
        assert close(out[k], o[k]), k
    assert out["periods"] == len(eq) - 1
    trades = tmp_path / "trades.csv"
    trades.write_text("entry_time,exit_time,pnl\n2025-01-01T00:00:00Z,2025-01-01T02:00:00Z,5\n")
    assert main(["metrics", str(f), "--trades", str(trades), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trades"]["trades"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,equity\n2025-01-01,100\n2025-01-02,lots\n")
    assert main(["metrics", str(bad)]) == 2
    assert f"{bad}:3:2: column equity: 'lots' is not a number" in capsys.readouterr().err
    bad.write_text("time,value\n1,2\n")
    assert main(["metrics", str(bad)]) == 2
    assert "missing column(s) timestamp, equity" in capsys.readouterr().err
    bad.write_text("timestamp,equity\n2025-01-02,100\n2025-01-01,101\n")
    assert main(["metrics", str(bad)]) == 2
    assert ":3:1: timestamps must increase" in capsys.readouterr().err
