"""The /info endpoint over httpx.

``fills_since`` pages ``userFillsByTime`` (at most 2,000 fills per response) forward in time
and dedupes on the fills' one dedupe key (``wire.fill_key``: hash and tid, or for tid-less
fills hash, oid, price, size and time): the next page starts at the newest time already
seen — not one millisecond after it, since fills sharing that millisecond may straddle the
page boundary.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from arenad.errors import OperationalError, SkipError, TemporaryError
from arenad.venues.hyperliquid.wire import raw_fill_key

FILLS_PAGE = 2000


class HyperliquidInfo:
    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout_s
        )
        self._timeout_s = timeout_s

    async def close(self) -> None:
        await self._client.aclose()

    async def post(self, payload: dict[str, Any]) -> Any:
        try:
            async with asyncio.timeout(self._timeout_s + 1):
                resp = await self._client.post("/info", json=payload)
        except (httpx.TransportError, TimeoutError) as e:
            raise TemporaryError(
                f"hyperliquid /info {payload.get('type')}: {type(e).__name__}: {e}"
            ) from e
        if resp.status_code == 429 or resp.status_code >= 500:
            ra = resp.headers.get("Retry-After")
            raise TemporaryError(
                f"hyperliquid /info {payload.get('type')}: HTTP {resp.status_code}",
                retry_after=float(ra) if ra and ra.replace(".", "", 1).isdigit() else None,
            )
        if resp.status_code >= 400:
            raise OperationalError(
                f"hyperliquid /info {payload.get('type')}: "
                f"HTTP {resp.status_code} {resp.text[:200]}"
            )
        try:
            return resp.json()
        except ValueError as e:
            raise TemporaryError(
                f"hyperliquid /info {payload.get('type')}: not JSON: {resp.text[:100]!r}"
            ) from e

    async def meta(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.post({"type": "meta"})
        return result

    async def all_mids(self) -> dict[str, str]:
        result: dict[str, str] = await self.post({"type": "allMids"})
        return result

    async def l2_book(self, coin: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.post({"type": "l2Book", "coin": coin})
        return result

    async def clearinghouse_state(self, user: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.post({"type": "clearinghouseState", "user": user})
        return result

    async def open_orders(self, user: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.post({"type": "openOrders", "user": user})
        return result

    async def order_status(self, user: str, oid: int | str) -> dict[str, Any]:
        """By oid (int) or cloid ("0x" + 32 hex)."""
        result: dict[str, Any] = await self.post({"type": "orderStatus", "user": user, "oid": oid})
        return result

    async def user_fills_by_time(
        self, user: str, start_ms: int, end_ms: int | None = None
    ) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"type": "userFillsByTime", "user": user, "startTime": start_ms}
        if end_ms is not None:
            payload["endTime"] = end_ms
        result = await self.post(payload)
        if not isinstance(result, list):
            raise SkipError(
                f"userFillsByTime for {user}: expected a list, got {type(result).__name__}"
            )
        return result

    async def fills_since(
        self, user: str, start_ms: int, end_ms: int | None = None, *, max_pages: int = 1000
    ) -> list[dict[str, Any]]:
        """Every fill of ``user`` from ``start_ms`` on, oldest first, each (``fill_key``) once."""
        seen: set[str] = set()
        out: list[dict[str, Any]] = []
        start = start_ms
        for _ in range(max_pages):
            page = await self.user_fills_by_time(user, start, end_ms)
            page.sort(key=lambda f: (f.get("time", 0), f.get("tid", 0)))
            new = 0
            for f in page:
                key = raw_fill_key(f, user)
                if key not in seen:
                    seen.add(key)
                    out.append(f)
                    new += 1
            if len(page) < FILLS_PAGE:
                return out
            newest = int(page[-1].get("time", start))
            if newest == start and new == 0:
                # A whole page inside one millisecond that we have already seen: paging by
                # time cannot get past it. Report the gap rather than skip fills silently.
                raise OperationalError(
                    f"userFillsByTime for {user}: more than {FILLS_PAGE} fills at {start} ms; "
                    "cannot page past them"
                )
            start = newest
        raise OperationalError(f"userFillsByTime for {user}: more than {max_pages} pages")
