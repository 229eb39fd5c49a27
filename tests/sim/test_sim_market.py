"""The market model: tick rules, seeded paths, books and takes that move the price."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from arenad.sim.market import KNOWN_COINS, Market
from arenad.sim.settings import SimSettings
from arenad.venues.hyperliquid.rules import is_valid_price, is_valid_size, round_price
from conftest import TEST_DATA

DEFAULT_COINS = ["BTC", "ETH", "SOL", "BNB", "DOGE", "XRP"]


def test_sz_decimals_match_mainnet_meta() -> None:
    recorded = json.loads((TEST_DATA / "sim/hyperliquid/info_meta.json").read_text())
    mainnet = {u["name"]: u["szDecimals"] for u in recorded["response"]["universe"]}
    for name, spec in KNOWN_COINS.items():
        if name in mainnet:
            assert spec.sz_decimals == mainnet[name], name
    assert {"BTC", "ETH", "SOL", "BNB", "DOGE", "XRP"} <= set(mainnet) & set(KNOWN_COINS)


@pytest.mark.parametrize(
    ("px", "sz_decimals", "ok"),
    [
        ("123456", 5, True),  # integers always
        ("12345.6", 5, False),  # 6 significant figures
        ("1234.5", 4, True),
        ("0.123456", 0, False),  # 6 sig figs
        ("0.012345", 0, True),
        ("0.0012345", 0, False),  # 7 decimals > 6 - 0
        ("1.2345", 3, False),  # 4 decimals > 6 - 3
        ("1.234", 3, True),
        ("0", 2, False),
        ("-1", 2, False),
    ],
)
def test_price_rule(px: str, sz_decimals: int, ok: bool) -> None:
    assert is_valid_price(Decimal(px), sz_decimals) is ok


@given(
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**7), places=8),
    st.integers(min_value=0, max_value=5),
)
def test_round_price_always_gives_a_valid_price(px: Decimal, sz_decimals: int) -> None:
    out = round_price(px, sz_decimals)
    assert is_valid_price(out, sz_decimals)
    # And it is near: within one tick of 5 significant figures or the decimal limit.
    assert abs(out - px) <= max(px * Decimal("0.0001"), Decimal(1).scaleb(sz_decimals - 6))


def test_size_rule() -> None:
    assert is_valid_size(Decimal("0.00001"), 5)
    assert not is_valid_size(Decimal("0.000001"), 5)
    assert not is_valid_size(Decimal("1.5"), 0)
    assert not is_valid_size(Decimal(0), 2)


def test_same_seed_same_path_other_seed_other_path() -> None:
    a, b, c = (Market(DEFAULT_COINS, seed=s) for s in (1, 1, 2))
    for _ in range(50):
        for m in (a, b, c):
            m.step(1.0)
    assert [a.mid(x) for x in DEFAULT_COINS] == [b.mid(x) for x in DEFAULT_COINS]
    assert [a.mid(x) for x in DEFAULT_COINS] != [c.mid(x) for x in DEFAULT_COINS]


def test_book_is_valid_sorted_and_around_mid() -> None:
    m = Market(DEFAULT_COINS, seed=3)
    for coin in DEFAULT_COINS:
        spec = m.spec(coin)
        bids, asks = m.levels(coin, "bid"), m.levels(coin, "ask")
        assert len(bids) == len(asks) == 20
        assert all(is_valid_price(lvl.px, spec.sz_decimals) for lvl in bids + asks)
        assert all(is_valid_size(lvl.sz, spec.sz_decimals) for lvl in bids + asks)
        assert [lvl.px for lvl in bids] == sorted((lvl.px for lvl in bids), reverse=True)
        assert [lvl.px for lvl in asks] == sorted(lvl.px for lvl in asks)
        assert bids[0].px < m.mid(coin) < asks[0].px


def test_daily_volatility_is_realistic() -> None:
    """A day of 1-minute steps moves BTC by about its 2.5% daily volatility, not 0 or 50%."""
    import math

    moves = []
    for seed in range(20):
        m = Market(["BTC"], seed=seed)
        start = float(m.mid("BTC"))
        for _ in range(1440):
            m.step(60.0)
        moves.append(math.log(float(m.mid("BTC")) / start))
    sd = (sum(x * x for x in moves) / len(moves)) ** 0.5
    assert 0.01 < sd < 0.05


def test_a_large_take_walks_the_book_and_moves_the_price() -> None:
    m = Market(["ETH"], seed=5)
    mid0 = m.mid("ETH")
    best = m.best_ask("ETH")
    depth = sum((lvl.sz for lvl in m.levels("ETH", "ask")[:3]), Decimal(0))
    takes = m.take("ETH", True, depth, mid0 * 2)
    assert len(takes) == 3
    assert [t.px for t in takes] == sorted(t.px for t in takes)
    assert takes[0].px == best and takes[-1].px > best
    assert m.mark("ETH") > mid0  # size moved the price
    # A limit stops the walk.
    assert m.take("ETH", True, Decimal(1000), m.best_ask("ETH") - 1) == []


def test_settings_refuse_a_non_loopback_host() -> None:
    assert SimSettings(host="::1").host == "::1"
    assert SimSettings(host="localhost").host == "localhost"
    for bad in ("0.0.0.0", "192.168.1.5", "example.com"):  # noqa: S104
        with pytest.raises(ValidationError, match="loopback"):
            SimSettings(host=bad)


def test_settings_refuse_duplicate_bot_names() -> None:
    with pytest.raises(ValidationError, match="unique"):
        SimSettings.model_validate({"bots": [{"name": "a"}, {"name": "a"}]})
