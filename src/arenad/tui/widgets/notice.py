"""A one-line note inside a panel: "not available yet", a failed query, or "nothing yet"."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from arenad.tui.client import Failed, Unavailable


class Notice(Static):
    DEFAULT_CSS = """
    Notice { height: auto; color: $text-muted; padding: 0 1; display: none; }
    Notice.-shown { display: block; }
    Notice.-error { color: $error; }
    """

    def say(self, message: str | None, *, error: bool = False) -> None:
        self.set_class(bool(message), "-shown")
        self.set_class(error, "-error")
        self.update(Text(message or ""))  # plain: "[metrics]" in a message is not markup

    def about(self, result: Any, *, empty: str = "nothing yet") -> bool:
        """Show what is wrong with ``result``; True when it is usable data."""
        if isinstance(result, Unavailable):
            self.say(
                f"{result.cmd}: not available yet"
                + (f" ({result.message})" if result.message else "")
            )
            return False
        if isinstance(result, Failed):
            self.say(str(result), error=True)
            return False
        if result is None:
            self.say("loading…")
            return False
        self.say(empty if not result else None)
        return True
