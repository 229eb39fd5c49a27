"""The notifier: system events in, messages out, never in the way of trading.

Three kinds of loop, each a supervised task of the daemon:

- **events**: reads the daemon's live event stream (its own bounded bus subscription, so a
  slow notifier loses the oldest events, counted, and never slows a publisher), maps each
  event to notifications (``arenad.notify.mapping``), drops what the settings switch off,
  dedupes conditions (sent once until they clear, then "resolved"), holds non-errors during
  quiet hours, and offers the rest to every channel's rate limit and queue. Pure bookkeeping:
  it never waits on the network.
- **watch** (every ``check_interval_s``): conditions without an event of their own (the store
  writer refusing writes, fade and arena orders the venue rejected, crash loops that ended),
  the daily summary, the quiet-hours digest and the "K more suppressed" lines.
- **one sender per channel**: takes its queue (bounded, oldest dropped and counted) and
  delivers through apprise in the channel's own worker thread, with retries and jittered
  backoff. apprise blocks; the event loop only awaits the thread's future, so a channel that
  answers 500 or hangs costs the loop nothing, delays no other channel, and ends as a warning
  event (category ``notify``, which is never itself notified).

Shutdown: the events loop, when cancelled, sends "arenad stopping" to every channel, bounded
by :data:`FAREWELL_S` (inside the daemon's shutdown budget); what is still queued is counted
in that message, not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import structlog

from arenad.clock import Clock
from arenad.daemon.bus import Subscription
from arenad.daemon.events import EventLog
from arenad.daemon.supervisor import backoff_delays
from arenad.logs import Redactor
from arenad.notify.channel import Delivery
from arenad.notify.mapping import KILL_BY_CATEGORY, classify, crashed_task
from arenad.notify.notice import Notice, level_at_least
from arenad.notify.policy import (
    Conditions,
    CrashLoops,
    RateLimit,
    digest,
    in_span,
    next_at,
)
from arenad.notify.settings import NotifySettings, parse_hhmm, parse_quiet_hours
from arenad.notify.summary import day_figures, summary_notice
from arenad.store.db import open_reader, utc_iso

log = structlog.get_logger("arenad.notify")

FAREWELL_S = 2.0
"""Longest the "stopping" message may hold up shutdown."""
TITLE_PREFIX = "arenad"


class Sender(Protocol):
    label: str
    service: str

    def send(self, title: str, body: str, notice: Notice | None = None) -> Delivery: ...


@dataclass
class Channel:
    index: int
    sender: Sender
    queue_size: int
    queue: deque[Notice] = field(default_factory=deque)
    limit: RateLimit = field(default_factory=RateLimit)
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    last: dict[str, Any] | None = None
    last_ok: str | None = None
    busy: bool = False
    inflight: int = 0
    """Sends submitted to the worker thread and not yet returned (a hung one stays here)."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    pool: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix=f"arenad-notify-{self.index}")

    def put(self, n: Notice) -> None:
        if len(self.queue) >= self.queue_size:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append(n)
        self.wake.set()

    @property
    def idle(self) -> bool:
        return not self.queue and not self.busy

    def snapshot(self) -> dict[str, Any]:
        return {
            "channel": self.sender.label,
            "service": self.sender.service,
            "queued": len(self.queue),
            "sent": self.sent,
            "failed": self.failed,
            "dropped": self.dropped,
            "suppressed": self.limit.suppressed_total,
            "held": len(self.limit.held),
            "last": self.last,
            "last_ok": self.last_ok,
        }


def local_time(when: datetime, zone_name: str) -> datetime:
    """``when`` in the configured zone, or in the machine's local time (its offset at that
    instant, so a daylight-saving change is followed)."""
    return when.astimezone(ZoneInfo(zone_name)) if zone_name else when.astimezone()


class Notifier:
    def __init__(
        self,
        settings: Callable[[], NotifySettings],
        senders: list[Sender],
        events: EventLog,
        clock: Clock,
        db_path: Path,
        *,
        redactor: Redactor | None = None,
        crash_limit: Callable[[], tuple[int, float]] = lambda: (3, 300.0),
        writer_stats: Callable[[], tuple[int, int, bool]] | None = None,
        task_states: Callable[[], dict[str, str]] | None = None,
        guard_snapshot: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.settings = settings
        qsize = settings().queue_size
        self.channels = [Channel(i, s, qsize) for i, s in enumerate(senders)]
        self.events = events
        self.clock = clock
        self.db_path = db_path
        self.redactor = redactor or Redactor()
        self.crash_limit = crash_limit
        self.writer_stats = writer_stats
        self.task_states = task_states
        self.guard_snapshot = guard_snapshot
        self.conditions = Conditions()
        self.crashes = CrashLoops()
        self.quiet_held: deque[Notice] = deque()
        self.quiet_dropped = 0
        self.unclean: str | None = None
        self._storage: tuple[int, int] | None = None
        self._rejected: dict[str, str] = {}
        self._summary_next: datetime | None = None
        self._summary_at: str | None = None
        self.summaries_sent = 0
        self.handled = 0

    # --- start-up -------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Read what the database says about the previous run (before this run's events),
        and take the conditions restored from it as open — a kill switch engaged before the
        restart gets its "resolved" when the operator releases it."""
        guard = self.guard_snapshot() if self.guard_snapshot is not None else {}
        kill = guard.get("kill_switch") or {}
        if kill.get("engaged"):
            by = str(kill.get("by"))
            cat = KILL_BY_CATEGORY.get(by, "kill_switch")
            ts = str(kill.get("activated_at") or "")
            self.conditions.open["kill_switch"] = Notice(cat, "error", "", key="kill_switch", ts=ts)
        elif guard.get("trading_state") == "REDUCING":
            self.conditions.open["trading_state"] = Notice("trading_state", "warning", "")
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT max(CASE WHEN message LIKE 'arenad % started' THEN id END),"
                " max(CASE WHEN message = 'arenad stopped' THEN id END), max(ts)"
                " FROM system_events WHERE category = 'system'"
            )
            started, stopped, last_ts = await cur.fetchone()  # type: ignore[misc]
            if started is not None and (stopped is None or stopped < started):
                last = await (await conn.execute("SELECT max(ts) FROM system_events")).fetchone()
                self.unclean = (last[0] if last else None) or last_ts
            for table in ("fade_orders", "arena_orders"):
                row = await (
                    await conn.execute(
                        f"SELECT max(updated_at) FROM {table} WHERE status = 'rejected'"  # noqa: S608 - fixed names
                    )
                ).fetchone()
                self._rejected[table] = (row[0] if row else None) or ""

    # --- the pipeline ---------------------------------------------------------------------

    def _allowed(self, n: Notice) -> bool:
        st = self.settings()
        cats = st.categories
        on = getattr(cats, n.category, True)
        return bool(on) and level_at_least(n.level, st.min_level)

    def handle(self, ev: dict[str, Any]) -> list[Notice]:
        """Process one system event; the notices it let through (to every channel)."""
        self.handled += 1
        if ev.get("category") == "notify":
            return []  # our own delivery failures: never notified (a loop)
        notices = classify(ev)
        task = crashed_task(ev)
        if task is not None:
            limit, window = self.crash_limit()
            count = self.crashes.crashed(task, self.clock.monotonic(), limit, window)
            if count is not None:
                err = (ev.get("details") or {}).get("error")
                notices.append(
                    Notice(
                        "crash_loop",
                        "error",
                        f"CRASH LOOP: task {task}",
                        f"task {task} crashed {count} times within {window:.0f} s; the "
                        f"supervisor keeps restarting it\nlast error: {err}",
                        key=f"task:{task}",
                        ts=str(ev.get("ts", "")),
                    )
                )
        out = []
        for n in notices:
            if n.category == "daemon" and n.title == "arenad started" and self.unclean:
                n = Notice(
                    n.category,
                    "warning",
                    "arenad started after an UNCLEAN stop",
                    n.body
                    + f"\nthe previous run ended without stopping (last event {self.unclean}):"
                    " killed, crashed or power lost",
                    ts=n.ts,
                )
            sent = self.offer(n)
            if sent is not None:
                out.append(sent)
        return out

    def offer(self, n: Notice) -> Notice | None:
        """Filter and dedupe ``n``, then hand it to every channel (or to quiet hours)."""
        if not n.resolved and not self._allowed(n):
            return None
        admitted = self.conditions.admit(n)
        if admitted is None:
            return None
        self.dispatch(admitted)
        return admitted

    def _local_now(self) -> datetime:
        return local_time(self.clock.now(), self.settings().timezone)

    def quiet(self) -> bool:
        span = parse_quiet_hours(self.settings().quiet_hours)
        return in_span(self._local_now().time(), span)

    def dispatch(self, n: Notice) -> None:
        if n.level != "error" and n.category != "daily_summary" and self.quiet():
            if len(self.quiet_held) >= self.settings().queue_size:
                self.quiet_held.popleft()
                self.quiet_dropped += 1
            self.quiet_held.append(n)
            return
        now, per_minute = self.clock.monotonic(), self.settings().max_per_minute
        ts = utc_iso(self.clock.now())
        for ch in self.channels:
            for m in ch.limit.offer(n, now, per_minute, ts):
                ch.put(m)

    # --- the watch ------------------------------------------------------------------------

    async def tick(self) -> None:
        """One pass of the watch (the loop calls it every ``check_interval_s``)."""
        self._watch_storage()
        self._watch_tasks()
        await self._watch_rejected()
        await self._watch_summary()
        if self.quiet_held and not self.quiet():
            held = list(self.quiet_held)
            self.quiet_held.clear()
            self.dispatch(digest(held, self.settings().quiet_hours, utc_iso(self.clock.now())))
        now, per_minute = self.clock.monotonic(), self.settings().max_per_minute
        ts = utc_iso(self.clock.now())
        for ch in self.channels:
            for m in ch.limit.flush(now, per_minute, ts):
                ch.put(m)

    def _watch_storage(self) -> None:
        if self.writer_stats is None:
            return
        committed, failed, running = self.writer_stats()
        prev, self._storage = self._storage, (committed, failed)
        if prev is None:
            return
        ts = utc_iso(self.clock.now())
        if not running or failed > prev[1]:
            why = (
                "the store writer has stopped: nothing more is saved"
                if not running
                else f"the database refused {failed - prev[1]} write(s) since the last check"
                " (the log has each: 'store write failed')"
            )
            self.offer(Notice("storage", "error", "STORAGE FAILURE", why, key="storage", ts=ts))
        elif committed > prev[0]:
            self.offer(
                Notice("storage", "info", "storage", "writes commit again", "storage", True, ts)
            )

    def _watch_tasks(self) -> None:
        if self.task_states is None or not self.crashes.looping:
            return
        running = {n for n, s in self.task_states().items() if s == "running"}
        _, window = self.crash_limit()
        ts = utc_iso(self.clock.now())
        for task in self.crashes.recovered(self.clock.monotonic(), window, running):
            body = f"task {task} has run {window:.0f} s without crashing"
            self.offer(Notice("crash_loop", "info", f"task {task}", body, f"task:{task}", True, ts))

    async def _watch_rejected(self) -> None:
        queries = {
            "fade_orders": (
                "SELECT cloid AS id, bot_id AS who, coin AS symbol, side, size, network AS venue,"
                " error, updated_at FROM fade_orders WHERE status = 'rejected'"
                " AND network != 'paper' AND updated_at > ? ORDER BY updated_at LIMIT 20"
            ),
            "arena_orders": (
                "SELECT client_order_id AS id, model_id AS who, symbol, side, qty AS size,"
                " 'alpaca' AS venue, error, updated_at FROM arena_orders"
                " WHERE status = 'rejected' AND updated_at > ? ORDER BY updated_at LIMIT 20"
            ),
        }
        if not self._rejected:
            return
        async with open_reader(self.db_path) as conn:
            for table, sql in queries.items():
                if table not in self._rejected:
                    continue
                rows = await (await conn.execute(sql, (self._rejected[table],))).fetchall()
                for r in rows:
                    self._rejected[table] = r["updated_at"]
                    engine = "fade" if table == "fade_orders" else "arena"
                    self.offer(
                        Notice(
                            "orders",
                            "warning",
                            f"ORDER REJECTED: {engine} {r['side']} {r['size']} {r['symbol']}",
                            f"{engine} {r['who'] or ''} on {r['venue']}: "
                            f"{r['error'] or 'no reason given'}\norder {r['id']}",
                            ts=r["updated_at"],
                        )
                    )

    async def _watch_summary(self) -> None:
        st = self.settings()
        if not st.daily_summary_at or not st.categories.daily_summary:
            self._summary_next = None
            return
        now_local = self._local_now()
        if self._summary_next is None or self._summary_at != st.daily_summary_at + st.timezone:
            self._summary_at = st.daily_summary_at + st.timezone
            self._summary_next = next_at(now_local, parse_hhmm(st.daily_summary_at))
            return
        if now_local < self._summary_next:
            return
        self._summary_next = next_at(now_local, parse_hhmm(st.daily_summary_at))
        await self.send_summary()

    async def send_summary(self) -> Notice | None:
        end = self.clock.now()
        figures = await day_figures(self.db_path, end - timedelta(hours=24), end)
        local = local_time(end, self.settings().timezone)
        when = f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
        n = summary_notice(figures, when, self.guard_snapshot() if self.guard_snapshot else None)
        self.summaries_sent += 1
        return self.offer(n)

    # --- delivery -------------------------------------------------------------------------

    async def _send(self, ch: Channel, n: Notice, timeout: float) -> Delivery:
        title = f"{TITLE_PREFIX}: {n.title}"
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(ch.pool, ch.sender.send, title, n.text(), n)
        ch.inflight += 1

        def returned(_f: asyncio.Future[Delivery]) -> None:
            ch.inflight -= 1

        fut.add_done_callback(returned)
        try:
            # apprise bounds the call itself; this bounds a plugin that ignores it.
            async with asyncio.timeout(timeout):
                return await asyncio.shield(fut)
        except TimeoutError:
            return Delivery(False, "TIMEOUT", f"no answer within {timeout:.1f} s", timeout)

    async def deliver(self, ch: Channel, n: Notice) -> Delivery:
        st = self.settings()
        delays = backoff_delays(base=st.retry_backoff_s, cap=60.0)
        attempts = 0
        while True:
            attempts += 1
            d = await self._send(ch, n, st.timeout_s * 2 + 1)
            if d.ok or attempts > st.retries:
                break
            await self.clock.sleep(next(delays))
        detail = self.redactor.redact_text(d.detail)
        ts = utc_iso(self.clock.now())
        ch.last = {
            "ts": ts,
            "ok": d.ok,
            "status": d.status,
            "title": n.title,
            "detail": detail,
            "attempts": attempts,
            "elapsed_s": round(d.elapsed_s, 3),
        }
        if d.ok:
            ch.sent += 1
            ch.last_ok = ts
        else:
            ch.failed += 1
            await self.events.emit(
                "warning",
                "notify",
                f"notify: {ch.sender.label} ({ch.sender.service}) did not take "
                f"{n.title!r} after {attempts} attempt(s): {d.status}"
                + (f" ({detail})" if detail else ""),
                {"channel": ch.sender.label, "status": d.status, "attempts": attempts},
            )
        return d

    async def run_channel(self, ch: Channel) -> None:
        while True:
            while not ch.queue:
                ch.wake.clear()
                await ch.wake.wait()
            n = ch.queue.popleft()
            ch.busy = True
            try:
                await self.deliver(ch, n)
            finally:
                ch.busy = False

    async def run_events(self, sub: Subscription) -> None:
        try:
            while True:
                msg = await sub.get()
                if msg.topic != "system_event":
                    continue
                try:
                    self.handle(msg.data)
                except Exception:  # one odd event must not stop every notification after it
                    log.exception(
                        "notify: an event could not be mapped", message=msg.data.get("message")
                    )
        except asyncio.CancelledError:
            await self.farewell()
            raise

    async def run_watch(self) -> None:
        while True:
            await self.tick()
            await self.clock.sleep(self.settings().check_interval_s)

    async def farewell(self) -> None:
        """Tell every channel the daemon is stopping (bounded; the daemon is shutting down),
        then drop what is still queued for the worker threads: the process exit waits only
        for a delivery already in flight (at most ``timeout_s`` and a little)."""
        try:
            ts = utc_iso(self.clock.now())
            n = Notice("daemon", "info", "arenad stopping", f"pid {os.getpid()}", ts=ts)
            # A channel whose thread is still in a delivery (a hang) is skipped: the message
            # would only queue behind it.
            free = [ch for ch in self.channels if ch.inflight == 0]
            if not self._allowed(n) or not free:
                return
            queued = sum(len(ch.queue) for ch in self.channels)
            if queued:
                n = Notice(n.category, n.level, n.title, n.body + f"; {queued} not sent", ts=ts)
            sends = [asyncio.ensure_future(self._send(ch, n, FAREWELL_S)) for ch in free]
            with contextlib.suppress(Exception):
                await asyncio.wait(sends, timeout=FAREWELL_S)
        finally:
            self.close()

    def close(self) -> None:
        for ch in self.channels:
            ch.pool.shutdown(wait=False, cancel_futures=True)

    def snapshot(self) -> dict[str, Any]:
        st = self.settings()
        return {
            "enabled": bool(self.channels),
            "channels": [ch.snapshot() for ch in self.channels],
            "open_conditions": self.conditions.keys(),
            "min_level": st.min_level,
            "quiet_now": self.quiet(),
            "held_for_quiet_hours": len(self.quiet_held),
            "dropped_in_quiet_hours": self.quiet_dropped,
            "next_summary": self._summary_next.isoformat() if self._summary_next else None,
            "unclean_previous_stop": self.unclean,
        }
