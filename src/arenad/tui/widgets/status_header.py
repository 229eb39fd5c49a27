"""The header every screen shows: mode, network, trading state, kill switch, link health.

An engaged kill switch turns the whole header red and adds a second line naming who engaged
it, when and why — it must be impossible to miss from any screen.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from arenad.tui import format as fmt
from arenad.tui.state import TuiState

_STATE_STYLE = {"ACTIVE": "bold green", "REDUCING": "bold yellow", "HALTED": "bold red"}


class StatusHeader(Static):
    DEFAULT_CSS = """
    StatusHeader { height: 1; background: $panel; color: $foreground; }
    StatusHeader.-killed { height: 2; background: $error; color: $text; text-style: bold; }
    """

    def show(self, state: TuiState, now_mono: float) -> None:
        st = state.status or {}
        killed = state.kill_engaged
        wide = (self.size.width or 80) >= 100
        self.set_class(killed, "-killed")
        sep = Text(" │ ", style="dim" if not killed else "")
        parts: list[Text] = []
        mode = str(st.get("mode") or fmt.DASH).upper()
        shown_mode = mode if wide or mode == "LIVE" else {"SIMULATION": "SIM"}.get(mode, mode)
        parts.append(Text(shown_mode, style="bold reverse red" if mode == "LIVE" else "bold"))
        net = st.get("network") or fmt.DASH
        parts.append(Text(f"net {net}" if wide else str(net)))
        # Without a live link nothing is known about the state now: a dead daemon's last
        # "ACTIVE" / "kill switch off" would be a lie (issue 21 item 10).
        live = state.connection.state == "connected" and state.status is not None
        trading = str(st.get("trading_state") or fmt.DASH)
        if not live:
            parts.append(Text("state unknown" if wide else "state ?", style="bold yellow"))
            parts.append(
                Text(
                    ("kill switch unknown" if wide else "kill ?") + (" (was ON)" if killed else ""),
                    style="bold",
                )
            )
        elif killed:
            parts.append(Text(trading))
            parts.append(Text("KILL SWITCH ON", style="bold"))
        else:
            parts.append(Text(trading, style=_STATE_STYLE.get(trading, "")))
            parts.append(Text("kill switch off" if wide else "kill off", style="dim"))
        parts.append(self._health(state, now_mono, wide))
        parts.append(Text(f"up {fmt.uptime(st.get('uptime_s'))}"))
        day = st.get("daily_pnl")
        if day is not None:  # a key figure: kept at 80 columns, the labels shrink instead
            parts.append(
                Text("day ") + (Text(fmt.money(day, signed=True)) if killed else fmt.pnl(day))
            )
        line = Text(" ") + sep.join(parts)
        if killed:
            line.append("\n")
            line.append_text(self._kill_line(st.get("kill_switch") or {}))
        self.update(line)

    @staticmethod
    def _health(state: TuiState, now_mono: float, wide: bool = True) -> Text:
        c = state.connection
        if c.state == "connected":
            if state.stale(now_mono) and state.status_mono is not None:
                return Text(f"● stale {now_mono - state.status_mono:.0f}s", style="bold yellow")
            dropped = f" ({state.dropped} dropped)" if state.dropped else ""
            return Text(("● connected" if wide else "● ok") + dropped, style="green")
        if c.state == "connecting":
            return Text("○ connecting", style="yellow")
        return Text("○ DISCONNECTED", style="bold red")

    @staticmethod
    def _kill_line(k: dict[str, Any]) -> Text:
        """The second line says who, when and why — not "KILL SWITCH" a second time."""
        by = k.get("by") or "?"
        hint = "" if by == "operator" else "  — the events screen (e) has the details"
        return Text(
            f" ■ engaged by {by} at {fmt.stamp(k.get('activated_at'))}:"
            f" {k.get('reason') or 'no reason given'}{hint}  — u releases"
        )
