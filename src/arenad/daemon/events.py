"""System events: one call records an event in the log, the database and the live stream."""

from __future__ import annotations

import json
from typing import Any, Literal

import structlog

from arenad.clock import Clock, SystemClock
from arenad.daemon.bus import Bus
from arenad.errors import StorageFailure
from arenad.logs import Redactor
from arenad.store.db import utc_iso
from arenad.store.writer import StoreWriter

Level = Literal["debug", "info", "warning", "error"]

INSERT_EVENT = (
    "INSERT INTO system_events (ts, level, category, message, details) VALUES (?, ?, ?, ?, ?)"
)

log = structlog.get_logger("arenad.events")


class EventLog:
    def __init__(
        self,
        writer: StoreWriter,
        bus: Bus | None = None,
        clock: Clock | None = None,
        *,
        redactor: Redactor | None = None,
    ) -> None:
        self._writer = writer
        self._bus = bus
        self._clock = clock or SystemClock()
        self._redactor = redactor

    async def emit(
        self,
        level: Level,
        category: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        durable: bool = False,
    ) -> dict[str, Any]:
        """Record an event. ``durable=True`` returns only once it is committed (and raises
        StorageFailure, after logging and streaming the event, when it cannot be)."""
        details = details or {}
        if self._redactor is not None:
            # Before the log, the database and the live stream alike (details may carry an
            # error body or a header a venue echoed).
            message = self._redactor.redact_text(message)
            details = self._redactor.redact(details)
        ts = utc_iso(self._clock.now())
        getattr(log, "warning" if level == "warning" else level)(
            message, category=category, **{k: v for k, v in details.items() if k != "event"}
        )
        params = (ts, level, category, message, json.dumps(details, default=str, sort_keys=True))
        failed: StorageFailure | None = None
        if durable:
            try:
                await self._writer.execute(INSERT_EVENT, params)
            except StorageFailure as e:  # still streamed below; the caller decides
                failed = e
        else:
            await self._writer.submit(INSERT_EVENT, params)
        event = {
            "ts": ts,
            "level": level,
            "category": category,
            "message": message,
            "details": details,
        }
        if self._bus is not None:
            self._bus.publish("system_event", event)
        if failed is not None:
            raise failed
        return event
