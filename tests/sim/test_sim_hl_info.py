"""/info: every response has the shape of the recorded mainnet response of the same request
(each recorded key present, with the same JSON type), and the documented fill-window rules."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from arenad.sim.server import SimServer
from arenad.venues.hyperliquid.info import HyperliquidInfo
from arenad.venues.hyperliquid.rules import round_price
from conftest import TEST_DATA

RECORDED = TEST_DATA / "sim" / "hyperliquid"
USER = "0x" + "ab" * 20


def recorded(name: str) -> Any:
    return json.loads((RECORDED / f"info_{name}.json").read_text())["response"]


def assert_same_shape(expected: Any, actual: Any, path: str = "$") -> None:
    """Each key of `expected` exists in `actual` with the same JSON type, recursively. A
    recorded null matches anything; our null needs a recorded null at that place. Each element
    of a list we return must match the shape of some recorded element (mainnet's own elements
    differ in which fields are null)."""
    if expected is None:
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}: missing key {key!r} (have {sorted(actual)})"
            if actual[key] is None and value is not None:
                raise AssertionError(f"{path}.{key}: null where mainnet has {value!r}")
            assert_same_shape(value, actual[key], f"{path}.{key}")
        return
    if isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        if not expected:
            return
        for i, item in enumerate(actual):
            errors = []
            for candidate in expected:
                try:
                    assert_same_shape(candidate, item, f"{path}[{i}]")
                    break
                except AssertionError as e:
                    errors.append(str(e))
            else:
                raise AssertionError(errors[0])
        return
    assert type(actual) is type(expected), (
        f"{path}: {type(expected).__name__} on mainnet, {type(actual).__name__} here ({actual!r})"
    )


async def post(server: SimServer, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.hyperliquid_url) as client:
        return await client.post("/info", json=body)


def trade(
    server: SimServer,
    user: str,
    coin: str,
    is_buy: bool,
    sz: str,
    tif: str = "Ioc",
    px: Decimal | None = None,
) -> Any:
    """An order placed inside the venue (no signature): state for the shape tests."""
    sim = server.hyperliquid
    if px is None:
        mid = sim.market.mid(coin)
        px = mid * (Decimal("1.02") if is_buy else Decimal("0.98"))
    px = round_price(px, sim.market.spec(coin).sz_decimals)
    wire = {
        "a": sim.house.asset_of[coin],
        "b": is_buy,
        "p": str(px),
        "s": sz,
        "r": False,
        "t": {"limit": {"tif": tif}},
    }
    (status,) = sim.house.place(user, [wire], sim.now_ms())
    sim.hub.flush()
    return status


@pytest.fixture
async def quiet(sim_factory: Any) -> SimServer:
    """A simulator without bots, so the state is only what the test made."""
    server: SimServer = await sim_factory(bots_enabled=False)
    return server


async def test_meta_all_mids_l2book_shapes(quiet: SimServer) -> None:
    meta = (await post(quiet, {"type": "meta"})).json()
    assert_same_shape(recorded("meta"), meta)
    names = [u["name"] for u in meta["universe"]]
    assert {"BTC", "ETH", "SOL", "BNB", "DOGE", "XRP"} <= set(names)

    mids = (await post(quiet, {"type": "allMids"})).json()
    assert set(mids) == set(names)
    assert all(isinstance(v, str) and Decimal(v) > 0 for v in mids.values())

    book = (await post(quiet, {"type": "l2Book", "coin": "ETH"})).json()
    assert_same_shape(recorded("l2Book"), book)
    bids, asks = book["levels"]
    assert len(bids) == len(asks) == 20
    assert Decimal(bids[0]["px"]) < Decimal(mids["ETH"]) < Decimal(asks[0]["px"])


async def test_meta_and_asset_ctxs_and_spot_meta(quiet: SimServer) -> None:
    meta, ctxs = (await post(quiet, {"type": "metaAndAssetCtxs"})).json()
    assert len(ctxs) == len(meta["universe"])
    for key in (
        "funding",
        "openInterest",
        "prevDayPx",
        "dayNtlVlm",
        "oraclePx",
        "markPx",
        "midPx",
        "impactPxs",
        "premium",
    ):
        assert key in ctxs[0]
    spot = (await post(quiet, {"type": "spotMeta"})).json()
    assert spot["universe"] == [] and spot["tokens"][0]["name"] == "USDC"


async def test_user_state_fills_and_orders_shapes(quiet: SimServer) -> None:
    assert "filled" in trade(quiet, USER, "ETH", True, "0.05")
    assert "filled" in trade(quiet, USER, "BTC", False, "0.001")
    resting = trade(
        quiet,
        USER,
        "SOL",
        True,
        "1",
        tif="Gtc",
        px=quiet.hyperliquid.market.mid("SOL") * Decimal("0.9"),
    )
    assert "resting" in resting

    state = (await post(quiet, {"type": "clearinghouseState", "user": USER})).json()
    assert_same_shape(recorded("clearinghouseState"), state)
    coins = {p["position"]["coin"]: p["position"]["szi"] for p in state["assetPositions"]}
    assert coins == {"ETH": "0.05", "BTC": "-0.001"}

    fills = (await post(quiet, {"type": "userFills", "user": USER})).json()
    assert_same_shape(recorded("userFills"), fills)
    assert all({"tid", "feeToken"} <= f.keys() for f in fills)
    assert [f["coin"] for f in fills][-1] == "ETH"  # newest first
    assert {f["dir"] for f in fills} == {"Open Long", "Open Short"}
    # Numbers are written as mainnet writes them: "0.0", "45986.0", never "0" or "45986".
    numbers = ("px", "sz", "startPosition", "closedPnl", "fee")
    for fill in recorded("userFills") + fills:
        assert all("." in fill[k] for k in numbers), fill

    orders = (await post(quiet, {"type": "openOrders", "user": USER})).json()
    assert_same_shape(recorded("openOrders"), orders)
    assert [o["oid"] for o in orders] == [resting["resting"]["oid"]]


async def test_unknown_user_is_empty_not_an_error(quiet: SimServer) -> None:
    other = "0x" + "cd" * 20
    assert (await post(quiet, {"type": "userFills", "user": other})).json() == []
    state = (await post(quiet, {"type": "clearinghouseState", "user": other})).json()
    assert state["assetPositions"] == [] and state["marginSummary"]["accountValue"] == "0.0"
    status = (await post(quiet, {"type": "orderStatus", "user": other, "oid": 1})).json()
    assert status == {"status": "unknownOid"}


@pytest.mark.parametrize(
    "body",
    [
        {"type": "userFills"},
        {"type": "userFills", "user": "0x12"},
        {"type": "noSuchThing"},
        {"kind": "meta"},
        {"type": "userFillsByTime", "user": USER},
    ],
)
async def test_bad_requests_get_422_like_mainnet(quiet: SimServer, body: dict[str, Any]) -> None:
    resp = await post(quiet, body)
    assert resp.status_code == 422
    assert "deserialize" in resp.text


async def test_not_json_gets_422(quiet: SimServer) -> None:
    async with httpx.AsyncClient(base_url=quiet.hyperliquid_url) as client:
        resp = await client.post("/info", content=b"{nope")
    assert resp.status_code == 422


async def test_user_fills_caps_at_2000_most_recent(quiet: SimServer) -> None:
    sim = quiet.hyperliquid
    t0 = sim.now_ms() - 10_000_000
    for i in range(2100):
        sim.house.inject_fill(USER, "ETH", i % 2 == 0, Decimal("4000"), Decimal("0.01"), t0 + i)
    fills = (await post(quiet, {"type": "userFills", "user": USER})).json()
    assert len(fills) == 2000
    assert fills[0]["time"] == t0 + 2099 and fills[-1]["time"] == t0 + 100


async def test_user_fills_by_time_window_rules_and_the_daemon_pager(quiet: SimServer) -> None:
    """Inclusive window, oldest first, at most 2,000 per response; the lead's pager
    (`fills_since`) collects all of them exactly once across pages, even with several fills
    in one millisecond at a page boundary."""
    sim = quiet.hyperliquid
    t0 = sim.now_ms() - 10_000_000
    for i in range(4500):
        # Three fills per millisecond.
        sim.house.inject_fill(USER, "SOL", i % 2 == 0, Decimal("200"), Decimal("0.1"), t0 + i // 3)
    window = (
        await post(
            quiet,
            {"type": "userFillsByTime", "user": USER, "startTime": t0 + 10, "endTime": t0 + 20},
        )
    ).json()
    assert [f["time"] for f in window] == sorted(f["time"] for f in window)
    assert len(window) == 33 and window[0]["time"] == t0 + 10 and window[-1]["time"] == t0 + 20
    page = (await post(quiet, {"type": "userFillsByTime", "user": USER, "startTime": t0})).json()
    assert len(page) == 2000 and page[0]["time"] == t0

    info = HyperliquidInfo(quiet.hyperliquid_url)
    try:
        every = await info.fills_since(USER, t0)
        assert len(every) == 4500
        assert len({(f["hash"], f["tid"]) for f in every}) == 4500
    finally:
        await info.close()
