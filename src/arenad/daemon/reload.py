"""Hot reload of config.toml: poll for changes, validate, apply or reject.

Polling (stat + content hash every ``config_poll_interval_s``) rather than inotify: editors
save by rename, some filesystems have no inotify, and a poll is trivially testable. An invalid
edit is rejected with exactly the messages `arenad config check` prints, and the settings in
force stay. Keys that only take effect at a restart are reported and kept at their old value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from arenad.clock import Clock, SystemClock
from arenad.config import loader
from arenad.config.settings import Settings
from arenad.daemon.bus import Bus
from arenad.daemon.events import EventLog
from arenad.errors import ConfigError
from arenad.store.db import utc_iso
from arenad.store.writer import StoreWriter

SETTLE_S = 0.2

Listener = Callable[[Settings, Settings], Awaitable[None]]


class SettingsHolder:
    """The settings in force, and who to tell when they change."""

    def __init__(self, settings: Settings) -> None:
        self.current = settings
        self._listeners: list[Listener] = []

    def on_change(self, fn: Listener) -> None:
        self._listeners.append(fn)

    async def replace(self, new: Settings) -> None:
        old, self.current = self.current, new
        for fn in self._listeners:
            await fn(old, new)


def fingerprint(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class ConfigReloader:
    def __init__(
        self,
        path: Path,
        holder: SettingsHolder,
        events: EventLog,
        writer: StoreWriter,
        *,
        bus: Bus | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.path = path
        self.holder = holder
        self._events = events
        self._writer = writer
        self._bus = bus
        self._clock = clock or SystemClock()
        self._seen = fingerprint(path)
        self.last_result: dict[str, Any] | None = None

    async def snapshot(self, source: str, diff: dict[str, Any]) -> None:
        await self._writer.execute(
            "INSERT INTO settings_snapshots (ts, source, config_path, settings, diff)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                utc_iso(self._clock.now()),
                source,
                str(self.path),
                self.holder.current.model_dump_json(),
                json.dumps(diff, default=str),
            ),
        )

    async def watch(self) -> None:
        while True:
            await self._clock.sleep(self.holder.current.daemon.config_poll_interval_s)
            if not self.holder.current.daemon.watch_config:
                continue
            fp = fingerprint(self.path)
            if fp is not None and fp != self._seen:
                # An editor may be half-way through writing: wait until two reads agree, so
                # a partial file does not produce a spurious rejection.
                while True:
                    await self._clock.sleep(SETTLE_S)
                    again = fingerprint(self.path)
                    if again == fp or again is None:
                        break
                    fp = again
                await self.reload("file")

    async def reload(self, source: str) -> dict[str, Any]:
        self._seen = fingerprint(self.path)
        ts = utc_iso(self._clock.now())
        try:
            loaded = loader.load_settings(self.path)
            accident = loader.accidental_edit(self.holder.current, loaded)
            if accident:
                raise ConfigError(accident)
        except ConfigError as e:
            problems = [str(p) for p in e.problems]
            result: dict[str, Any] = {
                "ok": False,
                "ts": ts,
                "source": source,
                "problems": problems,
                "changes": {},
            }
            await self._events.emit(
                "error",
                "config",
                f"config reload rejected ({len(problems)} problem(s)); "
                "previous settings stay in force: " + "; ".join(problems),
                {"problems": problems, "source": source},
                durable=True,
            )
            return self._finish(result)
        old = self.holder.current
        changes = loader.diff(old, loaded.settings)
        restart = loader.restart_only_changes(changes)
        in_force = loader.keep_restart_only(old, loaded.settings)
        applied = {k: v for k, v in changes.items() if k not in restart}
        if applied:
            await self.holder.replace(in_force)
            await self.snapshot(source, applied)
        result = {
            "ok": True,
            "ts": ts,
            "source": source,
            "changes": applied,
            "restart_required": {k: changes[k] for k in restart},
            "problems": [],
        }
        if applied or restart:
            msg = f"config reloaded: {len(applied)} key(s) changed"
            if restart:
                msg += f"; {', '.join(restart)} take effect only after a restart"
            await self._events.emit(
                "info" if not restart else "warning",
                "config",
                msg,
                {"changes": applied, "restart_required": restart, "source": source},
                durable=True,
            )
        return self._finish(result)

    def _finish(self, result: dict[str, Any]) -> dict[str, Any]:
        self.last_result = result
        if self._bus is not None:
            self._bus.publish("config", result)
        return result
