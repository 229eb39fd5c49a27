"""The banner shown while the daemon is unreachable (the link keeps retrying by itself)."""

from __future__ import annotations

from textual.widgets import Static

from arenad.tui.state import TuiState


class ConnectionBanner(Static):
    DEFAULT_CSS = """
    ConnectionBanner { height: auto; display: none; padding: 0 1;
                       background: $warning; color: $text; text-style: bold; }
    ConnectionBanner.-down { display: block; background: $error; }
    ConnectionBanner.-connecting { display: block; }
    """

    def show(self, state: TuiState) -> None:
        c = state.connection
        self.set_class(c.state == "disconnected", "-down")
        self.set_class(c.state == "connecting", "-connecting")
        if c.state == "connected":
            return
        where = f" at {c.socket}" if c.socket else ""
        retry = f", next try in {c.retry_in:.1f}s" if c.retry_in is not None else ""
        if c.state == "connecting":
            msg = f"Connecting to the arenad daemon{where}… (attempt {max(1, c.attempt)}{retry})"
        elif state.status is None:  # never attached: nothing "went away"
            msg = (
                f"⚠ Could not connect to the arenad daemon{where}: is `arenad run` running? "
                f"Retrying automatically (attempt {c.attempt}{retry})."
            )
        else:
            msg = (
                f"⚠ The daemon went away{where}. Reconnecting automatically "
                f"(attempt {c.attempt}{retry}). Data below is from before the loss."
            )
        if c.error:
            msg += f"\n{c.error}"
        self.update(msg)
