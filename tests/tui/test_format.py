"""One format per kind of number (issue 21 item 4): what each one prints."""

from __future__ import annotations

import pytest

from arenad.tui import format as fmt


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("111585.208640157093765341188", "111,585.21"),  # a computed average, not raw
        ("2.7301", "2.7301"),  # XRP: five significant figures, not the cent
        ("0.215573", "0.21557"),
        ("4029.4", "4,029.40"),
        ("380.95", "380.95"),
        ("96500", "96,500.00"),
        (None, fmt.DASH),
        ("nan", fmt.DASH),
        (float("inf"), fmt.DASH),
        ("abc", "?"),
    ],
)
def test_price(value: object, shown: str) -> None:
    assert fmt.price(value) == shown


def test_price_to_a_given_tick() -> None:
    assert fmt.price("187.234", "0.01") == "187.23"
    assert fmt.price("96512.7", "1") == "96,513"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("6620", "6,620"), ("0.012", "0.012"), ("-0.50", "-0.5"), ("1.123456789", "1.123457")],
)
def test_size(value: object, shown: str) -> None:
    assert fmt.size(value) == shown


def test_one_spelling_each() -> None:
    assert fmt.multiplier(1) == fmt.multiplier(1.0) == fmt.multiplier("1.00") == "×1"
    assert fmt.money(6620) == "6,620.00" and fmt.money(-1.5, signed=True) == "-1.50"
    assert fmt.count(12345) == "12,345"
    for missing in (None, "None", float("nan"), "inf", ""):
        assert fmt.text(missing) == fmt.DASH
