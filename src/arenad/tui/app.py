"""The Textual app: one link worker, one state, screens that render it.

The link worker is the only reader of the control socket. It connects (retrying with capped
backoff while the daemon is away), subscribes, takes a snapshot, then moves every stream event
into the coalescing :class:`~arenad.tui.stream.StreamBuffer` and posts a
:class:`~arenad.tui.messages.StreamUpdated` only when none is pending. The app drains the
buffer at most once per frame (``FRAME_S``) and tells the visible screen which topics changed,
so the UI work per second is bounded by the frame rate, not by the event rate.

Commands (kill, resume, reload, ...) go back over the same connection from short-lived
workers, so a slow daemon never freezes the keyboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from websockets.exceptions import WebSocketException

from arenad.clock import Clock, SystemClock
from arenad.control.client import ControlError, DaemonNotRunning
from arenad.tui.client import TOPICS, Client, ClientFactory, Failed, Unavailable, ask
from arenad.tui.messages import Connected, ConnectionChanged, StreamUpdated
from arenad.tui.screens.arena import ArenaScreen
from arenad.tui.screens.base import BaseScreen
from arenad.tui.screens.config import ConfigScreen
from arenad.tui.screens.confirm import ConfirmScreen
from arenad.tui.screens.dashboard import DashboardScreen
from arenad.tui.screens.events import EventsScreen
from arenad.tui.screens.fade import FadeScreen
from arenad.tui.screens.help import HelpScreen
from arenad.tui.screens.trades import TradesScreen
from arenad.tui.state import ALL_TOPICS, Connection, Snapshot, TuiState
from arenad.tui.stream import StreamBuffer

FRAME_S = 0.05
SNAPSHOT_EVENTS = 200
KILL_REASON = "engaged by operator from the TUI"

# Errors that mean "the daemon went away"; anything else in the link is a bug and is shown.
_GONE = (DaemonNotRunning, OSError, TimeoutError, WebSocketException)


class ArenadApp(App[int]):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses live elsewhere
    TITLE = "arenad"
    MODES: ClassVar[dict[str, Any]] = {
        "dashboard": DashboardScreen,
        "fade": FadeScreen,
        "arena": ArenaScreen,
        "trades": TradesScreen,
        "events": EventsScreen,
        "config": ConfigScreen,
    }
    DEFAULT_MODE = "dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "switch_mode('dashboard')", "Dashboard"),
        Binding("f", "switch_mode('fade')", "Fade"),
        Binding("a", "switch_mode('arena')", "Arena"),
        Binding("t", "switch_mode('trades')", "Trades"),
        Binding("e", "switch_mode('events')", "Events"),
        Binding("c", "switch_mode('config')", "Config"),
        Binding("k", "kill", "Kill switch"),
        Binding("u", "release", "Release kill", show=False),
        Binding("R", "reload", "Reload config", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("w", "screenshot", "Screenshot (to the data directory)", show=False),
        Binding("q", "quit", "Quit", show=False),
    ]

    def __init__(
        self,
        client_factory: ClientFactory,
        *,
        clock: Clock | None = None,
        refresh_s: float | None = 2.0,
        reconnect_min_s: float = 0.2,
        reconnect_max_s: float = 5.0,
        max_events: int = 500,
        exit_after_s: float | None = None,
    ) -> None:
        super().__init__()
        self.client_factory = client_factory
        self.clock = clock or SystemClock()
        self.refresh_s = refresh_s
        self.exit_after_s = exit_after_s
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self.state = TuiState(max_events=max_events)
        self.buffer = StreamBuffer(max_items=max_events)
        self.client: Client | None = None
        self.frames = 0
        self._flush_pending = False
        self._last_flush = 0.0
        self._snapshot_keys: set[tuple[Any, ...]] = set()
        self.last_screenshot: Path | None = None

    # --- the link to the daemon ------------------------------------------------------------
    def on_mount(self) -> None:
        self._link()
        if self.refresh_s:
            self.set_interval(1.0, self._tick)
        if self.exit_after_s is not None:  # `arenad demo --duration S`
            self.set_timer(self.exit_after_s, self.exit)

    def _backoff(self, attempt: int) -> float:
        base = min(self.reconnect_max_s, self.reconnect_min_s * 2.0 ** max(0, attempt - 1))
        return float(base) * (0.75 + random.random() / 2)

    @work(exclusive=True, group="link", exit_on_error=False)
    async def _link(self) -> None:
        attempt = 0
        while True:
            client = self.client_factory()
            sock = str(getattr(client, "socket_path", ""))
            try:
                await client.connect()
            except _GONE as e:
                attempt += 1
                delay = self._backoff(attempt)
                self.post_message(
                    ConnectionChanged(
                        Connection(
                            "disconnected" if attempt > 1 or self.state.status else "connecting",
                            attempt,
                            str(e),
                            delay,
                            sock,
                        )
                    )
                )
                await asyncio.sleep(delay)
                continue
            error = "the daemon closed the connection"
            try:
                await client.subscribe(list(TOPICS))
                snap = await self._take_snapshot(client)
                self.client = client
                attempt = 0
                self.post_message(Connected(snap, sock))
                async for event in client.events():
                    self.buffer.put(event)
                    if not self._flush_pending:
                        self._flush_pending = True
                        self.post_message(StreamUpdated())
            except (*_GONE, ControlError) as e:
                error = str(e)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a bug here must not kill the TUI: show it and retry
                self.log.error("link failed", error=repr(e))
                error = f"{type(e).__name__}: {e}"
            finally:
                self.client = None
                with contextlib.suppress(Exception):
                    await client.close()
            attempt = 1
            self.post_message(
                ConnectionChanged(
                    Connection("disconnected", attempt, error, self.reconnect_min_s, sock)
                )
            )
            await asyncio.sleep(self.reconnect_min_s)

    async def _take_snapshot(self, client: Client) -> Snapshot:
        status = await client.request("status", timeout=10)

        async def opt(cmd: str, **args: Any) -> Any:
            try:
                return await ask(client, cmd, **args)
            except ControlError as e:
                return Unavailable(cmd, e.message)

        return Snapshot(
            status=status,
            config=await opt("config"),
            events=await opt("events", limit=SNAPSHOT_EVENTS),
            positions=await opt("positions"),
            equity=await opt("equity", series=["fade_aggregate", "bots_aggregate"]),
        )

    def on_connected(self, msg: Connected) -> None:
        # Events that arrived between subscribe and the snapshot query are in both; the
        # snapshot wins and the stream copies are skipped.
        self.buffer.drain()
        self.state.apply_snapshot(msg.snapshot, self.clock.monotonic())
        self._snapshot_keys = {_event_key(e) for e in self.state.events}
        self.state.connection = Connection("connected", 0, None, None, msg.socket)
        self.refresh_screens(ALL_TOPICS)

    def on_connection_changed(self, msg: ConnectionChanged) -> None:
        self.state.connection = msg.connection
        self.refresh_screens(frozenset({"connection"}))

    def on_stream_updated(self, _msg: StreamUpdated) -> None:
        wait = self._last_flush + FRAME_S - time.monotonic()
        if wait > 0:
            self.set_timer(wait, self._drain_stream)
        else:
            self._drain_stream()

    def _drain_stream(self) -> None:
        self._flush_pending = False
        self._last_flush = time.monotonic()
        batch = self.buffer.drain()
        if self._snapshot_keys and "system_event" in batch.logs:
            batch.logs["system_event"] = [
                e for e in batch.logs["system_event"] if _event_key(e) not in self._snapshot_keys
            ]
            self._snapshot_keys.clear()
        changed = self.state.apply(batch, self.clock.monotonic())
        if changed:
            self.frames += 1
            self.refresh_screens(changed)

    def _tick(self) -> None:
        """Once a second: staleness in the header, periodic reloads of query screens."""
        screen = self.base_screen
        if screen is not None:
            screen.refresh_view(frozenset({"connection"}))
            screen.tick(self.clock.monotonic())

    @property
    def base_screen(self) -> BaseScreen | None:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, BaseScreen):
                return screen
        return None

    def refresh_screens(self, changed: frozenset[str]) -> None:
        screen = self.base_screen
        if screen is not None and screen.is_mounted:
            screen.refresh_view(changed)

    # --- commands back to the daemon -------------------------------------------------------
    async def ask_daemon(self, cmd: str, **args: Any) -> Any:
        """A query for a panel: the result, :class:`Unavailable` or :class:`Failed`."""
        client = self.client
        if client is None:
            return Failed(cmd, "not connected to the daemon")
        try:
            return await ask(client, cmd, **args)
        except ControlError as e:
            return Failed(cmd, e.message)
        except _GONE as e:
            return Failed(cmd, str(e) or type(e).__name__)

    async def command(self, cmd: str, **args: Any) -> Any:
        """An operator action: the result, or None after telling the operator why not."""
        result = await self.ask_daemon(cmd, **args)
        if isinstance(result, Unavailable):
            self.notify(f"{cmd}: not available in this daemon yet", severity="warning")
            return None
        if isinstance(result, Failed):
            self.notify(str(result), severity="error", timeout=10)
            return None
        return result

    def _merge_status(self, guard: Any) -> None:
        if isinstance(guard, dict) and self.state.status is not None:
            self.state.status = {**self.state.status, **guard}
            self.refresh_screens(frozenset({"trading_state"}))

    def action_kill(self) -> None:
        self.run_worker(self._kill(), group="action")

    async def _kill(self) -> None:
        result = await self.command("kill", reason=KILL_REASON)
        if result is not None:
            self._merge_status(result)
            self.notify("KILL SWITCH ENGAGED: no new orders", severity="error")

    def action_release(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._release(), group="action")

        self.push_screen(
            ConfirmScreen(
                "Release the kill switch?",
                "New orders will be allowed again as soon as it is released.",
                yes_label="Release",
            ),
            answered,
        )

    async def _release(self) -> None:
        result = await self.command("resume")
        if result is not None:
            self._merge_status(result)
            self.notify("kill switch released")

    def action_reload(self) -> None:
        self.run_worker(self._reload(), group="action")

    async def _reload(self) -> None:
        r = await self.command("reload")
        if not isinstance(r, dict):
            return
        if isinstance(self.state.config, dict):
            self.state.config = {**self.state.config, "last_reload": r}
        if r.get("ok"):
            self.notify(f"config reloaded: {len(r.get('changes') or {})} key(s) changed")
            cfg = await self.ask_daemon("config")
            if isinstance(cfg, dict):
                self.state.config = cfg
        else:
            self.notify(
                "config rejected: " + "; ".join(map(str, r.get("problems") or [])),
                severity="error",
                timeout=15,
            )
        self.refresh_screens(frozenset({"config"}))

    def action_run_arena(self) -> None:
        self.run_worker(self._run_arena(), group="action")

    async def _run_arena(self) -> None:
        r = await self.command("arena.run_now")
        if isinstance(r, dict):
            self.notify(f"arena run {r.get('run_id', '?')}: {r.get('status', 'started')}")

    def action_chart_range(self) -> None:
        from arenad.tui.widgets.equity_chart import EquityChart

        for chart in self.screen.query(EquityChart):
            self.notify(f"equity chart: {chart.cycle_range()}")

    # --- screenshots -----------------------------------------------------------------------
    def data_dir(self) -> Path:
        """Where the daemon keeps its database (its status says; the paths are absolute), or
        the control socket's directory while no status is known. Never ~/Downloads, which a
        VPS does not have (Textual's default, the "Failed to save screenshot" of issue 21)."""
        st = self.state.status or {}
        db = st.get("db_path")
        if isinstance(db, str) and db and Path(db).is_absolute():
            return Path(db).parent
        sock = self.state.connection.socket
        return Path(sock).resolve().parent if sock else Path.cwd()

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        self.deliver_screenshot(filename, path)

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """Save an SVG of the screen under ``<data dir>/screenshots/`` and say where."""
        folder = Path(path) if path else self.data_dir() / "screenshots"
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        name = filename or f"arenad-{stamp}-{self.current_mode}.svg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = self.save_screenshot(name, str(folder))
        except OSError as e:
            self.notify(f"screenshot not saved: {e}", severity="error", timeout=10)
            return None
        self.last_screenshot = Path(saved)
        self.notify(f"screenshot saved: {saved}", timeout=10)
        return saved

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Engage kill switch", "Block every new order now", self.action_kill)
        yield SystemCommand(
            "Release kill switch", "Allow new orders again (asks first)", self.action_release
        )
        yield SystemCommand("Reload config", "Re-read config.toml now", self.action_reload)
        yield SystemCommand(
            "Run arena now", "Start an arena run outside the schedule", self.action_run_arena
        )
        yield SystemCommand("Help", "Key bindings", self.action_help)
        yield SystemCommand(
            "Save screenshot to the data directory",
            "An SVG of this screen under <data dir>/screenshots/ (key w)",
            self.action_screenshot,
        )
        # Every key of the screen behind the palette and of its focused table, by name.
        base = self.base_screen
        if base is not None:
            for b in base.BINDINGS:
                if isinstance(b, Binding) and b.description:
                    yield SystemCommand(
                        b.description,
                        f"{base.__class__.__name__.removesuffix('Screen')} (key {b.key})",
                        lambda a=b.action, n=base: self.call_later(n.run_action, a),
                    )
            focused = base.focused
            for b in getattr(focused, "BINDINGS", []):
                if isinstance(b, Binding) and b.description and focused is not None:
                    yield SystemCommand(
                        b.description,
                        f"the selected table (key {b.key})",
                        lambda a=b.action, w=focused: self.call_later(w.run_action, a),
                    )
        for mode in self.MODES:
            yield SystemCommand(
                f"Go to {mode.title()}",
                f"Show the {mode} screen",
                lambda m=mode: self.switch_mode(m),
            )


def _event_key(e: dict[str, Any]) -> tuple[Any, ...]:
    return (e.get("ts"), e.get("category"), e.get("message"))


def create_app(client_factory: ClientFactory, **options: Any) -> ArenadApp:
    """The TUI attached through ``client_factory`` (a fresh client per connection attempt)."""
    return ArenadApp(client_factory, **options)
