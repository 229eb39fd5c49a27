"""The key bindings of the app and of every screen, generated from the bindings themselves so
the help can never drift from what the keys do."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from arenad.tui.widgets.grid import Grid


def _rows(bindings: list[Any]) -> list[tuple[str, str]]:
    out = []
    for b in bindings:
        if isinstance(b, Binding):
            keys = ", ".join(
                k.replace("question_mark", "?").replace("slash", "/") for k in b.key.split(",")
            )
            out.append((keys, b.description or b.action))
    return out


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close help"),
    ]

    def compose(self) -> ComposeResult:
        app = self.app
        sections: list[tuple[str, list[tuple[str, str]]]] = [
            ("Everywhere", [*_rows(list(app.BINDINGS)), ("ctrl+p", "Command palette")]),
        ]
        for name, screen in getattr(app, "MODES", {}).items():
            rows = _rows(list(getattr(screen, "BINDINGS", [])))
            if rows:
                sections.append((name.title(), rows))
        sections.append(
            (
                "Every table",
                [
                    *_rows(list(Grid.BINDINGS)),
                    ("escape", "Leave the filter box (the filter stays)"),
                    ("enter", "Open the selected event in full (event tables)"),
                    ("/", "Filter the events in place (Dashboard; Events has its search box)"),
                    ("y", "Copy the selected event (event tables)"),
                    ("F", "Follow/pause the event feed (event tables)"),
                ],
            )
        )
        with VerticalScroll(id="help-box"):
            yield Label("arenad — keys", id="help-title")
            for title, rows in sections:
                seen: set[str] = set()
                lines = []
                for key, desc in rows:
                    if key not in seen:
                        seen.add(key)
                        lines.append(f"  [b]{key:<10}[/b] {desc}")
                yield Static(f"[u]{title}[/u]\n" + "\n".join(lines), classes="help-section")
            yield Label("escape or ? closes this help", id="help-foot")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
