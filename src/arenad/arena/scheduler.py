"""The loop that waits for each slot and starts its run, on an injected clock.

At most once per slot is not this loop's job alone: the run claims its slot key in the store
before doing anything, so a second loop, a restart or a replayed wake-up finds it taken. This
loop only decides *when* to try: once at start for the newest missed slot (``run_once``), then
each slot as its time comes. A wake-up far later than its slot (a suspended machine) is
treated like a missed slot: run if younger than ``missed_max_age_s``, else skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from arenad.arena.schedule import Schedule, Slot
from arenad.clock import Clock

log = structlog.get_logger("arenad.arena")

RunFn = Callable[[Slot, str], Awaitable[Any]]


async def run_schedule(schedule: Schedule, clock: Clock, run: RunFn) -> None:
    """Run forever (until cancelled)."""
    now = clock.now()
    missed = schedule.missed_slot(now)
    if missed is not None:
        log.info("arena: running the missed slot once", slot=missed.key)
        await run(missed, "missed")
    cursor = now
    while True:
        nxt = schedule.next_slot(cursor)
        if nxt is None:
            log.warning("arena: no slot in the next 400 days; check [arena.schedule]")
            await clock.sleep(86_400)
            cursor = clock.now()
            continue
        while (wait := (nxt.at - clock.now()).total_seconds()) > 0:
            await clock.sleep(wait)
        late = (clock.now() - nxt.at).total_seconds()
        if late > schedule.settings.missed_max_age_s:
            log.warning("arena: woke too late for a slot; skipped", slot=nxt.key, late_s=late)
        else:
            await run(nxt, "schedule")
        cursor = nxt.at
