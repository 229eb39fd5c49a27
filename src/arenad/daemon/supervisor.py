"""Keeps every long-lived loop running.

Each loop is a named task. A crash is recorded as a system event with its traceback and the
loop restarts after a capped, jittered exponential backoff that resets once the loop has run
cleanly for a while. A loop marked ``trading`` that crashes ``crash_limit`` times within
``crash_window_s`` engages the kill switch: a trading loop that cannot stay up must not keep
half-working — except when the crash is a storage failure: the trading guard has halted
trading for that already, and its reason must stay "storage failure".

Crash reports carry a traceback only for unexpected exceptions; the project's own typed errors
(``ArenadError``) say what happened in their message. Nothing in the crash handling may end the
supervisor: a report that cannot be written is logged instead.
"""

from __future__ import annotations

import asyncio
import random
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from arenad.clock import Clock, SystemClock
from arenad.daemon.events import EventLog
from arenad.errors import ArenadError, StorageFailure
from arenad.guards.trading import TradingGuard

log = structlog.get_logger("arenad.supervisor")

LoopFn = Callable[[], Awaitable[None]]


def backoff_delays(
    base: float = 0.5, cap: float = 60.0, factor: float = 2.0, rng: random.Random | None = None
) -> Iterator[float]:
    """Jittered exponential backoff: the n-th delay is uniform in [d/2, d], d = min(cap,
    base·factor^n), so retries spread out but never come back sooner than half the step."""
    rng = rng or random.Random()
    n = 0
    while True:
        yield rng.uniform(0.5, 1.0) * min(cap, base * factor**n)
        n += 1


@dataclass
class TaskInfo:
    name: str
    fn: LoopFn
    trading: bool
    state: str = "pending"
    restarts: int = 0
    last_error: str | None = None
    crashes: deque[float] = field(default_factory=deque)

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "trading": self.trading,
        }


class Supervisor:
    def __init__(
        self,
        events: EventLog,
        guard: TradingGuard,
        *,
        clock: Clock | None = None,
        max_backoff_s: float = 60.0,
        crash_limit: int = 3,
        crash_window_s: float = 300.0,
        healthy_after_s: float = 60.0,
    ) -> None:
        self._events = events
        self._guard = guard
        self._clock = clock or SystemClock()
        self.max_backoff_s = max_backoff_s
        self.crash_limit = crash_limit
        self.crash_window_s = crash_window_s
        self.healthy_after_s = healthy_after_s
        self.tasks: dict[str, TaskInfo] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._group: asyncio.TaskGroup | None = None

    def add(self, name: str, fn: LoopFn, *, trading: bool = False) -> None:
        if name in self.tasks:
            raise ValueError(f"task {name!r} added twice")
        info = TaskInfo(name, fn, trading)
        self.tasks[name] = info
        if self._group is not None:
            self._running[name] = self._group.create_task(self._keep(info), name=name)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {n: t.snapshot() for n, t in self.tasks.items()}

    async def run(self, stop: asyncio.Event) -> None:
        """Run every task until ``stop`` is set, then cancel them all."""
        async with asyncio.TaskGroup() as tg:
            self._group = tg
            for info in self.tasks.values():
                self._running[info.name] = tg.create_task(self._keep(info), name=info.name)
            await stop.wait()
            for t in self._running.values():
                t.cancel()
        self._group = None

    async def _keep(self, info: TaskInfo) -> None:
        delays = backoff_delays(cap=self.max_backoff_s)
        while True:
            started = self._clock.monotonic()
            info.state = "running"
            try:
                await info.fn()
                info.state = "finished"
                return
            except asyncio.CancelledError:
                info.state = "cancelled"
                raise
            except Exception as e:  # the supervisor is the fan-out point that must survive
                info.state = "backoff"
                info.restarts += 1
                leaf = _leaf(e)
                info.last_error = f"{type(leaf).__name__}: {leaf}"
                now = self._clock.monotonic()
                if now - started >= self.healthy_after_s:
                    delays = backoff_delays(cap=self.max_backoff_s)
                info.crashes.append(now)
                while info.crashes and now - info.crashes[0] > self.crash_window_s:
                    info.crashes.popleft()
                delay = next(delays)
                try:
                    await self._report(info, e, delay)
                except Exception as report_error:
                    log.error(
                        "crash report failed",
                        task=info.name,
                        error=info.last_error,
                        report_error=f"{type(report_error).__name__}: {report_error}",
                    )
                await self._clock.sleep(delay)

    async def _report(self, info: TaskInfo, e: Exception, delay: float) -> None:
        details: dict[str, Any] = {
            "task": info.name,
            "error": info.last_error,
            "restarts": info.restarts,
        }
        leaves = _leaves(e)
        if not all(isinstance(x, ArenadError) for x in leaves):
            details["traceback"] = traceback.format_exc(limit=20)
        await self._events.emit(
            "error", "system", f"task {info.name} crashed; restarting in {delay:.1f}s", details
        )
        if (
            info.trading
            and len(info.crashes) >= self.crash_limit
            and not any(isinstance(x, StorageFailure) for x in leaves)
        ):
            await self._guard.engage(
                "crash_loop",
                f"trading task {info.name} crashed {len(info.crashes)} times within "
                f"{self.crash_window_s:.0f}s: {info.last_error}",
            )


def _leaves(e: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, e.g. a TaskGroup's."""
    if isinstance(e, BaseExceptionGroup):
        return [x for sub in e.exceptions for x in _leaves(sub)]
    return [e]


def _leaf(e: BaseException) -> BaseException:
    """The one exception a group of one wraps (the error to show), else ``e`` itself."""
    leaves = _leaves(e)
    return leaves[0] if len(leaves) == 1 else e
