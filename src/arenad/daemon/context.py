"""What a component gets from the daemon, and the list of components.

A component is a module with ``async def setup(ctx: DaemonContext) -> None`` that adds its
loops to the supervisor and its commands to the control server. Listing it in ``COMPONENTS``
is all it takes to run inside ``arenad run``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arenad.clock import Clock
from arenad.config.settings import Settings
from arenad.control.server import ControlServer
from arenad.daemon.bus import Bus
from arenad.daemon.events import EventLog
from arenad.daemon.reload import ConfigReloader, SettingsHolder
from arenad.daemon.supervisor import Supervisor
from arenad.guards.trading import TradingGuard
from arenad.store.db import utc_iso
from arenad.store.writer import StoreWriter

# Modules with `async def setup(ctx)`; later issues add the fade, arena and tracker engines.
COMPONENTS: tuple[str, ...] = (
    "arenad.metrics.component",
    "arenad.strategies.component",
    "arenad.arena.component",
    "arenad.fade.component",
    "arenad.tracker.component",
)

_FLAG_COLUMNS = {"hyperliquid", "alpaca", "nof1"}


@dataclass
class Health:
    """Connection flags and last-activity times, mirrored into ``system_status``."""

    writer: StoreWriter
    clock: Clock
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_event_time: str | None = None
    last_order_time: str | None = None

    async def set_connection(self, feed: str, connected: bool, **detail: Any) -> None:
        now = utc_iso(self.clock.now())
        self.connections[feed] = {"connected": connected, "checked_at": now, **detail}
        sets = "connections = ?, updated_at = ?"
        params: list[Any] = [json.dumps(self.connections, default=str), now]
        if feed in _FLAG_COLUMNS:
            sets += f", {feed}_connected = ?, last_{feed}_check = ?"
            params += [int(connected), now]
        await self.writer.submit(f"UPDATE system_status SET {sets} WHERE id = 1", params)  # noqa: S608 - fixed column names

    async def mark_event(self) -> None:
        self.last_event_time = utc_iso(self.clock.now())
        await self.writer.submit(
            "UPDATE system_status SET last_event_time = ? WHERE id = 1", (self.last_event_time,)
        )

    async def mark_order(self) -> None:
        self.last_order_time = utc_iso(self.clock.now())
        await self.writer.submit(
            "UPDATE system_status SET last_order_time = ? WHERE id = 1", (self.last_order_time,)
        )


@dataclass
class DaemonContext:
    settings: SettingsHolder
    config_path: Path
    db_path: Path
    allow_live: bool
    clock: Clock
    writer: StoreWriter
    bus: Bus
    events: EventLog
    guard: TradingGuard
    control: ControlServer
    supervisor: Supervisor
    reloader: ConfigReloader
    health: Health
    status_sections: dict[str, Callable[[], Any]] = field(default_factory=dict)
    """Extra sections of `status`, by key, from components (e.g. the fade `account_drift`)."""

    @property
    def current(self) -> Settings:
        return self.settings.current
