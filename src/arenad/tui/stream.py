"""Bounded, coalescing buffer between the event stream and the screen.

The daemon can publish far faster than a terminal can redraw (a burst of fills, a status every
second, equity ticks). The link worker ``put``s every event here as it arrives and the app
``drain``s it once per redraw, so the UI does one update per frame whatever the event rate:

- state topics (``status``, ``trading_state``, ``config``) keep only the newest value;
- ``position`` keeps the newest row per (book, symbol); ``equity`` the newest tick per series;
- log topics (``system_event``, ``decision``, ``order``, ``arena_run``) are bounded deques
  that drop their oldest entries (counted in ``overflowed``).

Memory is therefore bounded by the number of distinct positions/series plus ``max_items`` per
log topic, never by the event rate. Malformed events are counted and ignored, never raised:
the daemon is trusted but the TUI must not die on a bad frame.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

LATEST_TOPICS = ("status", "trading_state", "config")
LOG_TOPICS = ("system_event", "decision", "order", "arena_run")


@dataclass(slots=True)
class Batch:
    """Everything that arrived since the previous drain, already coalesced."""

    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    positions: list[dict[str, Any]] = field(default_factory=list)
    equity: dict[str, tuple[str, float]] = field(default_factory=dict)
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    dropped_upstream: int = 0

    @property
    def topics(self) -> frozenset[str]:
        t = set(self.latest) | {k for k, v in self.logs.items() if v}
        if self.positions:
            t.add("position")
        if self.equity:
            t.add("equity")
        if self.dropped_upstream:
            t.add("dropped")
        return frozenset(t)


class StreamBuffer:
    def __init__(self, max_items: int = 500) -> None:
        self.max_items = max_items
        self._latest: dict[str, dict[str, Any]] = {}
        self._positions: dict[tuple[str, str], dict[str, Any]] = {}
        self._equity: dict[str, tuple[str, float]] = {}
        self._logs: dict[str, deque[dict[str, Any]]] = {
            t: deque(maxlen=max_items) for t in LOG_TOPICS
        }
        self._dropped_upstream = 0
        self.received = 0
        self.coalesced = 0
        self.overflowed = 0
        self.malformed = 0
        self.ignored = 0

    def __len__(self) -> int:
        return (
            len(self._latest)
            + len(self._positions)
            + len(self._equity)
            + sum(len(d) for d in self._logs.values())
            + (1 if self._dropped_upstream else 0)
        )

    def put(self, event: Any) -> None:
        self.received += 1
        if not isinstance(event, dict):
            self.malformed += 1
            return
        topic, data = event.get("event"), event.get("data")
        if not isinstance(topic, str) or not isinstance(data, dict):
            self.malformed += 1
            return
        if topic in LATEST_TOPICS:
            if topic in self._latest:
                self.coalesced += 1
            self._latest[topic] = data
        elif topic in LOG_TOPICS:
            log = self._logs[topic]
            if len(log) == log.maxlen:
                self.overflowed += 1
            if "ts" not in data and isinstance(event.get("ts"), str):
                data = {**data, "ts": event["ts"]}
            log.append(data)
        elif topic == "position":
            key = (str(data.get("book_id")), str(data.get("symbol")))
            if key in self._positions:
                self.coalesced += 1
            self._positions[key] = data
        elif topic == "equity":
            self._put_equity(event, data)
        elif topic == "dropped":
            count = data.get("count")
            self._dropped_upstream += count if isinstance(count, int) else 1
        else:
            self.ignored += 1

    def _put_equity(self, event: dict[str, Any], data: dict[str, Any]) -> None:
        series = data.get("series")
        ts = data.get("ts", event.get("ts"))
        if series is None and "book_id" in data:
            self.ignored += 1  # a per-book tick: the chart draws the aggregates
            return
        if not isinstance(series, dict) or not isinstance(ts, str):
            self.malformed += 1
            return
        for name, value in series.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                if name in self._equity:
                    self.coalesced += 1
                self._equity[str(name)] = (ts, float(value))
            else:
                self.malformed += 1

    def drain(self) -> Batch:
        batch = Batch(
            latest=self._latest,
            positions=list(self._positions.values()),
            equity=self._equity,
            logs={t: list(d) for t, d in self._logs.items() if d},
            dropped_upstream=self._dropped_upstream,
        )
        self._latest, self._positions, self._equity = {}, {}, {}
        for d in self._logs.values():
            d.clear()
        self._dropped_upstream = 0
        return batch
