"""The notify component of the daemon: builds the channels from ``[notify] urls_env``, adds the
notifier's loops to the supervisor, and serves ``notify.status``.

Idle (no loop, only ``notify.status`` saying why) when ``urls_env`` is empty, the variable is
unset or empty, or none of its URLs is valid. An invalid URL is a warning event naming it by
its redacted label; the valid ones still run. The variable is read once, at start-up.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from arenad.daemon.bus import Subscription
from arenad.logs import Redactor
from arenad.notify.channel import AppriseChannel, InvalidURL
from arenad.notify.service import Notifier, Sender
from arenad.notify.settings import NotifySettings
from arenad.notify.urls import label, secrets_of, split_urls

if TYPE_CHECKING:
    from arenad.daemon.context import DaemonContext


def build_channels(
    value: str | None, timeout_s: float
) -> tuple[list[AppriseChannel], list[tuple[str, str]]]:
    """Channels for each URL of ``value``, and (label, why) for each apprise rejects."""
    ok: list[AppriseChannel] = []
    bad: list[tuple[str, str]] = []
    for url in split_urls(value):
        try:
            ok.append(AppriseChannel(url, timeout_s))
        except InvalidURL as e:
            bad.append((label(url), str(e)))
    return ok, bad


class NotifyComponent:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.notifier: Notifier | None = None
        self.reason: str | None = None
        self.invalid: list[str] = []
        self.variable = self.settings.urls_env
        self.sub: Subscription | None = None

    @property
    def settings(self) -> NotifySettings:
        return self.ctx.current.notify

    async def start(self) -> None:
        ctx = self.ctx
        ctx.control.register(
            "notify.status",
            self.cmd_status,
            "notification channels (redacted), the last delivery of each, open conditions",
        )
        st = self.settings
        if not st.urls_env:
            self.reason = "off: [notify] urls_env is not set"
            return
        value = os.environ.get(st.urls_env, "")
        if not split_urls(value):
            self.reason = f"off: ${st.urls_env} is not set or holds no URL"
            await ctx.events.emit("warning", "notify", f"notify: {self.reason}")
            return
        # apprise loads its plugins on the first URL (about half a second): not on the loop.
        channels, bad = await asyncio.to_thread(build_channels, value, st.timeout_s)
        for lbl, why in bad:
            self.invalid.append(lbl)
            await ctx.events.emit(
                "warning",
                "notify",
                f"notify: a URL in ${st.urls_env} is not valid and is skipped: {why}",
                {"channel": lbl},
            )
        if not channels:
            self.reason = f"off: no valid URL in ${st.urls_env}"
            return
        senders: list[Sender] = list(channels)
        n = self.notifier = Notifier(
            lambda: self.ctx.current.notify,
            senders,
            ctx.events,
            ctx.clock,
            ctx.db_path,
            redactor=Redactor(secrets_of(value)),
            crash_limit=lambda: (
                ctx.current.daemon.trading_crash_limit,
                ctx.current.daemon.trading_crash_window_s,
            ),
            writer_stats=lambda: (
                ctx.writer.stats.committed_items,
                ctx.writer.stats.failed_items,
                ctx.writer.running,
            ),
            task_states=lambda: {k: v["state"] for k, v in ctx.supervisor.snapshot().items()},
            guard_snapshot=ctx.guard.snapshot,
        )
        await n.prepare()
        # Subscribed now, before the daemon's "started" event, so that one is not missed.
        sub = self.sub = ctx.bus.subscribe(
            ["system_event"], maxsize=ctx.current.daemon.event_queue_size
        )
        ctx.supervisor.add("notify-events", lambda: n.run_events(sub))
        ctx.supervisor.add("notify-watch", n.run_watch)
        for ch in n.channels:
            ctx.supervisor.add(f"notify-send-{ch.index}", lambda ch=ch: n.run_channel(ch))  # type: ignore[misc]

    async def cmd_status(self, _args: dict[str, Any]) -> dict[str, Any]:
        base: dict[str, Any] = {
            "variable": self.variable or None,
            "invalid": self.invalid,
            "reason": self.reason,
        }
        if self.notifier is None:
            return base | {"enabled": False, "channels": []}
        dropped = self.sub.dropped if self.sub is not None else 0
        return base | self.notifier.snapshot() | {"events_dropped": dropped}


async def setup(ctx: DaemonContext) -> None:
    await NotifyComponent(ctx).start()
