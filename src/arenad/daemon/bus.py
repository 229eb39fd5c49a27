"""In-process publish/subscribe for live events (positions, equity, decisions, system events).

Publishing never blocks and never fails: each subscriber has a bounded queue, and a slow
subscriber loses its *oldest* events (counted, and reported to it) rather than slowing the
trading loops or growing memory without bound.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from arenad.store.db import utc_iso


@dataclass(slots=True)
class Message:
    topic: str
    data: dict[str, Any]
    ts: str = field(default_factory=utc_iso)

    def to_wire(self) -> dict[str, Any]:
        return {"event": self.topic, "ts": self.ts, "data": self.data}


class Subscription:
    def __init__(self, bus: Bus, topics: frozenset[str] | None, maxsize: int) -> None:
        self._bus = bus
        self.topics = topics
        self._items: deque[Message] = deque(maxlen=maxsize)
        self._ready = asyncio.Event()
        self.dropped = 0
        self.closed = False

    def wants(self, topic: str) -> bool:
        return self.topics is None or topic in self.topics

    def put(self, msg: Message) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(msg)
        self._ready.set()

    async def get(self) -> Message:
        while not self._items:
            if self.closed:
                raise EOFError("subscription closed")
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        self.closed = True
        self._ready.set()
        self._bus._subs.discard(self)


class Bus:
    def __init__(self, default_maxsize: int = 1000) -> None:
        self._subs: set[Subscription] = set()
        self.default_maxsize = default_maxsize

    def subscribe(
        self, topics: Iterable[str] | None = None, maxsize: int | None = None
    ) -> Subscription:
        sub = Subscription(
            self, frozenset(topics) if topics is not None else None, maxsize or self.default_maxsize
        )
        self._subs.add(sub)
        return sub

    def publish(self, topic: str, data: dict[str, Any]) -> None:
        if not self._subs:
            return
        msg = Message(topic, data)
        for sub in list(self._subs):
            if sub.wants(topic):
                sub.put(msg)

    @property
    def subscribers(self) -> int:
        return len(self._subs)
