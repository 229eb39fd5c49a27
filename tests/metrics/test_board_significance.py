"""The leaderboard's significance figures: PSR/DSR/minTRL on the same daily returns the Sharpe
rests on (recomputed here with pandas and the issue's formulas), DSR's N and V[SR] per kind,
the benchmark comparison, verdicts, `--rank-by`, and `arenad leaderboard --json` /
`arenad metrics --json` end to end on a real database."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kurtosis, norm, skew

from arenad.metrics.board import BookData, BookInfo, leaderboard, rank
from arenad.metrics.queries import leaderboard_json, standing_wire
from arenad.metrics.recompute import Recomputer
from arenad.metrics.settings import MetricsSettings
from arenad.store.db import utc_iso

NOW = datetime(2025, 10, 28, 0, 0, tzinfo=UTC)
HOURS = 24 * 120


def curve(seed: int, drift: float, vol: float = 0.004, hours: int = HOURS) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(10_000 * np.cumprod(1 + rng.normal(drift, vol, hours)))


def mk(book_id: str, kind: str, venue: str, eq: list[float]) -> BookData:
    b = BookData(BookInfo(book_id, kind, book_id, venue=venue))
    start = NOW - timedelta(hours=len(eq) - 1)
    b.add_points([(start + timedelta(hours=i)).timestamp() for i in range(len(eq))], eq)
    return b


def books() -> list[BookData]:
    return [
        mk("fade:strong", "fade", "hyperliquid", curve(1, 0.0012)),
        mk("fade:noise", "fade", "hyperliquid", curve(2, 0.0)),
        mk("fade:loser", "fade", "hyperliquid", curve(3, -0.0003)),
        mk("fade:young", "fade", "hyperliquid", curve(4, 0.001, hours=24 * 10)),
        mk("benchmark:BTC", "benchmark", "hyperliquid", curve(5, 0.0001, 0.006)),
        mk("arena:a", "arena_model", "alpaca", curve(6, 0.0002)),
        mk("arena:b", "arena_model", "alpaca", curve(7, 0.0001)),
    ]


def daily_returns(b: BookData) -> pd.Series:
    """The oracle's daily closes (pandas), as the board resamples: the first point, then
    each UTC day's last equity."""
    ser = pd.Series(b.equity, index=pd.to_datetime(b.t, unit="s", utc=True))
    closes = ser.resample("1D", label="right", closed="left").last().ffill()
    if ser.resample("1D").count().iloc[0] > 1:
        closes = pd.concat([ser.iloc[:1], closes])
    return closes.pct_change().dropna()


def oracle_psr(r: np.ndarray, sr_star: float = 0.0) -> float:
    sr = r.mean() / r.std(ddof=1)
    g3, g4 = skew(r, bias=True), kurtosis(r, fisher=False, bias=True)
    return float(
        norm.cdf(
            (sr - sr_star) * math.sqrt(len(r) - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
        )
    )


def close(a: float | None, b: float, rel: float = 1e-9) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def test_board_significance_against_an_independent_computation() -> None:
    bs = books()
    board = {s.book_id: s for s in leaderboard(bs, "all_time", NOW.timestamp() + 1)}
    rets = {b.info.book_id: daily_returns(b) for b in bs}
    fades = ["fade:strong", "fade:noise", "fade:loser", "fade:young"]
    # DSR's N: the fade books with enough returns (fade:young has 10 days < min_points 30).
    srs = [rets[k].mean() / rets[k].std(ddof=1) for k in fades[:3]]
    v = float(np.var(srs, ddof=1))
    g = np.euler_gamma
    sr0 = math.sqrt(v) * ((1 - g) * norm.ppf(1 - 1 / 3) + g * norm.ppf(1 - 1 / (3 * math.e)))
    bench = rets["benchmark:BTC"]
    for k in fades[:3]:
        s, r = board[k], rets[k].to_numpy()
        assert s.points == len(r)
        assert close(s.psr, oracle_psr(r)), k
        assert s.dsr_trials == 3 and close(s.dsr, oracle_psr(r, sr0)), k
        assert s.benchmark == "benchmark:BTC"
        both = rets[k].index.intersection(bench.index)
        b = bench[both].to_numpy()
        assert close(
            s.psr_vs_benchmark, oracle_psr(rets[k][both].to_numpy(), b.mean() / b.std(ddof=1))
        )
        assert s.sharpe_ci is not None and s.sharpe is not None
        assert s.sharpe_ci[0] < s.sharpe < s.sharpe_ci[1]
        assert s.return_ci is not None and s.total_return is not None
    assert board["fade:strong"].verdict == "skill"
    assert board["fade:noise"].verdict == "unproven"
    assert board["fade:loser"].min_track_record_length is None
    assert (
        board["fade:loser"].significance_flags["min_track_record_length"] == "sharpe_not_positive"
    )
    young = board["fade:young"]
    assert young.verdict == "insufficient" and young.psr is None
    assert young.significance_flags["psr"] == "sample_too_small"
    # The arena books compete among themselves and have no benchmark on their venue.
    a = board["arena:a"]
    assert a.dsr_trials == 2 and a.benchmark is None
    assert a.significance_flags["psr_vs_benchmark"] == "no_benchmark"
    assert board["benchmark:BTC"].significance_flags["alpha"] == "is_benchmark"
    # Every wire shape is valid JSON with no NaN/inf, with the keys.
    for s in board.values():
        for row in (standing_wire(s), leaderboard_json(s)):
            text = json.dumps(row, allow_nan=False)
            for key in ("psr", "psr_vs_benchmark", "dsr", "min_track_record_length"):
                assert key in row, key
            assert "sharpe_ci" in text and "return_ci" in text and "verdict" in text


def test_rank_by_each_figure() -> None:
    board = leaderboard(books(), "all_time", NOW.timestamp() + 1, rank_by="dsr")
    ranked = [s for s in board if s.rank is not None]
    assert [s.dsr for s in ranked] == sorted([s.dsr for s in ranked], reverse=True)  # type: ignore[type-var]
    assert all(s.dsr is None for s in board if s.rank is None)
    assert any(s.book_id == "fade:young" and s.rank is None for s in board)
    by_ret = rank(list(board), rank_by="return")
    assert by_ret[0].total_return == max(s.total_return for s in board if s.total_return)
    with pytest.raises(ValueError, match="rank_by"):
        rank(list(board), rank_by="luck")


async def _write(store: Any, bs: list[BookData]) -> None:
    async def fn(conn: Any) -> None:
        for b in bs:
            i = b.info
            await conn.execute(
                "INSERT INTO books (book_id, kind, name, venue, initial_capital, created_at) "
                "VALUES (?, ?, ?, ?, 10000, ?)",
                (i.book_id, i.kind, i.name, i.venue, utc_iso(NOW)),
            )
            await conn.executemany(
                "INSERT INTO equity_snapshots (book_id, ts, equity) VALUES (?, ?, ?)",
                [
                    (i.book_id, utc_iso(datetime.fromtimestamp(t, UTC)), e)
                    for t, e in zip(b.t.tolist(), b.equity.tolist(), strict=True)
                ],
            )

    await store.writer.transaction(fn)


async def _positions(store: Any) -> None:
    ts = utc_iso(NOW)

    async def fn(conn: Any) -> None:
        await conn.executemany(
            "INSERT INTO fade_positions (book_id, coin, size, realized_pnl, fees, funding,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                ("fade:strong", "BTC", "-0.5", "120.5", "10.25", "-2.25", ts),
                ("fade:strong", "SOL", "0", "30", "1", "0.5", ts),  # flat: costs count
                ("fade:noise", "BTC", "-1", "0", "0", "0", ts),
                ("fade:noise", "ETH", "2", "0", "0", "0", ts),
                ("account", "BTC", "-1.5", "0", "0", "0", ts),  # the account is no book
            ],
        )
        await conn.execute(
            "INSERT INTO arena_positions (book_id, symbol, qty, avg_price, timeframe, opened_at,"
            " updated_at) VALUES ('arena:a', 'AAPL', '3', '100', 'swing', ?, ?)",
            (ts, ts),
        )

    await store.writer.transaction(fn)


def cur_metrics(path: Path, book_id: str) -> str:
    import sqlite3

    with sqlite3.connect(path) as db:
        (m,) = db.execute(
            "SELECT metrics FROM current_standings WHERE book_id = ?", (book_id,)
        ).fetchone()
    return str(m)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arenad", *args], capture_output=True, text=True, timeout=120
    )


async def test_leaderboard_json_and_rank_by_end_to_end(store: Any, tmp_path: Path) -> None:
    bs = books()
    await _write(store, bs)
    await _positions(store)
    rc = Recomputer(store.path, MetricsSettings())
    await rc.run(store.writer.transaction, NOW + timedelta(seconds=1), snapshot=True)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[daemon]\ndb_path = "{store.path}"\n')
    r = _cli("leaderboard", "--json", "--rank-by", "dsr", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "NaN" not in r.stdout and "Infinity" not in r.stdout
    rows = json.loads(r.stdout)
    by = {x["book"]: x for x in rows}
    assert (
        rows[0]["book"]
        == max((x for x in rows if x["dsr"] is not None), key=lambda x: x["dsr"])["book"]
    )
    s = by["fade:strong"]
    assert s["verdict"] == "skill" and len(s["sharpe_ci"]) == 2 and len(s["return_ci"]) == 2
    assert "cost_per_decision_usd" not in s
    f = s["fadeability"]
    assert f["fees"] == 11.25 and f["funding"] == -1.75 and f["realized_pnl"] == 150.5
    assert f["net_realized_pnl"] == 150.5 - 11.25 - 1.75
    assert math.isclose(f["net_return"], (150.5 - 11.25 - 1.75) / 10_000)
    assert f["psr"] == s["psr"] and f["verdict"] == "skill"
    # Crowding: strong's one position is shared by noise, not by arena:a.
    assert s["crowding"] == 0.5 and by["fade:noise"]["crowding"] == 0.25
    assert by["arena:a"]["crowding"] == 0.0
    assert by["fade:loser"]["crowding"] is None
    assert by["fade:loser"]["significance_flags"]["crowding"] == "no_open_position"
    assert by["fade:young"]["verdict"] == "insufficient" and by["fade:young"]["psr"] is None
    assert "cost_per_decision_usd" in by["arena:a"] and "fadeability" not in by["arena:a"]
    text = _cli("leaderboard", "--config", str(cfg))
    assert text.returncode == 0, text.stderr
    assert "verdict" in text.stdout and "insufficient" in text.stdout
    # The stored standings carry the figures too (current_standings.metrics JSON).
    import sqlite3

    with sqlite3.connect(store.path) as db:
        (m,) = db.execute(
            "SELECT metrics FROM current_standings WHERE book_id = 'fade:strong'"
        ).fetchone()
        (snap,) = db.execute(
            "SELECT metrics FROM leaderboard_snapshots WHERE book_id = 'fade:strong'"
            " AND timeframe = 'all_time'"
        ).fetchone()
        db.row_factory = sqlite3.Row
        perf = {r["model_id"]: r for r in db.execute("SELECT * FROM model_performance")}
    # A stored ranking keeps the headline figures, not the bulky all-time blocks.
    lean = json.loads(snap)
    assert lean["verdict"] == "skill" and lean["sharpe_ci"] == s["sharpe_ci"]
    assert (
        "fadeability" not in lean
        and lean["fadeability_net_return"] == s["fadeability"]["net_return"]
    )
    stored = json.loads(m)
    assert stored["verdict"] == "skill" and stored["psr"] == s["psr"]
    # The seed view's significance block (migration 0013).
    p = perf["fade:strong"]
    assert p["psr"] == s["psr"] and p["dsr"] == s["dsr"] and p["verdict"] == "skill"
    assert [p["sharpe_ci_lo"], p["sharpe_ci_hi"]] == s["sharpe_ci"]
    assert p["fadeability_net_return"] == s["fadeability"]["net_return"]
    assert p["crowding"] == 0.5 and p["benchmark"] == "benchmark:BTC"
    y = perf["fade:young"]
    assert y["psr"] is None and y["verdict"] == "insufficient"
    assert json.loads(y["significance_flags"])["psr"] == "sample_too_small"
    assert perf["arena:a"]["cost_per_decision_usd"] is None  # no decision at all: NULL
    flags = json.loads(cur_metrics(store.path, "arena:a"))["behaviour"]["flags"]
    assert flags["cost_per_decision_usd"] == "no_decision"


def test_metrics_csv_json_carries_psr_and_min_trl(tmp_path: Path) -> None:
    eq = curve(11, 0.0008, hours=400)
    start = NOW - timedelta(hours=len(eq) - 1)
    path = tmp_path / "eq.csv"
    path.write_text(
        "timestamp,equity\n"
        + "".join(
            f"{(start + timedelta(hours=i)).isoformat()},{float(e)!r}\n" for i, e in enumerate(eq)
        )
    )
    r = _cli("metrics", str(path), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    ret = np.diff(eq) / np.asarray(eq[:-1])
    assert close(out["psr"], oracle_psr(ret))
    sr = ret.mean() / ret.std(ddof=1)
    g3, g4 = skew(ret, bias=True), kurtosis(ret, fisher=False, bias=True)
    assert close(
        out["min_track_record_length"],
        1 + (1 - g3 * sr + (g4 - 1) / 4 * sr**2) * (norm.ppf(0.95) / sr) ** 2,
    )
    falling = tmp_path / "down.csv"
    falling.write_text(
        "timestamp,equity\n2025-01-01,100\n2025-01-02,99\n2025-01-03,97\n2025-01-04,96.5\n"
    )
    out = json.loads(_cli("metrics", str(falling), "--json").stdout)
    assert out["min_track_record_length"] is None
    assert out["significance_flags"]["min_track_record_length"] == "sharpe_not_positive"


async def test_nof1_chat_calibration_where_outcomes_are_known(store: Any) -> None:
    from arenad.books.tables import INSERT_ROUND_TRIP, RoundTrip

    t0 = NOW - timedelta(days=2)

    def at(minutes: float) -> str:
        return utc_iso(t0 + timedelta(minutes=minutes))

    # (decision minute, side, confidence) and (entry minute, side, pnl) on BTC.
    decisions = [(0, "long", 0.9), (30, "short", 0.7), (60, "long", 0.4), (200, "long", 0.8)]
    trips = [(2, "long", 50.0), (33, "short", -20.0), (61, "long", -5.0), (300, "long", 9.0)]

    async def fn(conn: Any) -> None:
        await conn.execute(
            "INSERT INTO books (book_id, kind, name, created_at) VALUES"
            " ('bot:nof1-m', 'bot', 'm', ?)",
            (at(0),),
        )
        for i, (m, side, conf) in enumerate(decisions):
            await conn.execute(
                "INSERT INTO decision_log (book_id, model_id, symbol, ts, decision, confidence,"
                " direction, source, source_id) VALUES ('bot:nof1-m', 'm', 'BTC', ?, ?, ?, ?,"
                " 'nof1', ?)",
                (at(m), "buy" if side == "long" else "sell", conf, side, f"c{i}"),
            )
        for i, (m, side, pnl) in enumerate(trips):
            await conn.execute(
                INSERT_ROUND_TRIP,
                RoundTrip(
                    book_id="bot:nof1-m",
                    symbol="BTC",
                    direction=side,
                    quantity="1",
                    entry_time=at(m),
                    entry_price="100",
                    exit_time=at(m + 20),
                    exit_price="101",
                    realized_pnl=pnl,
                    source="nof1",
                    source_id=f"t{i}",
                ).row(),
            )

    await store.writer.transaction(fn)
    rc = Recomputer(store.path, MetricsSettings())
    res = await rc.run(store.writer.transaction, NOW)
    s = {x.book_id: x for x in res.boards["all_time"]}["bot:nof1-m"]
    cal = s.calibration
    # The trip at minute 300 entered 100 minutes after the last decision: not matched.
    assert cal is not None and cal["trips"] == 3
    assert math.isclose(cal["brier"], ((0.9 - 1) ** 2 + (0.7 - 0) ** 2 + (0.4 - 0) ** 2) / 3)
    assert standing_wire(s)["calibration"] == cal["brier"]
