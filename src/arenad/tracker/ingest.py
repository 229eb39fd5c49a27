"""One body of one endpoint → parsed, stored, and every skipped row reported.

The poller (HTTP) and `arenad tracker import` (files) both end here, so a recorded snapshot
and a live poll take the same path into the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from arenad.tracker.parse import ResponseError, parse
from arenad.tracker.store import IngestReport, TrackerStore

# EventLog.emit-compatible: (level, category, message, details) -> awaitable
Emit = Callable[..., Awaitable[Any]]

# Row errors reported one by one per response; more are summed up in one event, so a
# response where every row drifted does not flood the event log.
MAX_ROW_EVENTS = 20


async def ingest_body(
    store: TrackerStore, emit: Emit, endpoint: str, body: bytes | str, fetched_at: str
) -> IngestReport:
    """Parse and store; raises :class:`ResponseError` when the body is unusable as a whole."""
    parsed = parse(endpoint, body)
    for err in parsed.errors[:MAX_ROW_EVENTS]:
        await emit(
            "error",
            "tracker",
            f"nof1 row skipped: {err}",
            {
                "endpoint": err.endpoint,
                "row_id": err.row_id,
                "field": err.field,
                "reason": err.message,
            },
        )
    if len(parsed.errors) > MAX_ROW_EVENTS:
        await emit(
            "error",
            "tracker",
            f"nof1 /{endpoint}: {len(parsed.errors) - MAX_ROW_EVENTS} more rows skipped",
            {"endpoint": endpoint, "skipped": len(parsed.errors)},
        )
    report = await store.ingest(parsed, fetched_at)
    return report


__all__ = ["Emit", "IngestReport", "ResponseError", "ingest_body"]
