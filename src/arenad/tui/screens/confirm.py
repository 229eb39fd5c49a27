"""Yes/no modal for actions that must not happen by a slipped key (release, close)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from arenad.tui import format as fmt


def close_question(book_id: str, symbol: str, position: dict[str, Any] | None) -> str:
    """ "close arena:momentum AAPL 12 @ 187.20?": the row's whole identity, so a cursor that
    moved under the operator's hand is seen before the order goes out."""
    if not position:
        return f"close {book_id} {symbol}?"
    return (
        f"close {book_id} {symbol} {fmt.size(position.get('size'))}"
        f" @ {fmt.price(position.get('entry_price'))}?"
    )


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = "confirm.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, message: str = "", *, yes_label: str = "Yes") -> None:
        super().__init__()
        self.title_text, self.message, self.yes_label = title, message, yes_label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="question")
            if self.message:
                yield Label(self.message, id="message")
            with Horizontal(id="buttons"):
                yield Button(f"{self.yes_label} (y)", variant="error", id="yes")
                yield Button("Cancel (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # the safe answer is the default

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
