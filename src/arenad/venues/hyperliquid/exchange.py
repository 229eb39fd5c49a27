"""The /exchange endpoint: orders and cancels signed with the official SDK's helpers, posted
with httpx.

Order wires are built from Decimal strings (never floats), so the price and size we sign are
exactly those we rounded. Hyperliquid reports per-order failures *inside* a ``"status":"ok"``
envelope — each entry of ``statuses`` is checked by the caller's parser; an ``"err"`` envelope
means the whole action was refused.

Sending is not idempotent by itself: the caller commits the intent (with its cloid) before
calling ``place``, and after a crash asks ``orderStatus`` by cloid before trying again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from hyperliquid.utils.signing import order_wires_to_order_action, sign_l1_action

from arenad.errors import OperationalError, TemporaryError


def decimal_to_wire(x: Decimal) -> str:
    """The SDK's wire form of a number: no exponent, no trailing zeros ("0.10" → "0.1")."""
    s = format(x.normalize(), "f")
    return "0" if s in ("-0", "") else s


@dataclass(frozen=True, slots=True)
class OrderIntent:
    asset: int  # index in meta.universe
    is_buy: bool
    price: Decimal  # already rounded to the venue's tick rules
    size: Decimal  # already rounded to szDecimals
    reduce_only: bool
    cloid: str  # "0x" + 32 hex, derived from the cause
    tif: str = "Ioc"  # Gtc | Ioc | Alo

    def wire(self) -> dict[str, Any]:
        return {
            "a": self.asset,
            "b": self.is_buy,
            "p": decimal_to_wire(self.price),
            "s": decimal_to_wire(self.size),
            "r": self.reduce_only,
            "t": {"limit": {"tif": self.tif}},
            "c": self.cloid,
        }


class HyperliquidExchange:
    def __init__(
        self,
        base_url: str,
        wallet: LocalAccount,
        *,
        is_mainnet: bool,
        vault_address: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout_s
        )
        self.wallet = wallet
        self.is_mainnet = is_mainnet
        self.vault_address = vault_address
        self._timeout_s = timeout_s
        self._last_nonce = 0

    @property
    def address(self) -> str:
        return str(self.wallet.address)

    async def close(self) -> None:
        await self._client.aclose()

    def _nonce(self, now_ms: int) -> int:
        # Nonces must be unique and increasing per signer; two orders in one millisecond get
        # consecutive values.
        self._last_nonce = max(now_ms, self._last_nonce + 1)
        return self._last_nonce

    def signed_payload(
        self, action: dict[str, Any], now_ms: int, expires_after_ms: int | None = None
    ) -> dict[str, Any]:
        """``expires_after_ms``: the venue refuses the action if it reaches it later (signed
        with the action, as the SDK's ``Exchange.set_expires_after`` does)."""
        nonce = self._nonce(now_ms)
        signature = sign_l1_action(
            self.wallet, action, self.vault_address, nonce, expires_after_ms, self.is_mainnet
        )
        payload = {
            "action": action,
            "nonce": nonce,
            "signature": signature,
            "vaultAddress": self.vault_address,
        }
        if expires_after_ms is not None:
            payload["expiresAfter"] = expires_after_ms
        return payload

    async def place(
        self, orders: Sequence[OrderIntent], now_ms: int, expires_after_ms: int | None = None
    ) -> dict[str, Any]:
        action = order_wires_to_order_action([o.wire() for o in orders])
        return await self._post(self.signed_payload(action, now_ms, expires_after_ms))

    async def cancel_by_cloid(
        self, asset: int, cloid: str, now_ms: int, expires_after_ms: int | None = None
    ) -> dict[str, Any]:
        action = {"type": "cancelByCloid", "cancels": [{"asset": asset, "cloid": cloid}]}
        return await self._post(self.signed_payload(action, now_ms, expires_after_ms))

    async def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        kind = payload["action"]["type"]
        try:
            async with asyncio.timeout(self._timeout_s + 1):
                resp = await self._client.post("/exchange", json=payload)
        except (httpx.TransportError, TimeoutError) as e:
            # The order may or may not have reached the venue: the caller resolves by cloid.
            raise TemporaryError(f"hyperliquid /exchange {kind}: {type(e).__name__}: {e}") from e
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TemporaryError(f"hyperliquid /exchange {kind}: HTTP {resp.status_code}")
        try:
            body = resp.json()
        except ValueError as e:
            raise TemporaryError(
                f"hyperliquid /exchange {kind}: not JSON (HTTP {resp.status_code}): "
                f"{resp.text[:120]!r}"
            ) from e
        if resp.status_code >= 400:
            raise OperationalError(f"hyperliquid /exchange {kind}: HTTP {resp.status_code} {body}")
        if not isinstance(body, dict):
            raise OperationalError(f"hyperliquid /exchange {kind}: unexpected reply {body!r}")
        return body
