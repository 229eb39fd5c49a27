"""What is sent and when: dedupe of conditions, the per-channel rate limit, quiet hours and
crash loops (pure code; time comes in as arguments, so tests step it by hand)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta

from arenad.notify.notice import LEVELS, Level, Notice

WINDOW_S = 60.0


class Conditions:
    """Open conditions by key: a condition is sent once when it opens and once when it
    clears ("resolved"); repeats in between are counted, not sent."""

    def __init__(self) -> None:
        self.open: dict[str, Notice] = {}
        self.repeats: dict[str, int] = {}

    def admit(self, n: Notice) -> Notice | None:
        """The notice to send for ``n``, or None (a repeat, or a clearing never opened)."""
        if n.key is None:
            return None if n.resolved else n
        if n.resolved:
            was = self.open.pop(n.key, None)
            if was is None:
                return None
            repeats = self.repeats.pop(n.key, 0)
            since = f"open since {was.ts[11:16]} UTC" if was.ts else ""
            extra = ", ".join(
                x
                for x in (
                    since,
                    f"repeated {repeats} time{'s' if repeats != 1 else ''}" if repeats else "",
                )
                if x
            )
            body = n.body + (f"\n({extra})" if extra else "")
            return replace(n, category=was.category, title=f"RESOLVED: {n.title}", body=body)
        if n.key in self.open:
            self.repeats[n.key] = self.repeats.get(n.key, 0) + 1
            return None
        self.open[n.key] = n
        return n

    def keys(self) -> list[str]:
        return sorted(self.open)


def suppressed_notice(held: list[Notice], ts: str = "") -> Notice:
    """One line for the messages a rate limit held back, naming the most severe first."""
    worst = sorted(held, key=lambda n: -LEVELS.index(n.level))
    level: Level = worst[0].level
    errors = sum(1 for n in held if n.level == "error")
    names = "; ".join(dict.fromkeys(n.title for n in worst[:3]))
    more = " …" if len(held) > 3 else ""
    title = f"{len(held)} more suppressed"
    body = (
        f"{len(held)} more notifications in the last minute were suppressed (rate limit)"
        + (f", {errors} of them errors" if errors else "")
        + f": {names}{more}\nSee `arenad events` or the TUI's Events screen."
    )
    return Notice("suppressed", level, title, body, ts=ts)


@dataclass
class RateLimit:
    """At most ``per_minute`` messages in any 60 s of one channel. Beyond it messages are held;
    once a slot frees, one "K more suppressed" line goes out for all of them (and takes the
    slot), before anything newer."""

    sent: deque[float] = field(default_factory=deque)
    held: list[Notice] = field(default_factory=list)
    suppressed_total: int = 0

    def _free(self, now: float, per_minute: int) -> bool:
        while self.sent and now - self.sent[0] >= WINDOW_S:
            self.sent.popleft()
        return len(self.sent) < per_minute

    def offer(self, n: Notice, now: float, per_minute: int, ts: str = "") -> list[Notice]:
        """What to send now for ``n`` (nothing, ``n``, or the suppressed line then ``n``)."""
        out = self.flush(now, per_minute, ts)
        if not self.held and self._free(now, per_minute):
            self.sent.append(now)
            return [*out, n]
        self.held.append(n)
        self.suppressed_total += 1
        return out

    def flush(self, now: float, per_minute: int, ts: str = "") -> list[Notice]:
        """The suppressed line, once a slot is free and something was held."""
        if self.held and self._free(now, per_minute):
            self.sent.append(now)
            line = suppressed_notice(self.held, ts)
            self.held = []
            return [line]
        return []


def in_span(t: time, span: tuple[time, time] | None) -> bool:
    """Whether local time ``t`` falls in [start, end), a span that may cross midnight."""
    if span is None:
        return False
    start, end = span
    if start < end:
        return start <= t < end
    return t >= start or t < end


def digest(held: Iterable[Notice], span: str, ts: str = "") -> Notice:
    """The messages quiet hours held, as one."""
    items = list(held)
    lines = [f"{n.ts[11:16] or '--:--'} {n.title}" for n in items]
    level: Level = max((n.level for n in items), key=LEVELS.index, default="info")
    return Notice(
        "digest",
        level,
        f"{len(items)} notifications during quiet hours",
        f"held during quiet hours ({span}):\n" + "\n".join(lines),
        ts=ts,
    )


def next_at(now_local: datetime, at: time) -> datetime:
    """The first local instant at ``at`` strictly after ``now_local`` (aware)."""
    cand = now_local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if cand <= now_local:
        cand += timedelta(days=1)  # wall-clock arithmetic in the zone (DST keeps HH:MM)
    return cand


class CrashLoops:
    """Crashes per task within a window: ``limit`` of them make a crash loop; a task that
    then runs ``window_s`` without crashing has recovered."""

    def __init__(self) -> None:
        self.crashes: dict[str, deque[float]] = {}
        self.looping: set[str] = set()

    def crashed(self, task: str, now: float, limit: int, window_s: float) -> int | None:
        """Record a crash; the crash count when this one makes a new crash loop."""
        q = self.crashes.setdefault(task, deque())
        q.append(now)
        while q and now - q[0] > window_s:
            q.popleft()
        if len(q) >= limit and task not in self.looping:
            self.looping.add(task)
            return len(q)
        return None

    def recovered(self, now: float, window_s: float, running: set[str]) -> list[str]:
        """Looping tasks now running with no crash for ``window_s`` (no longer looping)."""
        out = [
            t
            for t in sorted(self.looping)
            if t in running and (not self.crashes.get(t) or now - self.crashes[t][-1] > window_s)
        ]
        for t in out:
            self.looping.discard(t)
            self.crashes.pop(t, None)
        return out
