"""Config: the settings in force (every key, flattened), the last reload and its diff, and the
notification channels (redacted: scheme and host) with the last delivery of each."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from arenad.tui import format as fmt
from arenad.tui.screens.base import BaseScreen
from arenad.tui.widgets.grid import Col, Grid, Row
from arenad.tui.widgets.notice import Notice

NARROW = 110
"""Below this many columns the last-reload panel goes under the settings, not beside them
(side by side at 80 columns left the values two characters wide)."""


def flatten(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, obj


def reload_text(r: dict[str, Any] | None) -> Text:
    if not r:
        return Text("no reload since the daemon started", style="dim")
    t = Text()
    ok = bool(r.get("ok"))
    t.append(f"{fmt.stamp(r.get('ts'))}  via {r.get('source', '?')}\n")
    t.append(
        "applied\n" if ok else "REJECTED — previous settings stay in force\n",
        style="bold green" if ok else "bold red",
    )
    for p in r.get("problems") or []:
        t.append(f"  {p}\n", style="red")
    changes = r.get("changes") or {}
    if ok:
        t.append(f"{len(changes)} key(s) changed\n" if changes else "nothing changed\n")
    for key, ch in changes.items():
        t.append(f"  {key}\n", style="bold")
        t.append(f"    - {json.dumps(ch.get('old'), default=str)}\n", style="red")
        t.append(f"    + {json.dumps(ch.get('new'), default=str)}\n", style="green")
    for key in r.get("restart_required") or {}:
        t.append(f"  {key}: takes effect after a restart\n", style="yellow")
    return t


def notify_text(st: dict[str, Any]) -> Text:
    """The ``notify.status`` answer as the panel shows it (labels only: never a URL)."""
    t = Text()
    channels = st.get("channels") or []
    if not st.get("enabled"):
        t.append(f"{st.get('reason') or 'off'}\n", style="dim")
    for lbl in st.get("invalid") or []:
        t.append(f"{lbl}  not a valid URL: skipped\n", style="red")
    for ch in channels:
        t.append(f"{ch.get('channel')}", style="bold")
        t.append(f"  {ch.get('service')}\n")
        last = ch.get("last")
        if last is None:
            t.append("  no delivery yet\n", style="dim")
        else:
            ok = bool(last.get("ok"))
            t.append(
                f"  {fmt.stamp(last.get('ts'))}  {'delivered' if ok else last.get('status')}",
                style="green" if ok else "bold red",
            )
            t.append(f"  {last.get('title')}\n")
            if not ok and last.get("detail"):
                t.append(f"    {last['detail']}\n", style="red")
        counts = f"  sent {ch.get('sent', 0)}  failed {ch.get('failed', 0)}"
        if ch.get("suppressed"):
            counts += f"  suppressed {ch['suppressed']}"
        if ch.get("dropped"):
            counts += f"  dropped {ch['dropped']}"
        if ch.get("queued"):
            counts += f"  queued {ch['queued']}"
        t.append(counts + "\n", style="dim")
    if st.get("open_conditions"):
        t.append("open: " + ", ".join(st["open_conditions"]) + "\n", style="yellow")
    if st.get("next_summary"):
        t.append(f"next summary {st['next_summary']}\n", style="dim")
    return t


class ConfigScreen(BaseScreen):
    CSS_PATH = "config.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("R", "app.reload", "Reload config"),
    ]

    def body(self) -> Iterable[Widget]:
        with Horizontal(id="config-body"):
            with Vertical(id="settings-panel", classes="panel"):
                yield Notice(id="config-note")
                yield Grid([Col("key", "key"), Col("value", "value", fill=True)], id="settings")
            with Vertical(id="side"):
                with VerticalScroll(id="reload-panel", classes="panel"):
                    yield Static(id="reload", classes="detail")
                with VerticalScroll(id="notify-panel", classes="panel"):
                    yield Notice(id="notify-note")
                    yield Static(id="notify", classes="detail")

    def on_mount(self) -> None:
        self.query_one("#settings-panel").border_title = "Settings in force"
        self.query_one("#reload-panel").border_title = "Last reload"
        self.query_one("#notify-panel").border_title = "Notifications"

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW
        self.query_one("#config-body").styles.layout = "vertical" if narrow else "horizontal"
        self.set_class(narrow, "-narrow")

    async def load(self) -> None:
        cfg = await self.arenad.ask_daemon("config")
        notify = await self.arenad.ask_daemon("notify.status")
        if isinstance(cfg, dict):
            self.state.config = cfg
        self._show_notify(notify)
        self._show(cfg)

    def _show_notify(self, st: Any) -> None:
        note = self.query_one("#notify-note", Notice)
        body = self.query_one("#notify", Static)
        if not note.about(st):
            body.update("")
            return
        body.update(notify_text(st))

    def update_body(self, changed: frozenset[str]) -> None:
        if "config" in changed and "snapshot" not in changed:
            self._show(self.state.config)

    def _show(self, cfg: Any) -> None:
        table = self.query_one("#settings", Grid)
        if not self.query_one("#config-note", Notice).about(cfg):
            table.show([])
            return
        self.query_one("#settings-panel").border_title = f"Settings in force — {cfg.get('path')}"
        table.show(
            Row(key, [key, json.dumps(value, default=str)])
            for key, value in flatten(cfg.get("settings") or {})
        )
        self.query_one("#reload", Static).update(reload_text(cfg.get("last_reload")))
