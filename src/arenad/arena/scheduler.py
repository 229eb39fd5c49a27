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
ScheduleSource = Schedule | Callable[[], Schedule]

# Longest single sleep: the schedule is re-read after it, so an edited [arena.schedule]
# takes effect within this time, not at the next (old) slot.
MAX_SLEEP_S = 60.0


def _current(source: ScheduleSource) -> Schedule:
    return source if isinstance(source, Schedule) else source()


async def run_schedule(source: ScheduleSource, clock: Clock, run: RunFn) -> None:
    """Run forever (until cancelled). ``source`` is a schedule or a function returning the
    schedule in force (re-read before every wait)."""
    now = clock.now()
    missed = _current(source).missed_slot(now)
    if missed is not None:
        log.info("arena: running the missed slot once", slot=missed.key)
        await run(missed, "missed")
    cursor = now
    while True:
        schedule = _current(source)
        nxt = schedule.next_slot(cursor)
        if nxt is None:
            log.warning("arena: no slot in the next 400 days; check [arena.schedule]")
            await clock.sleep(MAX_SLEEP_S)
            continue
        wait = (nxt.at - clock.now()).total_seconds()
        if wait > 0:
            await clock.sleep(min(wait, MAX_SLEEP_S))
            continue  # re-read the schedule, then wait again or run
        late = -wait
        if late > schedule.settings.missed_max_age_s:
            log.warning("arena: woke too late for a slot; skipped", slot=nxt.key, late_s=late)
        else:
            await run(nxt, "schedule")
        cursor = nxt.at
