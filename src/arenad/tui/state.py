"""What the TUI currently knows about the daemon: a snapshot plus the stream applied to it.

Kept free of Textual so the rules (how a live event updates the view, what is bounded, when
the daemon counts as stale) are tested without a terminal. Screens read from one
:class:`TuiState`; the app applies each drained :class:`~arenad.tui.stream.Batch` and tells
the visible screen which topics changed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from arenad.tui.client import Unavailable
from arenad.tui.stream import Batch

ConnState = Literal["connecting", "connected", "disconnected"]

# Every topic a screen may be told about; used to refresh a screen as a whole.
ALL_TOPICS = frozenset(
    {
        "status",
        "trading_state",
        "config",
        "system_event",
        "position",
        "equity",
        "decision",
        "order",
        "arena_run",
        "dropped",
        "connection",
        "snapshot",
    }
)
STATUS_STALE_S = 5.0


@dataclass(slots=True)
class Connection:
    state: ConnState = "connecting"
    attempt: int = 0
    error: str | None = None
    retry_in: float | None = None
    socket: str = ""


@dataclass(slots=True)
class Snapshot:
    """The answers to the start-up queries (any of them may be :class:`Unavailable`)."""

    status: dict[str, Any]
    config: dict[str, Any] | Unavailable
    events: list[dict[str, Any]] | Unavailable
    positions: list[dict[str, Any]] | Unavailable
    equity: dict[str, Any] | Unavailable


@dataclass
class TuiState:
    max_events: int = 500
    max_points: int = 2_000
    connection: Connection = field(default_factory=Connection)
    status: dict[str, Any] | None = None
    status_mono: float | None = None
    config: dict[str, Any] | Unavailable | None = None
    positions: dict[tuple[str, str], dict[str, Any]] | Unavailable = field(default_factory=dict)
    equity: dict[str, deque[tuple[str, float]]] | Unavailable = field(default_factory=dict)
    events: deque[dict[str, Any]] = field(init=False)
    decisions: deque[dict[str, Any]] = field(init=False)
    orders: deque[dict[str, Any]] = field(init=False)
    arena_runs: deque[dict[str, Any]] = field(init=False)
    dropped: int = 0
    events_seq: int = 0
    """Count of events ever appended, so a table can append only what is new."""
    events_unavailable: Unavailable | None = None

    def __post_init__(self) -> None:
        self.events = deque(maxlen=self.max_events)
        self.decisions = deque(maxlen=self.max_events)
        self.orders = deque(maxlen=self.max_events)
        self.arena_runs = deque(maxlen=self.max_events)

    # --- derived -------------------------------------------------------------------------
    @property
    def kill_engaged(self) -> bool:
        return bool(self.status and (self.status.get("kill_switch") or {}).get("engaged"))

    def stale(self, now_mono: float) -> bool:
        """Connected but no status for a while: the daemon's loop may be stuck."""
        return (
            self.connection.state == "connected"
            and self.status_mono is not None
            and now_mono - self.status_mono > STATUS_STALE_S
        )

    def position_rows(self) -> list[dict[str, Any]]:
        if isinstance(self.positions, Unavailable):
            return []
        return sorted(
            self.positions.values(), key=lambda p: (str(p.get("book_id")), str(p.get("symbol")))
        )

    # --- updates -------------------------------------------------------------------------
    def apply_snapshot(self, snap: Snapshot, now_mono: float) -> None:
        self.status, self.status_mono = snap.status, now_mono
        self.config = snap.config
        self.events.clear()
        if isinstance(snap.events, Unavailable):
            self.events_unavailable = snap.events
        else:
            self.events_unavailable = None
            self.events.extend(e for e in snap.events if isinstance(e, dict))
        self.events_seq += len(self.events)
        if isinstance(snap.positions, Unavailable):
            self.positions = snap.positions
        else:
            self.positions = {}
            for p in snap.positions:
                self._put_position(p)
        if isinstance(snap.equity, Unavailable):
            self.equity = snap.equity
        else:
            self.equity = {}
            series = snap.equity.get("series") if isinstance(snap.equity, dict) else None
            for name, points in (series or {}).items():
                d: deque[tuple[str, float]] = deque(maxlen=self.max_points)
                for pt in points if isinstance(points, list) else []:
                    if isinstance(pt, dict) and isinstance(pt.get("equity"), int | float):
                        d.append((str(pt.get("ts")), float(pt["equity"])))
                self.equity[str(name)] = d

    def apply(self, batch: Batch, now_mono: float) -> frozenset[str]:
        if (st := batch.latest.get("status")) is not None:
            self.status, self.status_mono = st, now_mono
        if (ts := batch.latest.get("trading_state")) is not None and self.status is not None:
            # The guard's snapshot is a subset of the status dict: merge it so a kill shows
            # at once instead of at the next heartbeat.
            self.status = {**self.status, **ts}
        if (cfg := batch.latest.get("config")) is not None and isinstance(self.config, dict):
            self.config = {**self.config, "last_reload": cfg}
        new_events = batch.logs.get("system_event", ())
        self.events.extend(new_events)
        self.events_seq += len(new_events)
        self.decisions.extend(batch.logs.get("decision", ()))
        self.orders.extend(batch.logs.get("order", ()))
        self.arena_runs.extend(batch.logs.get("arena_run", ()))
        for p in batch.positions:
            if isinstance(self.positions, Unavailable):
                self.positions = {}  # the engine landed while we were attached
            self._put_position(p)
        for name, point in batch.equity.items():
            if isinstance(self.equity, Unavailable):
                self.equity = {}
            self.equity.setdefault(name, deque(maxlen=self.max_points)).append(point)
        self.dropped += batch.dropped_upstream
        return batch.topics

    def _put_position(self, p: Any) -> None:
        assert not isinstance(self.positions, Unavailable)
        if not isinstance(p, dict):
            return
        key = (str(p.get("book_id")), str(p.get("symbol")))
        if _is_flat(p.get("size")):
            self.positions.pop(key, None)
        else:
            self.positions[key] = p


def _is_flat(size: Any) -> bool:
    try:
        return float(size) == 0.0
    except (TypeError, ValueError):
        return False
