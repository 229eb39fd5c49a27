"""Wire parsing on recorded mainnet data and on the simulator's frames."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from arenad.errors import OperationalError, OrderRejected, SkipError
from arenad.venues.hyperliquid.info import HyperliquidInfo
from arenad.venues.hyperliquid.wire import (
    direction,
    parse_fill,
    parse_fills,
    parse_meta,
    parse_order_reply,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "fade"
RECORDED = json.loads((DATA / "info_userFills.json").read_text())
WALLET = RECORDED["request"]["user"]


def test_recorded_mainnet_user_fills_parse_without_loss() -> None:
    raw = RECORDED["response"]
    fills, errors = parse_fills(raw, WALLET)
    assert errors == [] and len(fills) == len(raw) == 500
    for f, r in zip(fills, raw, strict=True):
        assert f.raw == r  # every field kept, unknown ones included
        assert (str(f.px), str(f.sz), str(f.start_position), str(f.closed_pnl), str(f.fee)) == (
            r["px"],
            r["sz"],
            r["startPosition"],
            r["closedPnl"],
            r["fee"],
        )
        assert (f.coin, f.side, f.dir, f.hash, f.oid, f.time_ms, f.crossed) == (
            r["coin"],
            r["side"],
            r["dir"],
            r["hash"],
            r["oid"],
            r["time"],
            r["crossed"],
        )
        # the position change each fill implies agrees with the venue's own label
        assert direction(f.start_position, f.signed_size) == f.dir
    # this older response has no tid: the fallback key still tells every fill apart
    assert all(f.tid is None for f in fills)
    assert len({f.key for f in fills}) == len(fills)


def test_malformed_items_are_skipped_naming_the_field() -> None:
    good = RECORDED["response"][0]
    cases = {
        "sz": {**good, "sz": "lots"},
        "px": {**good, "px": "-1"},
        "side": {**good, "side": "X"},
        "startPosition": {k: v for k, v in good.items() if k != "startPosition"},
        "time": {**good, "time": "yesterday"},
        "crossed": {**good, "crossed": "yes"},
    }
    for field, bad in cases.items():
        with pytest.raises(SkipError, match=repr(field)):
            parse_fill(bad, WALLET)
    fills, errors = parse_fills([good, cases["sz"], "junk", good], WALLET)
    assert len(fills) == 2 and len(errors) == 2
    assert "'sz'" in errors[0] and "expected an object" in errors[1]


def test_recorded_meta() -> None:
    meta = json.loads((DATA / "info_meta.json").read_text())["response"]
    assets = parse_meta(meta)
    assert assets["BTC"].index == 0 and assets["BTC"].sz_decimals == 5
    assert assets["ETH"].sz_decimals == 4 and len(assets) == len(meta["universe"])


def test_order_replies() -> None:
    ok = {
        "status": "ok",
        "response": {
            "type": "order",
            "data": {
                "statuses": [
                    {"resting": {"oid": 7}},
                    {"filled": {"totalSz": "0.02", "avgPx": "1891.4", "oid": 8}},
                    {"error": "Order must have minimum value of $10."},
                ]
            },
        },
    }
    r, f, e = parse_order_reply(ok)
    assert (r.kind, r.oid) == ("resting", 7)
    assert (f.kind, f.total_sz, f.avg_px, f.oid) == (
        "filled",
        Decimal("0.02"),
        Decimal("1891.4"),
        8,
    )
    assert e.kind == "error" and "minimum value" in (e.error or "")
    with pytest.raises(OrderRejected, match="User or API Wallet"):
        parse_order_reply({"status": "err", "response": "User or API Wallet 0x1 does not exist."})
    with pytest.raises(OperationalError):
        parse_order_reply({"status": "ok", "response": {"data": {"statuses": [{"odd": 1}]}}})


@pytest.mark.live_market
async def test_simulator_fills_parse_and_positions_chain(sim_server) -> None:  # type: ignore[no-untyped-def]
    from fixtures_sim import poll_until

    house = sim_server.hyperliquid.house
    bots = list(sim_server.hyperliquid.bots.by_name().values())
    bot = await poll_until(
        lambda: next((b for b in bots if len(house.user_fills(b.address)) >= 10), None),
        timeout=30,
        what="a bot with 10 fills",
    )
    info = HyperliquidInfo(sim_server.hyperliquid_url)
    try:
        fills, errors = parse_fills(await info.fills_since(bot.address, 0), bot.address)
    finally:
        await info.close()
    assert errors == [] and all(f.tid is not None and f.fee_token for f in fills)
    assert len({f.key for f in fills}) == len(fills)
    by_coin: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    for f in sorted(fills, key=lambda f: (f.time_ms, f.tid)):
        by_coin[f.coin].append(f)
    for chain in by_coin.values():  # a complete history: each fill starts where the last ended
        for a, b in itertools.pairwise(chain):
            assert b.start_position == a.new_position
        assert all(direction(f.start_position, f.signed_size) == f.dir for f in chain)
