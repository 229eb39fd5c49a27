"""One notification, as the operator reads it on a phone: a short title, a few plain lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["info", "warning", "error"]
LEVELS: tuple[Level, ...] = ("info", "warning", "error")


_RANK: dict[str, int] = {"debug": -1, "info": 0, "warning": 1, "error": 2}


def level_at_least(level: str, floor: str) -> bool:
    return _RANK.get(level, 0) >= _RANK.get(floor, 0)


@dataclass(frozen=True, slots=True)
class Notice:
    category: str
    """A switch of ``[notify.categories]`` (``kill_switch``, ``drift``, ...)."""
    level: Level
    title: str
    body: str = ""
    key: str | None = None
    """The condition this is about (``kill_switch``, ``drift:BTC``): sent once while it is
    open, and once more as "resolved" when it clears. None: every occurrence is sent."""
    resolved: bool = False
    ts: str = ""
    """When it happened (ISO UTC), shown on the last line."""

    def text(self) -> str:
        """The body as sent: the lines, then the time (HH:MM UTC, the date when given)."""
        when = ""
        if self.ts:
            when = f"{self.ts[:10]} {self.ts[11:16]} UTC"
        return "\n".join(x for x in (self.body.strip(), when) if x)
