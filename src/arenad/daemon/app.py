"""`arenad run`: assemble the daemon, serve until a signal, shut down in order.

Start-up order: migrate → writer → restore kill switch → components → control socket →
READY=1. Shutdown order (bounded by ``daemon.shutdown_timeout_s``, inside systemd's 5 s):
STOPPING=1 → stop intake (close the control socket) → cancel the loops → finish a reload in
flight → drain and close the writer (nothing acknowledged is lost) → remove the socket.

Signals: SIGTERM/SIGINT stop, SIGHUP re-reads the config. Once shutdown has begun every one of
them is ignored (logged at debug): a terminal closing on the demo sends SIGHUP while it stops,
and a reload then would write to a closed writer. The handlers are plain ``signal.signal``
ones that hand over to the loop, not ``loop.add_signal_handler``: asyncio resets those to
SIG_DFL when the loop closes, and a late SIGHUP/SIGTERM then killed the exiting process (exit
-1/-15). When ``Daemon.run`` ends it leaves the three signals ignored: the process is exiting.

Storage: before anything else the database's directory and the database itself must take a
write; a full disk, a read-only file system or an unwritable path ends start-up with one line
naming the path and the cause (exit 2: retrying will not help until someone frees space). At
run time a storage failure halts trading (see ``arenad.guards.trading``) and the daemon keeps
serving status; it exits (3, one line) only when the store writer itself has died. The
watchdog is pinged (when systemd asks for it) only while the writer is alive and not wedged
(``daemon.writer_stall_s``), and the disk's free space is checked against
``daemon.disk_free_min_mb`` every heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import shutil
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import structlog

from arenad import __version__
from arenad.books.layer import BooksLayer
from arenad.clock import Clock, SystemClock
from arenad.config import loader
from arenad.config.loader import LoadedConfig
from arenad.config.settings import Settings
from arenad.control.protocol import InvalidArgs, ProtocolError, arg_int, arg_str
from arenad.control.server import ControlServer
from arenad.daemon import systemd
from arenad.daemon.bus import Bus
from arenad.daemon.context import COMPONENTS, DaemonContext, Health
from arenad.daemon.events import EventLog
from arenad.daemon.reload import ConfigReloader, Overlay, SettingsHolder
from arenad.daemon.supervisor import Supervisor
from arenad.errors import OperationalError, StorageFailure
from arenad.guards.trading import TradingGuard
from arenad.logs import Redactor, configure_logging
from arenad.store.db import (
    open_reader,
    probe_database,
    probe_directory,
    readable_by_others,
    utc_iso,
)
from arenad.store.migrate import migrate
from arenad.store.redact import RedactingWriter
from arenad.store.writer import storage_error

log = structlog.get_logger("arenad.daemon")

ALLOW_LIVE_ENV = "ARENAD_ALLOW_LIVE"
_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
RELOAD_DRAIN_S = 1.0
"""How long shutdown waits for a SIGHUP reload already running before cancelling it."""
SHUTDOWN_HOOK_TIMEOUT_S = 1.0
"""How long one engine's shutdown hook (its final snapshot) may take."""
_LEVELS = ("debug", "info", "warning", "error")
EXIT_CANNOT_START = 2
"""Start-up refused: bad input, or storage that cannot take a write."""
EXIT_STORAGE = 3
"""The store writer died while running: nothing can be persisted any more."""


class CannotStart(Exception):
    """Start-up is refused; the message is one line for the operator."""


async def check_storage(db_path: Path) -> None:
    """Raise CannotStart unless the database's directory and the database take a write."""
    try:
        probe_directory(db_path)
        await migrate(db_path)
        await asyncio.to_thread(probe_database, db_path)
    except (sqlite3.Error, OSError) as e:
        reason = storage_error(e) or f"{type(e).__name__}: {e}"
        raise CannotStart(f"cannot write the database {db_path}: {reason}") from None


class LiveNotAllowed(Exception):
    pass


def check_live(settings: Settings, live_flag: bool) -> None:
    if settings.mode == "live" and not (live_flag or os.environ.get(ALLOW_LIVE_ENV) == "1"):
        raise LiveNotAllowed(
            'config sets mode = "live" but live trading was not confirmed: start with '
            f'`arenad run --live` or set {ALLOW_LIVE_ENV}=1 (or set mode = "simulation")'
        )


class Daemon:
    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        allow_live: bool = False,
        clock: Clock | None = None,
        redactor: Redactor | None = None,
        overlay: Overlay | None = None,
    ) -> None:
        self.loaded = loaded
        self.overlay = overlay
        self.allow_live = allow_live
        self.clock = clock or SystemClock()
        self.redactor = redactor or Redactor()
        self._stop = asyncio.Event()
        self._started_mono = time.monotonic()
        self._loop_lag_ms = 0.0
        self._disk_free_mb: float | None = None
        self._watchdog = {"enabled": False, "pings": 0, "withheld": 0}
        self._withheld_since: str | None = None
        self.exit_code = 0
        self.ctx: DaemonContext | None = None
        self._stopping = False
        self._signals_installed = False
        self._reloads: set[asyncio.Task[Any]] = set()

    def request_stop(self) -> None:
        self._stopping = True
        self._stop.set()

    async def run(self) -> int:
        s = self.loaded.settings
        db_path, sock = s.daemon.db_path, s.daemon.socket_path
        self.redactor.set_secrets(loader.secret_values(s))
        exposed = readable_by_others(db_path)  # before migrate creates a new one 0600
        await check_storage(db_path)
        writer = RedactingWriter(
            db_path,
            redactor=self.redactor,
            synchronous=s.daemon.sqlite_synchronous,
            queue_size=s.daemon.writer_queue_size,
            batch_size=s.daemon.writer_batch_size,
            max_pages=None
            if s.daemon.db_max_size_mb is None
            else int(s.daemon.db_max_size_mb * 2**20 // 4096),
        )
        await writer.start()
        control: ControlServer | None = None
        try:
            bus = Bus(s.daemon.event_queue_size)
            events = EventLog(writer, bus, self.clock, redactor=self.redactor)
            guard = TradingGuard(
                writer,
                events,
                bus=bus,
                clock=self.clock,
                day_boundary_tz=s.risk.day_boundary_tz,
                daily_loss_limit_usd=s.risk.daily_loss_limit_usd,
            )
            await guard.load(db_path)
            holder = SettingsHolder(s)
            reloader = ConfigReloader(
                self.loaded.path,
                holder,
                events,
                writer,
                bus=bus,
                clock=self.clock,
                overlay=self.overlay,
            )
            control = ControlServer(
                sock,
                bus,
                event_queue_size=s.daemon.event_queue_size,
                max_connections=s.daemon.control_max_connections,
            )
            supervisor = Supervisor(
                events,
                guard,
                clock=self.clock,
                max_backoff_s=s.daemon.task_max_backoff_s,
                crash_limit=s.daemon.trading_crash_limit,
                crash_window_s=s.daemon.trading_crash_window_s,
            )
            ctx = self.ctx = DaemonContext(
                holder,
                self.loaded.path,
                db_path,
                self.allow_live,
                self.clock,
                writer,
                bus,
                events,
                guard,
                control,
                supervisor,
                reloader,
                Health(writer, self.clock),
                BooksLayer(
                    writer,
                    bus,
                    self.clock,
                    min_interval_s=lambda: holder.current.metrics.min_snapshot_interval_s,
                ),
            )
            holder.on_change(self._apply_settings)
            self._register_commands(ctx)
            for name in COMPONENTS:
                await importlib.import_module(name).setup(ctx)
            await control.start()
            try:
                await writer.execute(
                    "UPDATE system_status SET started_at = ?, updated_at = ? WHERE id = 1",
                    (utc_iso(self.clock.now()), utc_iso(self.clock.now())),
                )
            except StorageFailure as e:
                raise CannotStart(str(e)) from None
            await reloader.snapshot("startup", {})
            supervisor.add("config-watch", reloader.watch)
            supervisor.add("heartbeat", self._heartbeat)
            supervisor.add("books-flush", ctx.books.run)
            await events.emit(
                "info",
                "system",
                f"arenad {__version__} started",
                {
                    "pid": os.getpid(),
                    "mode": s.mode,
                    "db_path": str(db_path),
                    "socket_path": str(sock),
                    "kill_switch": guard.kill_switch.engaged,
                },
                durable=True,
            )
            if exposed:
                await events.emit(
                    "warning",
                    "system",
                    "the database is readable by other users: "
                    + ", ".join(exposed)
                    + f"; it holds the trading history — run `chmod 600 {db_path}*`",
                    {"files": exposed},
                    durable=True,
                )
            self._install_signals(reloader)
            systemd.notify("READY=1", f"STATUS=serving on {sock}")
            await self._serve(supervisor)
            await self._shutdown_hooks()
            if self.exit_code == 0:
                with contextlib.suppress(OperationalError):
                    await events.emit("info", "system", "arenad stopped", {"pid": os.getpid()})
            return self.exit_code
        finally:
            self._stopping = True
            await self._finish_reloads()
            if control is not None:
                await control.close()
            await writer.close()
            if self._signals_installed:
                for sig in _SIGNALS:
                    signal.signal(sig, signal.SIG_IGN)

    async def _serve(self, supervisor: Supervisor) -> None:
        assert self.ctx is not None
        sup_stop = asyncio.Event()
        sup_task = asyncio.create_task(supervisor.run(sup_stop), name="supervisor")
        stop_wait = asyncio.create_task(self._stop.wait())
        waits: set[asyncio.Future[Any]] = {sup_task, stop_wait}
        writer_task = self.ctx.writer.task
        if writer_task is not None:
            waits.add(writer_task)
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if writer_task is not None and writer_task.done() and not self._stop.is_set():
            exc = None if writer_task.cancelled() else writer_task.exception()
            self.exit_code = EXIT_STORAGE
            print(
                f"arenad: the store writer of {self.ctx.db_path} stopped "
                f"({type(exc).__name__ if exc else 'cancelled'}: {exc}); nothing can be "
                f"persisted, exiting with {EXIT_STORAGE}",
                file=sys.stderr,
                flush=True,
            )
        self._stopping = True
        systemd.notify("STOPPING=1")
        budget = self.ctx.current.daemon.shutdown_timeout_s
        deadline = time.monotonic() + budget
        await self.ctx.control.close()  # stop intake first
        sup_stop.set()
        try:
            async with asyncio.timeout(max(0.1, deadline - time.monotonic() - 0.5)):
                await sup_task
        except TimeoutError:
            stragglers = [n for n, t in supervisor.tasks.items() if t.state == "running"]
            log.warning("tasks did not stop in time; abandoning them", tasks=stragglers)
        stop_wait.cancel()

    async def _shutdown_hooks(self) -> None:
        """Final snapshots of the engines, pending coalesced points, connections false."""
        assert self.ctx is not None
        for hook in self.ctx.shutdown_hooks:
            try:
                async with asyncio.timeout(SHUTDOWN_HOOK_TIMEOUT_S):
                    await hook()
            except Exception as exc:  # one engine's final snapshot must not stop the rest
                log.error(
                    "shutdown hook failed", hook=getattr(hook, "__qualname__", "?"), exc_info=exc
                )
        try:
            await self.ctx.books.close()
        except Exception as exc:
            log.error("books: final flush failed", exc_info=exc)
        await self.ctx.health.all_disconnected()

    def _install_signals(self, reloader: ConfigReloader) -> None:
        loop = asyncio.get_running_loop()

        def handler(signum: int, _frame: object) -> None:
            # Runs between bytecodes of the main thread: hand over to the loop, do nothing here.
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to do
                loop.call_soon_threadsafe(self._on_signal, signum, reloader)

        for sig in _SIGNALS:
            signal.signal(sig, handler)
        self._signals_installed = True

    def _on_signal(self, signum: int, reloader: ConfigReloader) -> None:
        name = signal.Signals(signum).name
        if self._stopping:
            log.debug("signal ignored during shutdown", signal=name)
            return
        if signum != signal.SIGHUP:
            log.info("stopping on signal", signal=name)
            self.request_stop()
            return
        task = asyncio.create_task(reloader.reload("sighup"), name="sighup-reload")
        self._reloads.add(task)
        task.add_done_callback(self._reload_done)

    def _reload_done(self, task: asyncio.Task[Any]) -> None:
        self._reloads.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("SIGHUP reload failed", exc_info=exc)

    async def _finish_reloads(self) -> None:
        """Let a reload in flight finish (it writes through the writer) before the writer closes."""
        if not self._reloads:
            return
        pending = set(self._reloads)
        _, late = await asyncio.wait(pending, timeout=RELOAD_DRAIN_S)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
            log.warning("a config reload did not finish before shutdown; cancelled it")

    async def _heartbeat(self) -> None:
        """Measure event-loop lag, check the disk, ping the systemd watchdog while the writer is
        healthy, publish status for the TUI."""
        assert self.ctx is not None
        watchdog = systemd.watchdog_interval()
        interval = min(1.0, watchdog or 1.0)
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(interval)
            self._loop_lag_ms = max(0.0, (time.monotonic() - t0 - interval) * 1000)
            await self._check_disk()
            if self.ctx.writer.failure is not None:
                # A write a second while failing: lands (and so clears the failure) only
                # once there is room again, even when nothing else writes.
                with contextlib.suppress(StorageFailure):
                    await self.ctx.writer.execute(
                        "UPDATE system_status SET updated_at = ? WHERE id = 1",
                        (utc_iso(self.clock.now()),),
                    )
            if watchdog is not None:
                self._ping_watchdog()
            self.ctx.bus.publish("status", await self.status())

    def _ping_watchdog(self) -> None:
        """WATCHDOG=1 while the writer is healthy; withheld (one log line when that starts)
        while it is not, so systemd restarts a wedged daemon."""
        w = self._watchdog
        w["enabled"] = True
        if self.writer_healthy():
            if self._withheld_since is not None:
                log.warning("store writer healthy again; watchdog pings resume")
                self._withheld_since = None
            systemd.notify("WATCHDOG=1")
            w["pings"] += 1
            return
        if self._withheld_since is None:
            self._withheld_since = utc_iso(self.clock.now())
            assert self.ctx is not None
            log.error(
                "store writer wedged: withholding the systemd watchdog ping",
                writer_alive=self.ctx.writer.running,
                stall_s=self.ctx.current.daemon.writer_stall_s,
            )
        w["withheld"] += 1

    def writer_healthy(self) -> bool:
        """The writer task is alive and no commit is stuck (a storage failure is not a stuck
        writer: the daemon stays up, halted, to retry the kill switch and serve status)."""
        assert self.ctx is not None
        writer = self.ctx.writer
        if not writer.running:
            return False
        return writer.failure is not None or not writer.stalled(
            self.ctx.current.daemon.writer_stall_s
        )

    def disk_low(self) -> str | None:
        """Why the disk is too full to trade, or None."""
        assert self.ctx is not None
        minimum = self.ctx.current.daemon.disk_free_min_mb
        if not minimum or self._disk_free_mb is None or self._disk_free_mb >= minimum:
            return None
        return (
            f"disk space low: {self._disk_free_mb:.1f} MiB free on "
            f"{self.ctx.db_path.parent}, below daemon.disk_free_min_mb = {minimum:g}"
        )

    async def _check_disk(self) -> None:
        assert self.ctx is not None
        try:
            usage = await asyncio.to_thread(shutil.disk_usage, self.ctx.db_path.parent)
        except OSError:
            self._disk_free_mb = None
            return
        self._disk_free_mb = usage.free / 2**20
        low = self.disk_low()
        if low is not None and not self.ctx.guard.kill_switch.engaged:
            await self.ctx.guard.engage("disk_space", low)

    async def _apply_settings(self, old: Settings, new: Settings) -> None:
        assert self.ctx is not None
        self.redactor.set_secrets(loader.secret_values(new))
        if (old.daemon.log_level, old.daemon.log_format) != (
            new.daemon.log_level,
            new.daemon.log_format,
        ):
            configure_logging(new.daemon.log_format, new.daemon.log_level, self.redactor)
        self.ctx.control.max_connections = new.daemon.control_max_connections
        self.ctx.guard.configure(
            day_boundary_tz=new.risk.day_boundary_tz,
            daily_loss_limit_usd=new.risk.daily_loss_limit_usd,
        )

    async def status(self) -> dict[str, Any]:
        ctx = self.ctx
        assert ctx is not None
        s = ctx.current
        return {
            "version": __version__,
            "pid": os.getpid(),
            "mode": s.mode,
            # Where the fade loop trades (the protocol's names; "simulator" is [sim]).
            "network": {"sim": "simulator"}.get(s.fade.network, s.fade.network)
            if s.fade.enabled and s.fade.bots
            else None,
            "config_path": str(ctx.config_path),
            "db_path": str(ctx.db_path),
            "uptime_s": round(time.monotonic() - self._started_mono, 3),
            **ctx.guard.snapshot(),
            "connections": ctx.health.connections,
            "last_event_time": ctx.health.last_event_time,
            "last_order_time": ctx.health.last_order_time,
            "loop_lag_ms": round(self._loop_lag_ms, 3),
            "writer": {
                "pending": ctx.writer.pending,
                "committed_items": ctx.writer.stats.committed_items,
                "failed_items": ctx.writer.stats.failed_items,
            },
            "storage": {
                "ok": ctx.writer.failure is None,
                "state": "ok"
                if ctx.writer.failure is None
                else f"storage failure: {ctx.writer.failure}",
                "error": ctx.writer.failure,
                "since": ctx.writer.failure_since,
                "last_failure": ctx.writer.last_failure,
                "failed_batches": ctx.writer.stats.storage_failures,
                "lost_writes": ctx.writer.stats.lost_submits,
                "writer_alive": ctx.writer.running,
                "writer_healthy": self.writer_healthy(),
                "disk_free_mb": None
                if self._disk_free_mb is None
                else round(self._disk_free_mb, 1),
                "disk_free_min_mb": s.daemon.disk_free_min_mb,
                "disk_low": self.disk_low(),
            },
            "watchdog": {**self._watchdog, "withheld_since": self._withheld_since},
            "tasks": ctx.supervisor.snapshot(),
            "last_reload": ctx.reloader.last_result,
            **{k: fn() for k, fn in ctx.status_sections.items()},
        }

    def _register_commands(self, ctx: DaemonContext) -> None:  # noqa: C901
        async def status(_args: dict[str, Any]) -> dict[str, Any]:
            return await self.status()

        async def kill(args: dict[str, Any]) -> dict[str, Any]:
            reason = arg_str(args, "reason", "engaged by operator") or "engaged by operator"
            await ctx.guard.engage("operator", reason)
            return ctx.guard.snapshot()

        async def resume(_args: dict[str, Any]) -> dict[str, Any]:
            low = self.disk_low()
            if low is not None:
                raise ProtocolError("unavailable", f"{low}; free space first")
            try:
                await ctx.guard.release("operator")
            except StorageFailure as e:
                raise ProtocolError("unavailable", str(e)) from None
            return ctx.guard.snapshot()

        async def reload(_args: dict[str, Any]) -> dict[str, Any]:
            return await ctx.reloader.reload("control")

        async def config(_args: dict[str, Any]) -> dict[str, Any]:
            return {
                "settings": ctx.current.model_dump(mode="json"),
                "path": str(ctx.config_path),
                "last_reload": ctx.reloader.last_result,
            }

        async def events(args: dict[str, Any]) -> list[dict[str, Any]]:
            level = arg_str(args, "level", "debug") or "debug"
            if level not in _LEVELS:
                raise InvalidArgs(f"`level` must be one of {', '.join(_LEVELS)}")
            since = arg_str(args, "since")
            category = arg_str(args, "category")
            search = arg_str(args, "search")
            limit = arg_int(args, "limit", 100, lo=1, hi=10_000)
            where = ["level IN ({})".format(",".join("?" * len(_LEVELS[_LEVELS.index(level) :])))]
            params: list[Any] = list(_LEVELS[_LEVELS.index(level) :])
            if since:
                where.append("ts >= ?")
                params.append(since)
            if category:
                where.append("category = ?")
                params.append(category)
            if search:
                where.append("(message LIKE ? OR details LIKE ?)")
                params += [f"%{search}%", f"%{search}%"]
            params.append(limit)
            async with open_reader(ctx.db_path) as conn:
                rows = await (
                    await conn.execute(
                        f"SELECT id, ts, level, category, message, details FROM system_events "  # noqa: S608
                        f"WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                        params,
                    )
                ).fetchall()
            import json

            return [dict(r) | {"details": json.loads(r["details"])} for r in reversed(list(rows))]

        async def close_position(args: dict[str, Any]) -> dict[str, Any]:
            # One command for the operator, whatever engine holds the book: `arena:m1`
            # routes to `arena.close_position`, `fade:gpt-5` to `fade.close_position`, ...
            book_id = arg_str(args, "book_id", required=True) or ""
            symbol = arg_str(args, "symbol", required=True)
            kind, _, ident = book_id.partition(":")
            target = ctx.control.handler(f"{kind}.close_position") if ident else None
            if target is None:
                raise ProtocolError(
                    "unavailable", f"no running engine closes positions of book {book_id!r}"
                )
            result = await target(
                {"book_id": book_id, "symbol": symbol, "model_id": ident, "bot_id": ident}
            )
            return {"status": "submitted", **result} if isinstance(result, dict) else result

        ctx.control.register("status", status, "daemon, kill switch and connection state")
        ctx.control.register(
            "position.close",
            close_position,
            "close a book's position at the market {book_id, symbol}; routed to its engine",
        )
        ctx.control.register("kill", kill, "engage the kill switch {reason}")
        ctx.control.register("resume", resume, "release the kill switch (operator)")
        ctx.control.register("reload", reload, "re-read config.toml now")
        ctx.control.register("config", config, "the settings in force and the last reload")
        ctx.control.register(
            "events", events, "system events {since, level, category, search, limit}"
        )


async def run(loaded: LoadedConfig, *, allow_live: bool, redactor: Redactor) -> int:
    daemon = Daemon(loaded, allow_live=allow_live, redactor=redactor)
    try:
        return await daemon.run()
    except CannotStart as e:
        print(f"arenad: cannot start: {e}", file=sys.stderr, flush=True)
        return EXIT_CANNOT_START
    except OperationalError as e:
        log.error(str(e))
        return 1


def run_blocking(loaded: LoadedConfig, *, allow_live: bool) -> int:
    s = loaded.settings
    redactor = configure_logging(
        s.daemon.log_format, s.daemon.log_level, Redactor(loader.secret_values(s))
    )
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(loaded, allow_live=allow_live, redactor=redactor))
    return 0


def db_path_of(settings: Settings) -> Path:
    return settings.daemon.db_path
