"""One system event in full: the whole message and every detail the daemon attached (a
traceback, the task that crashed, the order it was about), which a table row cuts."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from arenad.tui import format as fmt


def event_text(e: dict[str, Any]) -> Text:
    t = Text()
    t.append(f"{fmt.stamp(e.get('ts'))}  ", style="bold")
    t.append_text(fmt.level(e.get("level")))
    t.append(f"  {fmt.text(e.get('category'))}\n\n", style="bold")
    t.append(fmt.text(e.get("message")) + "\n")
    details = e.get("details")
    if isinstance(details, dict) and details:
        t.append("\ndetails\n", style="bold underline")
        for k, v in details.items():
            t.append(f"{k}: ", style="bold")
            if isinstance(v, str):
                t.append(v + ("\n" if not v.endswith("\n") else ""))
            else:
                t.append(json.dumps(v, indent=2, default=str) + "\n")
    elif details not in (None, {}, ""):
        t.append("\n" + json.dumps(details, indent=2, default=str) + "\n")
    else:
        t.append("\nno details attached", style="dim")
    return t


class EventDetailScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    EventDetailScreen { align: center middle; }
    #event-box { width: 90%; height: 80%; border: round $accent; background: $surface;
                 padding: 0 1; }
    #event-foot { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "close", "Close"),
        Binding("y", "copy", "Copy the event"),
    ]

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="event-box"):
            yield Static(event_text(self.event), id="event-text")
        yield Label("escape closes · y copies", id="event-foot")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(event_text(self.event).plain)
        self.notify("event copied to the clipboard (OSC 52)")
