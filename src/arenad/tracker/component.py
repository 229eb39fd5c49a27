"""The tracker inside ``arenad run``: the ``tracker-poll`` loop and the ``tracker.*`` commands.

The loop always exists and idles while ``[tracker] enabled`` is false, so switching the
tracker on or off in config.toml takes effect at the next reload without a restart. It is not
a trading loop: the nof1 site being down must never engage the kill switch.

Commands (docs/control-protocol.md, "Tracker"):

* ``tracker.chat {bot_id? | wallet? | model_id? | book_id?, before?: ts, symbol?}`` → the
  model's newest chat at or before ``before`` (``{ts, model, summary, text, ...}``) or null —
  what the TUI shows as a FadeDecision's ``chat``;
* ``tracker.models`` → the tracked models with their books, equity, rank and trade counts;
* ``tracker.status`` → poller health (rounds, failures in a row, retired endpoints, marker).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from arenad.config.settings import Settings
from arenad.control.protocol import InvalidArgs
from arenad.daemon.context import DaemonContext
from arenad.store.db import open_reader, utc_iso
from arenad.tracker.models import fade_bot_refs
from arenad.tracker.poller import Nof1Poller
from arenad.tracker.store import TrackerStore, latest_chat_before, list_models


def parse_ts(value: Any, name: str = "before") -> str:
    """A control-protocol time (ISO-8601, or epoch seconds/milliseconds) in the database's
    format; anything else is ``invalid_args`` naming the argument."""
    if isinstance(value, bool):
        raise InvalidArgs(f"{name}: expected an ISO-8601 time or epoch seconds, got {value!r}")
    if isinstance(value, int | float):
        x = float(value)
        return utc_iso(datetime.fromtimestamp(x / 1000 if x > 1e11 else x, tz=UTC))
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgs(f"{name}: {value!r} is not an ISO-8601 time") from None
        return utc_iso(when if when.tzinfo else when.replace(tzinfo=UTC))
    raise InvalidArgs(f"{name}: expected an ISO-8601 time or epoch seconds, got {value!r}")


class TrackerComponent:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.store = TrackerStore(
            ctx.writer, lambda: ctx.current.tracker, lambda: fade_bot_refs(ctx.current.fade)
        )
        self.poller = Nof1Poller(
            self.store,
            ctx.events.emit,
            lambda: ctx.current.tracker,
            db_path=ctx.db_path,
            clock=ctx.clock,
            on_connection=self._on_connection,
            on_dirty=lambda payload: ctx.bus.publish("metrics.dirty", payload),
        )
        self._wake = asyncio.Event()

    async def start(self) -> None:
        c = self.ctx.control
        c.register(
            "tracker.chat",
            self.cmd_chat,
            "a bot's newest nof1 chat before a time {bot_id|wallet|model_id, before?}",
        )
        c.register("tracker.models", self.cmd_models, "tracked nof1 models with their books")
        c.register("tracker.status", self.cmd_status, "nof1 poller health")
        self.ctx.settings.on_change(self._on_settings)
        self.ctx.supervisor.add("tracker-poll", self.poll_loop)

    async def _on_settings(self, old: Settings, new: Settings) -> None:
        if old.tracker != new.tracker:
            if old.tracker.base_url != new.tracker.base_url:
                self.poller.gone.clear()  # another server: ask every endpoint again
            self._wake.set()

    async def _on_connection(self, connected: bool, **detail: Any) -> None:
        await self.ctx.health.set_connection("nof1", connected, **detail)

    async def poll_loop(self) -> None:
        while True:
            if not self.ctx.current.tracker.enabled:
                self._wake.clear()
                await self._wake.wait()
                continue
            result = await self.poller.poll_once()
            self.poller.last_delay = self.poller.next_delay(result)
            self._wake.clear()
            sleeper = asyncio.ensure_future(self.ctx.clock.sleep(self.poller.last_delay))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()

    # --- commands -----------------------------------------------------------------------

    async def cmd_chat(self, args: dict[str, Any]) -> dict[str, Any] | None:
        who = next(
            (args[k] for k in ("book_id", "bot_id", "model_id", "wallet") if args.get(k)), None
        )
        if not isinstance(who, str):
            raise InvalidArgs("tracker.chat needs one of bot_id, wallet, model_id, book_id (text)")
        before = parse_ts(args["before"]) if args.get("before") is not None else None
        symbol = args.get("symbol")
        if symbol is not None and not isinstance(symbol, str):
            raise InvalidArgs(f"symbol: expected text, got {symbol!r}")
        async with open_reader(self.ctx.db_path) as conn:
            return await latest_chat_before(conn, who, before, symbol)

    async def cmd_models(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        async with open_reader(self.ctx.db_path) as conn:
            return await list_models(conn)

    async def cmd_status(self, args: dict[str, Any]) -> dict[str, Any]:
        st = self.ctx.current.tracker
        return {
            "enabled": st.enabled,
            "base_url": st.base_url,
            "rounds": self.poller.rounds,
            "failed_rounds_in_a_row": self.poller.failed_rounds,
            "gone": sorted(self.poller.gone),
            "last_hourly_marker": self.poller.marker,
            "next_delay_s": self.poller.last_delay,
        }


async def setup(ctx: DaemonContext) -> None:
    await TrackerComponent(ctx).start()
