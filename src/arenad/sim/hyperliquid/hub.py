"""Fan-out of simulator events to `/ws` connections, with Hyperliquid's subscription rules.

Events from the clearinghouse are buffered while an action or a market step runs and flushed
as one message per channel and key afterwards: mainnet also batches a block's fills per user,
and it keeps the fan-out cost per message rather than per fill.

Each connection has a bounded outbox drained by its own writer task, which is where faults
apply (latency, drop, truncated frames, paused channels). A client too slow to drain
`OUTBOX_LIMIT` messages is disconnected, as a real server sheds a slow consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from arenad.sim.faults import Faults

OUTBOX_LIMIT = 50_000
USER_TYPES = ("userFills", "userEvents", "orderUpdates")
COIN_TYPES = ("l2Book", "trades")
CHANNEL_OF = {"userEvents": "user"}
"""Message channel of a subscription type where the two differ."""

SubKey = tuple[str, str]
"""(subscription type, user or coin or "")."""


@dataclass(eq=False)
class Conn:
    ws: web.WebSocketResponse
    subs: dict[SubKey, dict[str, Any]] = field(default_factory=dict)
    outbox: asyncio.Queue[tuple[str, str]] = field(
        default_factory=lambda: asyncio.Queue(OUTBOX_LIMIT)
    )
    """(stream name for pause faults, JSON text)."""
    closed: bool = False

    @property
    def users(self) -> set[str]:
        return {key for (kind, key) in self.subs if kind in USER_TYPES}


class Hub:
    def __init__(self, faults: Faults, *, max_users: int) -> None:
        self.faults = faults
        self.max_users = max_users
        self.conns: set[Conn] = set()
        self._index: dict[SubKey, set[Conn]] = defaultdict(set)
        self._pending: dict[SubKey, list[Any]] = {}
        self.sent = 0
        self.fills_sent = 0
        self.shed = 0

    # --- subscriptions --------------------------------------------------------------------

    def subscribe(self, conn: Conn, key: SubKey, sub: dict[str, Any]) -> str | None:
        """Register; return an error text (the real one) instead when refused."""
        if key in conn.subs:
            return f"Already subscribed: {json.dumps(sub, separators=(',', ':'))}"
        if key[0] in USER_TYPES and key[1] not in conn.users and len(conn.users) >= self.max_users:
            return f"Cannot track more than {self.max_users} total users."
        conn.subs[key] = sub
        self._index[key].add(conn)
        return None

    def unsubscribe(self, conn: Conn, key: SubKey) -> bool:
        if conn.subs.pop(key, None) is None:
            return False
        self._index[key].discard(conn)
        return True

    def remove(self, conn: Conn) -> None:
        conn.closed = True
        for key in list(conn.subs):
            self._index[key].discard(conn)
        conn.subs.clear()
        self.conns.discard(conn)

    def has_subscribers(self, key: SubKey) -> bool:
        return bool(self._index.get(key))

    # --- publishing -----------------------------------------------------------------------

    def add(self, kind: str, key: str, payload: Any) -> None:
        """Buffer one event until `flush`."""
        if kind == "userFills":
            # A user's fills go to both userFills and userEvents subscribers.
            self._pending.setdefault(("userFills", key), []).append(payload)
            self._pending.setdefault(("userEvents", key), []).append({"fills": [payload]})
            return
        self._pending.setdefault((kind, key), []).append(payload)

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for (kind, key), items in pending.items():
            conns = self._index.get((kind, key))
            if not conns:
                continue
            for text in _messages(kind, key, items):
                for conn in list(conns):
                    self.send(conn, kind, text)
            if kind == "userFills":
                self.fills_sent += len(items) * len(conns)

    def send(self, conn: Conn, stream: str, text: str) -> None:
        if conn.closed:
            return
        try:
            conn.outbox.put_nowait((stream, text))
        except asyncio.QueueFull:
            self.shed += 1
            conn.closed = True
            asyncio.get_running_loop().create_task(self.faults.drop(conn.ws))

    def send_json(self, conn: Conn, stream: str, msg: Any) -> None:
        self.send(conn, stream, json.dumps(msg, separators=(",", ":")))

    # --- the writer -----------------------------------------------------------------------

    async def writer(self, conn: Conn, on_sent: Callable[[], None] | None = None) -> None:
        """Drain one connection's outbox through the fault filter."""
        faults = self.faults
        while True:
            stream, text = await conn.outbox.get()
            if faults.is_paused(stream):
                continue
            await faults.delay()
            if faults.should_drop():
                conn.closed = True
                await faults.drop(conn.ws)
                return
            payload = faults.corrupt(text) if faults.malformed() else text
            assert isinstance(payload, str)
            try:
                await conn.ws.send_str(payload)
            except (ConnectionError, RuntimeError):
                conn.closed = True
                return
            self.sent += 1
            if on_sent is not None:
                on_sent()

    async def close_all(self) -> None:
        for conn in list(self.conns):
            conn.closed = True
            with contextlib.suppress(Exception):
                await conn.ws.close()


def _messages(kind: str, key: str, items: list[Any]) -> list[str]:
    def dump(msg: Any) -> str:
        return json.dumps(msg, separators=(",", ":"))

    if kind == "userFills":
        return [dump({"channel": "userFills", "data": {"user": key, "fills": items}})]
    if kind == "userEvents":
        fills = [f for item in items if "fills" in item for f in item["fills"]]
        out = [dump({"channel": "user", "data": {"fills": fills}})] if fills else []
        out += [dump({"channel": "user", "data": item}) for item in items if "fills" not in item]
        return out
    if kind == "orderUpdates":
        return [dump({"channel": "orderUpdates", "data": items})]
    if kind == "trades":
        return [dump({"channel": "trades", "data": items})]
    # allMids, l2Book: only the latest state matters.
    return [dump({"channel": CHANNEL_OF.get(kind, kind), "data": items[-1]})]
