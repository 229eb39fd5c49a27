"""What every screen shares: the status header, the connection banner, the footer, and the
protocol by which the app tells the visible screen what changed.

Only the visible screen is refreshed (the app calls :meth:`BaseScreen.refresh_view` on it);
a screen brought back into view refreshes itself whole, so hidden screens cost nothing while
the stream runs. Screens backed by queries (fade, arena, trades, ...) reload when shown, on
reconnect, and — when a live topic they depend on changed — at the next tick, so a burst of
live events causes one query, not one per event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from arenad.tui.state import ALL_TOPICS, TuiState
from arenad.tui.widgets.connection_banner import ConnectionBanner
from arenad.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from arenad.tui.app import ArenadApp

HEADER_TOPICS = frozenset({"status", "trading_state", "connection", "snapshot", "dropped"})


def new_events(state: TuiState, seen_seq: int) -> list[dict[str, Any]]:
    """Events appended to ``state.events`` since ``seen_seq`` (bounded by what is kept)."""
    n = min(state.events_seq - seen_seq, len(state.events))
    return list(state.events)[-n:] if n > 0 else []


class BaseScreen(Screen[None]):
    RELOAD_ON: ClassVar[frozenset[str]] = frozenset()
    """Live topics after which this screen's queries are stale."""

    def __init__(self) -> None:
        super().__init__()
        self._dirty = False
        self._loaded_at: float | None = None

    @property
    def arenad(self) -> ArenadApp:
        return cast("ArenadApp", self.app)

    @property
    def state(self) -> TuiState:
        return self.arenad.state

    def compose(self) -> ComposeResult:
        with Vertical(classes="top-bar"):
            yield StatusHeader()
            yield ConnectionBanner()
        yield from self.body()
        yield Footer()

    def body(self) -> Iterable[Widget]:
        return ()

    def on_screen_resume(self) -> None:
        self.refresh_view(ALL_TOPICS)

    def refresh_view(self, changed: frozenset[str]) -> None:
        if changed & HEADER_TOPICS:
            self.query_one(StatusHeader).show(self.state, self.arenad.clock.monotonic())
            self.query_one(ConnectionBanner).show(self.state)
        self.update_body(changed)
        if "snapshot" in changed:
            self.reload()
        elif changed & self.RELOAD_ON:
            self._dirty = True

    def update_body(self, changed: frozenset[str]) -> None:
        """Render what the stream changed (override)."""

    def tick(self, now_mono: float) -> None:
        period = self.arenad.refresh_s
        due = (
            period is not None
            and self._loaded_at is not None
            and now_mono - self._loaded_at >= period
        )
        if self._dirty or due:
            self.reload()

    def reload(self) -> None:
        """Run this screen's queries again (no-op for screens fed by the stream alone)."""
        if type(self).load is BaseScreen.load:
            return
        self._dirty = False
        self._loaded_at = self.arenad.clock.monotonic()
        self.run_worker(
            self.load,  # type: ignore[arg-type]
            exclusive=True,
            group="load",
            exit_on_error=False,
        )

    async def load(self) -> None:
        """Fetch this screen's data (override)."""
