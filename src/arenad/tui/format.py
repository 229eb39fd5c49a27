"""Rendering of wire values for the terminal: tolerant of missing or odd values by design.

Money arrives as decimal strings (prices, sizes) or numbers (P&L, equity); a value the daemon
did not fill in is ``None``. None of these functions raise: a bad value renders as ``?`` so one
odd field cannot take a screen down.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from rich.text import Text

DASH = "–"


def num(value: Any) -> float | None:
    """A finite number, or None (NaN and infinities are not figures)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def figure(row: dict[str, Any], key: str, render: Any, figure_name: str | None = None) -> str:
    """``render(row[key])``, or "–*" when the standing names the figure as resting on too
    small a sample (``insufficient_figures``): never a number for it."""
    few = row.get("insufficient_figures")
    if isinstance(few, list) and (figure_name or key) in few:
        return DASH + "*"
    return str(render(row.get(key)))


def dec(value: Any) -> str:
    """A decimal string as sent (exact), normalised for display."""
    if value is None:
        return DASH
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return "?"
    if d == d.to_integral():
        return f"{d.quantize(Decimal(1)):,}"
    return f"{d.normalize():,f}"


def money(value: Any, *, signed: bool = False) -> str:
    v = num(value)
    if v is None:
        return DASH if value is None else "?"
    return f"{v:+,.2f}" if signed else f"{v:,.2f}"


def pnl(value: Any) -> Text:
    """Signed money, green when up, red when down."""
    v = num(value)
    text = money(value, signed=True)
    if v is None or v == 0:
        return Text(text)
    return Text(text, style="green" if v > 0 else "red")


def pct(value: Any, *, signed: bool = True) -> str:
    v = num(value)
    if v is None:
        return DASH if value is None else "?"
    return f"{v:+.2f}%" if signed else f"{v:.2f}%"


def ratio(value: Any, digits: int = 2) -> str:
    v = num(value)
    if v is None:
        return DASH if value is None else "?"
    return f"{v:.{digits}f}"


def rank_change(value: Any) -> Text:
    """▲ moved up, ▼ moved down, = unchanged, new when there is no previous rank."""
    if value is None:
        return Text("new", style="cyan")
    v = num(value)
    if v is None:
        return Text("?")
    if v > 0:
        return Text(f"▲{int(v)}", style="green")
    if v < 0:
        return Text(f"▼{int(-v)}", style="red")
    return Text("=", style="dim")


def uptime(seconds: Any) -> str:
    v = num(seconds)
    if v is None:
        return DASH
    s = int(v)
    d, s = divmod(s, 86_400)
    h, s = divmod(s, 3_600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def clock(ts: Any) -> str:
    """``HH:MM:SS`` of an ISO timestamp (UTC as sent); the date only when it is not today's
    business — the operator reads these as a feed, so brevity wins."""
    if not isinstance(ts, str) or len(ts) < 19:
        return DASH if ts is None else str(ts)
    return ts[11:19]


def stamp(ts: Any) -> str:
    if not isinstance(ts, str) or len(ts) < 19:
        return DASH if ts is None else str(ts)
    return f"{ts[:10]} {ts[11:19]}"


def level(value: Any) -> Text:
    lv = str(value)
    return Text(
        lv, style={"error": "bold red", "warning": "yellow", "info": "", "debug": "dim"}.get(lv, "")
    )


def yes_no(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else DASH
