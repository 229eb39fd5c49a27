"""Messages the link worker posts to the app (small on purpose: data lives in the state)."""

from __future__ import annotations

from textual.message import Message

from arenad.tui.state import Connection, Snapshot


class Connected(Message):
    """Attached to a daemon; the snapshot replaces whatever the TUI knew."""

    def __init__(self, snapshot: Snapshot, socket: str) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.socket = socket


class ConnectionChanged(Message):
    """Lost the daemon, or still trying to reach it."""

    def __init__(self, connection: Connection) -> None:
        super().__init__()
        self.connection = connection


class StreamUpdated(Message):
    """The stream buffer has something to drain. At most one is in the queue at a time, so a
    burst of events costs one redraw, not one per event."""
