"""Bot positions from fills against the venue's ``clearinghouseState`` — without false alarms.

A bot's book is built from its fills, so it can only be compared with the venue once every
fill the venue already counts has reached us:
- not before the ingest's backfill since the last (re)connect has completed (``synced_at``):
  after a restart the book lacks the fills made while the daemon was down until then;
- not with a state read before that backfill, nor one older than the bot's last fill batch;
- and a difference is only reported when a second read, with no fill of that bot arriving
  in between, shows it again (a fill the venue counts may still be on its way over the
  websocket at the first read).

Pure bookkeeping (no I/O): the component reads the states and emits the events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arenad.fade.accounting import ZERO, Book


@dataclass(frozen=True, slots=True)
class Drift:
    coin: str
    ours: Decimal
    theirs: Decimal


@dataclass(slots=True)
class BotCheck:
    interval_s: float
    last_at: dict[str, float] = field(default_factory=dict)
    # bot id → (when the differing state was read, the differences seen)
    suspect: dict[str, tuple[float, tuple[Drift, ...]]] = field(default_factory=dict)
    judged: int = 0  # states compared with a book (for fade.stats)
    reported: int = 0  # differences confirmed and reported

    def due(
        self, bot_wallets: Mapping[str, str], now: float, synced_at: Mapping[str, float]
    ) -> list[str]:
        """The bots whose state should be read now: their check is due (or a difference
        waits for its second read) and their fills are backfilled since the last connect."""
        out = []
        for bot_id, wallet in bot_wallets.items():
            if wallet not in synced_at:
                continue  # backfill not done yet: checked as soon as it is
            if bot_id in self.suspect or now - self.last_at.get(bot_id, -float("inf")) >= (
                self.interval_s
            ):
                out.append(bot_id)
                self.last_at[bot_id] = now
        return out

    def judge(
        self,
        bot_id: str,
        asked: float,
        state: Mapping[str, Any],
        book: Book,
        *,
        last_fill_at: float,
        synced_at: float | None,
    ) -> list[Drift]:
        """The differences to report (confirmed by a second read), else []."""
        if synced_at is None or synced_at > asked or last_fill_at >= asked:
            self.suspect.pop(bot_id, None)  # the state may predate fills we have booked
            return []
        self.judged += 1
        venue = venue_positions(state)
        seen = tuple(
            Drift(c, book.size(c), venue.get(c, ZERO))
            for c in sorted(set(venue) | set(book.positions))
            if book.size(c) != venue.get(c, ZERO)
        )
        prior = self.suspect.pop(bot_id, None)
        if not seen:
            return []
        if prior is None or last_fill_at >= prior[0] or set(prior[1]) != set(seen):
            self.suspect[bot_id] = (asked, seen)  # read again before saying so
            return []
        self.reported += len(seen)
        return list(seen)


def venue_positions(state: Mapping[str, Any]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for ap in _list(state.get("assetPositions")):
        try:
            p = ap["position"]
            out[str(p["coin"])] = Decimal(str(p["szi"]))
        except (ArithmeticError, KeyError, TypeError, ValueError):
            continue
    return out


def _list(x: Any) -> Iterable[Any]:
    return x if isinstance(x, list) else []
