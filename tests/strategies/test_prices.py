"""Price files: long and wide CSV, and errors that name the file, line and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arenad.strategies.prices import PriceError, load_prices_csv, write_prices_csv
from arenad.strategies.synthetic import make_prices

LONG = """date,symbol,close
2024-01-03,SPY,101.5
2024-01-02,SPY,100
2024-01-02,qqq,50
2024-01-03,QQQ,51.25
2024-01-04,SPY,102
"""
WIDE = """date,SPY,QQQ
2024-01-02,100,50
2024-01-04,102,
2024-01-03,101.5,51.25
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "prices.csv"
    p.write_text(text)
    return p


def test_long_and_wide_read_the_same(tmp_path: Path) -> None:
    a = load_prices_csv(write(tmp_path, LONG))
    b = load_prices_csv(write(tmp_path, WIDE))
    assert a.symbols == b.symbols == ("SPY", "QQQ")
    assert [str(d) for d in a.dates] == ["2024-01-02", "2024-01-03", "2024-01-04"]
    np.testing.assert_array_equal(a.dates, b.dates)
    np.testing.assert_array_equal(a.closes, b.closes)
    assert np.isnan(a.closes[2, 1])  # no QQQ close on the 4th


def test_long_format_tolerates_extra_columns_and_any_order(tmp_path: Path) -> None:
    t = load_prices_csv(write(tmp_path, "symbol,open,close,date\nSPY,1,2.5,2024-01-02\n"))
    assert t.symbols == ("SPY",) and t.closes[0, 0] == 2.5


def test_round_trip(tmp_path: Path) -> None:
    t = make_prices(["A", "B"], 30)
    write_prices_csv(t, tmp_path / "p.csv")
    back = load_prices_csv(tmp_path / "p.csv")
    np.testing.assert_array_equal(back.closes, t.closes)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("day,symbol,close\n", ":1: long format needs a 'date' column"),
        ("day,SPY,QQQ\n", ":1: the first column must be 'date'"),
        ("date,symbol,price\n2024-01-02,SPY,1\n", ":1: long format needs a 'close' column"),
        (
            "date,symbol,close\n2024-01-02,SPY,1\n2024-13-01,SPY,2\n",
            ":3: column date: not a date (YYYY-MM-DD): '2024-13-01'",
        ),
        ("date,symbol,close\n2024-01-02,SPY,abc\n", ":2: column close: not a number: 'abc'"),
        ("date,symbol,close\n2024-01-02,SPY,-3\n", ":2: column close: a close must be a positive"),
        ("date,symbol,close\n2024-01-02,SPY,nan\n", ":2: column close: a close must be a positi"),
        ("date,symbol,close\n2024-01-02,SPY\n", ":2: expected 3 columns, got 2"),
        ("date,symbol,close\n2024-01-02,,1\n", ":2: column symbol: empty"),
        (
            "date,symbol,close\n2024-01-02,SPY,1\n2024-01-02,spy,2\n",
            ":3: SPY on 2024-01-02 already given on line 2",
        ),
        ("date,symbol,close\n", "no price rows"),
        ("date\n2024-01-02\n", "at least one symbol column"),
        ("date,SPY,SPY\n", "symbol SPY is a column twice"),
        ("date,SPY,QQQ\n2024-01-02,1,x\n", ":2: column QQQ: not a number: 'x'"),
        ("date,SPY,QQQ\n2024-01-02,1\n", ":2: expected 3 columns, got 2"),
        ("date,SPY\n2024-01-02,1\n2024-01-02,2\n", ":3: date 2024-01-02 already given on line 2"),
    ],
)
def test_bad_files_are_explained(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PriceError) as e:
        load_prices_csv(write(tmp_path, text))
    assert str(tmp_path / "prices.csv") in str(e.value)
    assert message in str(e.value)


def test_unknown_symbols_are_named_with_what_exists(tmp_path: Path) -> None:
    t = load_prices_csv(write(tmp_path, LONG))
    with pytest.raises(PriceError, match=r"symbols IWM, EFA are not in the price data \(it has"):
        t.select(["SPY", "IWM", "EFA"])
    with pytest.raises(PriceError, match="cannot read"):
        load_prices_csv(tmp_path / "nope.csv")
