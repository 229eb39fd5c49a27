"""The pure leaderboard: windows, ranking ties, books with no trades or too few samples, and
period summaries — each figure recomputed independently here from the inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arenad.metrics.board import (
    BookData,
    BookInfo,
    book_standing,
    leaderboard,
    period_summaries,
)
from arenad.metrics.curve import RoundTrip, curve_metrics, trade_metrics

T0 = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
NOW = T0 + timedelta(days=60)


def book(
    book_id: str,
    equity: list[float],
    *,
    kind: str = "arena_model",
    step_h: float = 1.0,
    end: datetime = NOW,
) -> BookData:
    n = len(equity)
    start = end - timedelta(hours=step_h * (n - 1))
    b = BookData(BookInfo(book_id, kind, book_id.upper()))
    b.add_points([(start + timedelta(hours=step_h * i)).timestamp() for i in range(n)], equity)
    return b


def _daily_closes(b: BookData, rule: str) -> tuple[list[datetime], list[float]]:
    """The oracle's resampling (pandas): the first point (unless it is alone in its period,
    so its own close), then each period's last equity, carried forward over empty periods."""
    ser = pd.Series(b.equity, index=pd.to_datetime(b.t, unit="s", utc=True))
    closes = ser.resample(rule, label="right", closed="left").last().ffill()
    ts = [x.to_pydatetime() for x in closes.index]
    eq = closes.tolist()
    if ser.resample(rule).count().iloc[0] > 1:
        ts, eq = [ser.index[0].to_pydatetime(), *ts], [float(ser.iloc[0]), *eq]
    return ts, eq


def test_all_time_ratios_rest_on_daily_returns() -> None:
    rng = np.random.default_rng(7)
    eq = list(10_000 * np.cumprod(1 + rng.normal(0.0002, 0.01, 2000)))  # hourly, 83 days
    b = book("a", eq, end=NOW + timedelta(minutes=30))  # points at hh:30: never a day's close
    s = book_standing(b, "all_time", (NOW + timedelta(days=1)).timestamp(), min_points=30)
    ts, closes = _daily_closes(b, "1D")
    m = curve_metrics(ts, closes, periods_per_year_override=365.25)
    raw = curve_metrics([datetime.fromtimestamp(x, UTC) for x in b.t], eq)
    assert s.points == len(closes) - 1 and s.points >= 84
    assert s.total_return == pytest.approx(raw.total_return, rel=1e-12)
    assert s.sharpe == pytest.approx(m.sharpe, rel=1e-12)
    assert s.sortino == pytest.approx(m.sortino, rel=1e-12)
    assert s.annual_volatility == pytest.approx(m.annual_volatility, rel=1e-12)
    assert s.max_drawdown == pytest.approx(raw.max_drawdown, rel=1e-12)  # every point
    assert s.insufficient == ["win_rate", "profit_factor", "expectancy"]
    # The same curve's daily window: hourly returns, 24 of them (< 30: not a number).
    d = book_standing(b, "daily", NOW.timestamp(), min_points=30)
    assert d.points in (24, 25) and d.sharpe is None and "sharpe" in d.insufficient
    d = book_standing(b, "daily", NOW.timestamp(), min_points=20)
    # The window: points up to now, from the last one at or before now - 24 h.
    seen = b.t <= NOW.timestamp()
    first = int(np.nonzero(b.t <= (NOW - timedelta(days=1)).timestamp())[0][-1])
    ts, closes = _daily_closes(
        BookData(b.info, b.t[first:][seen[first:]], b.equity[first:][seen[first:]]), "1h"
    )
    assert d.sharpe == pytest.approx(
        curve_metrics(ts, closes, periods_per_year_override=365.25 * 24).sharpe, rel=1e-12
    )


def test_minute_samples_over_minutes_give_no_sharpe() -> None:
    """The demo's Sharpe of 701.6: a few minutes of minute-sampled returns, annualized."""
    eq = [10_000.0 + 3 * i + (i % 2) for i in range(10)]
    b = book("a", eq, step_h=1 / 60)
    for tf in ("daily", "weekly", "all_time"):
        s = book_standing(b, tf, NOW.timestamp())  # [metrics] defaults
        assert s.total_return == pytest.approx(eq[-1] / eq[0] - 1)
        assert s.points <= 2
        assert s.sharpe is None and s.sortino is None and s.annual_return is None
        assert {"sharpe", "sortino", "annual_return", "calmar"} <= set(s.insufficient)


def test_daily_window_starts_from_the_equity_the_day_began_with() -> None:
    eq = [100.0 + i for i in range(72)]  # hourly, 3 days
    b = book("a", eq)
    s = book_standing(b, "daily", NOW.timestamp(), min_points=2)
    # 24 h back from the last point lands exactly on point 47: the window is 47..71.
    assert s.total_return == pytest.approx(eq[-1] / eq[-25] - 1)
    assert s.total_pnl == pytest.approx(24.0)
    # A point later than "now" is not seen.
    earlier = book_standing(b, "daily", (NOW - timedelta(hours=10)).timestamp(), min_points=2)
    assert earlier.equity == eq[-11]


def test_ties_share_a_rank_and_unranked_books_come_last() -> None:
    books = [
        book("b", [100.0, 110.0]),
        book("a", [200.0, 220.0]),  # the same +10 % as b
        book("c", [100.0, 130.0]),
        book("d", [100.0]),  # one point: no return, not ranked
        BookData(BookInfo("e", "fade", "E")),  # nothing at all
        book("f", [100.0, 90.0]),
    ]
    board = leaderboard(books, "all_time", NOW.timestamp(), previous={"a": 1, "c": 3, "f": 2})
    assert [(s.book_id, s.rank) for s in board] == [
        ("c", 1),
        ("a", 2),
        ("b", 2),
        ("f", 4),
        ("d", None),
        ("e", None),
    ]
    changes = {s.book_id: s.rank_change for s in board}
    assert changes == {"c": 2, "a": -1, "b": None, "f": -2, "d": None, "e": None}
    empty = board[-1]
    assert empty.equity is None and empty.trades == 0 and "total_return" in empty.insufficient


def test_books_with_no_trades_and_small_samples_are_marked_not_ranked_on() -> None:
    b = book("a", [100.0, 101.0, 102.0, 101.5])
    s = book_standing(b, "all_time", NOW.timestamp(), min_points=30, min_trades=10)
    assert s.trades == 0 and s.win_rate is None and s.profit_factor is None
    assert {"sharpe", "sortino", "win_rate", "profit_factor"} <= set(s.insufficient)
    assert s.sharpe is None  # too small a sample: not a number, and named
    b = book("a", [100.0, 101.0, 102.0, 101.5], step_h=24)
    enough = book_standing(b, "all_time", NOW.timestamp(), min_points=3, min_trades=10)
    assert "sharpe" not in enough.insufficient and enough.sharpe is not None


def test_unknown_timeframe_is_refused() -> None:
    with pytest.raises(ValueError, match="timeframe must be one of"):
        leaderboard([], "hourly", NOW.timestamp())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-500, 500, allow_nan=False), st.integers(60, 10**6), st.integers(0, 10**7)
        ),
        min_size=1,
        max_size=40,
    )
)
def test_trade_figures_match_trade_metrics(trips: list[tuple[float, int, int]]) -> None:
    b = BookData(BookInfo("x", "fade", "X"))
    entries = [T0 + timedelta(seconds=o) for _, _, o in trips]
    exits = [e + timedelta(seconds=h) for e, (_, h, _) in zip(entries, trips, strict=True)]
    b.add_trades(
        [e.timestamp() for e in entries],
        [x.timestamp() for x in exits],
        [p for p, _, _ in trips],
        ["BTC"] * len(trips),
        [None] * len(trips),
    )
    s = book_standing(b, "all_time", (T0 + timedelta(days=400)).timestamp(), min_trades=1)
    m = trade_metrics(
        [RoundTrip(e, x, p) for e, x, (p, _, _) in zip(entries, exits, trips, strict=True)]
    )
    assert s.trades == m.trades and s.winning_trades == m.wins
    for a, e in [
        (s.win_rate, m.win_rate),
        (s.profit_factor, m.profit_factor),
        (s.expectancy, m.expectancy),
        (s.avg_holding_s, m.avg_holding_s),
        (s.avg_win, m.avg_win),
        (s.avg_loss, m.avg_loss),
    ]:
        assert (a is None and e is None) or a == pytest.approx(e, rel=1e-9, abs=1e-9)


def test_best_symbol_and_timeframe_are_those_with_the_highest_pnl() -> None:
    b = BookData(BookInfo("x", "arena_model", "X"))
    t = T0.timestamp()
    b.add_trades(
        [t] * 4,
        [t + 10, t + 20, t + 30, t + 40],
        [5.0, -1.0, 3.0, 4.0],
        ["AAPL", "NVDA", "NVDA", "NVDA"],
        ["swing", "day", "day", None],
    )
    s = book_standing(b, "all_time", t + 100, min_trades=1)
    assert s.best_symbol == "NVDA" and s.best_timeframe == "swing"


def test_period_summaries_of_a_known_curve() -> None:
    # Two days of hourly points: day 1 climbs 100 → 123, day 2 falls 124 → 101.
    eq = [100.0 + i for i in range(24)] + [124.0 - i for i in range(24)]
    start = T0
    b = BookData(BookInfo("x", "fade", "X"))
    b.add_points([(start + timedelta(hours=i)).timestamp() for i in range(48)], eq)
    b.add_trades(
        [start.timestamp()], [(start + timedelta(hours=30)).timestamp()], [7.0], ["BTC"], [None]
    )
    days = period_summaries(b, "daily")
    assert [d.period_start for d in days] == ["2025-03-03", "2025-03-04"]
    d1, d2 = days
    assert (d1.opening_equity, d1.closing_equity, d1.high_equity, d1.low_equity) == (
        100.0,
        123.0,
        123.0,
        100.0,
    )
    assert d1.pnl == 23.0 and d1.trades_opened == 1 and d1.trades_closed == 0
    assert d2.pnl == 101.0 - 123.0  # from the previous close
    assert d2.return_pct == pytest.approx((101 / 123 - 1) * 100)
    assert d2.trades_closed == 1 and d2.win_rate == 1.0
    assert d2.max_drawdown == pytest.approx(101 / 124 - 1)
    weeks = period_summaries(b, "weekly")
    assert [w.period_start for w in weeks] == ["2025-03-03"] and weeks[0].points == 48
    months = period_summaries(b, "monthly")
    assert [m.period_start for m in months] == ["2025-03-01"]
    # Incremental: only the periods from the one holding `since` on.
    later = period_summaries(b, "daily", since=(start + timedelta(hours=30)).timestamp())
    assert [d.period_start for d in later] == ["2025-03-04"]


def test_a_point_written_twice_keeps_the_last_value() -> None:
    b = BookData(BookInfo("x", "fade", "X"))
    b.add_points([1.0, 2.0, 3.0], [10.0, 11.0, 12.0])
    b.add_points([2.0, 4.0], [15.0, 13.0])
    assert b.t.tolist() == [1.0, 2.0, 3.0, 4.0] and b.equity.tolist() == [10.0, 15.0, 12.0, 13.0]
