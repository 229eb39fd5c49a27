"""Hyperliquid adapter: fills paging and dedupe, and signatures the SDK's own recovery accepts."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from eth_account import Account
from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action

from arenad.errors import OperationalError, TemporaryError
from arenad.venues.hyperliquid.exchange import HyperliquidExchange, OrderIntent, decimal_to_wire
from arenad.venues.hyperliquid.info import FILLS_PAGE, HyperliquidInfo

USER = "0x67293d914eafb26878534571add81f6bd2d9fe06"


def fill(t: int, tid: int) -> dict:  # type: ignore[type-arg]
    return {
        "coin": "BTC",
        "px": "67000.0",
        "sz": "0.01",
        "side": "B",
        "time": t,
        "hash": f"0x{tid:064x}",
        "tid": tid,
        "startPosition": "0.0",
        "dir": "Open Long",
        "closedPnl": "0.0",
        "oid": tid,
        "crossed": True,
        "fee": "0.1",
        "feeToken": "USDC",
    }


async def test_fills_since_pages_forward_and_dedupes_the_shared_millisecond() -> None:
    # 4,500 fills; many share a millisecond at each page boundary
    fills = [fill(1_000 + i // 3, i) for i in range(4_500)]
    requests: list[dict] = []  # type: ignore[type-arg]

    def handler(req: httpx.Request) -> httpx.Response:
        body = json.loads(req.content)
        requests.append(body)
        page = [f for f in fills if f["time"] >= body["startTime"]][:FILLS_PAGE]
        return httpx.Response(200, json=page)

    info = HyperliquidInfo("http://127.0.0.1:1", transport=httpx.MockTransport(handler))
    got = await info.fills_since(USER, 0)
    assert [f["tid"] for f in got] == list(range(4_500))
    assert len(requests) == 3 and all(r["type"] == "userFillsByTime" for r in requests)


async def test_fills_since_refuses_to_skip_an_unpageable_millisecond() -> None:
    same_ms = [fill(5, i) for i in range(FILLS_PAGE + 10)]

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=same_ms[:FILLS_PAGE])

    info = HyperliquidInfo("http://127.0.0.1:1", transport=httpx.MockTransport(handler))
    with pytest.raises(OperationalError, match="cannot page past"):
        await info.fills_since(USER, 0)


@pytest.mark.parametrize(
    ("status", "exc"), [(429, TemporaryError), (502, TemporaryError), (422, OperationalError)]
)
async def test_info_errors_are_typed(status: int, exc: type) -> None:
    info = HyperliquidInfo(
        "http://127.0.0.1:1",
        transport=httpx.MockTransport(lambda r: httpx.Response(status, text="x")),
    )
    with pytest.raises(exc):
        await info.meta()


def test_decimal_to_wire_matches_the_sdk() -> None:
    from hyperliquid.utils.signing import float_to_wire

    for s in ("0.10", "67000.0", "1E+2", "0.00012300", "12345", "0"):
        assert decimal_to_wire(Decimal(s)) == float_to_wire(float(s))


async def test_signed_order_recovers_to_our_address() -> None:
    wallet = Account.from_key("0x" + "11" * 32)
    sent: list[dict] = []  # type: ignore[type-arg]

    def handler(req: httpx.Request) -> httpx.Response:
        sent.append(json.loads(req.content))
        return httpx.Response(
            200,
            json={
                "status": "ok",
                "response": {
                    "type": "order",
                    "data": {"statuses": [{"error": "Order must have minimum value of $10."}]},
                },
            },
        )

    ex = HyperliquidExchange(
        "http://127.0.0.1:1", wallet, is_mainnet=False, transport=httpx.MockTransport(handler)
    )
    order = OrderIntent(0, True, Decimal("67123"), Decimal("0.00010"), False, "0x" + "ab" * 16)
    reply = await ex.place([order], now_ms=1_700_000_000_000)
    assert reply["status"] == "ok"  # per-order errors live inside an ok envelope
    payload = sent[0]
    assert payload["action"]["orders"][0] == {
        "a": 0,
        "b": True,
        "p": "67123",
        "s": "0.0001",
        "r": False,
        "t": {"limit": {"tif": "Ioc"}},
        "c": "0x" + "ab" * 16,
    }
    signer = recover_agent_or_user_from_l1_action(
        payload["action"], payload["signature"], None, payload["nonce"], None, False
    )
    assert signer.lower() == wallet.address.lower()
    # nonces strictly increase even within one millisecond
    await ex.place([order], now_ms=1_700_000_000_000)
    assert sent[1]["nonce"] == sent[0]["nonce"] + 1
