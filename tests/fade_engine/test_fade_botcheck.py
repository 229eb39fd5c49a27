"""Bot-position checks: never before the bot's fills are backfilled, never on a state older
than its last fills, and a difference only once a second read confirms it."""

from __future__ import annotations

from decimal import Decimal

from arenad.fade.accounting import Book
from arenad.fade.botcheck import BotCheck, Drift

D = Decimal
WALLETS = {"b1": "0xaa", "b2": "0xbb"}


def state(**pos: str) -> dict:  # type: ignore[type-arg]
    return {
        "assetPositions": [{"position": {"coin": c, "szi": v}} for c, v in pos.items()],
        "marginSummary": {"accountValue": "100"},
    }


def book(**pos: str) -> Book:
    b = Book("bot:b1")
    for c, v in pos.items():
        b.pos(c).size = D(v)
    return b


def test_no_check_before_the_backfill_and_none_on_a_state_read_before_it() -> None:
    c = BotCheck(60.0)
    assert c.due(WALLETS, 0.0, {}) == []  # nothing backfilled yet (a restart)
    assert c.due(WALLETS, 1.0, {"0xaa": 0.5}) == ["b1"]
    # A state read at 1.0, but the backfill finished at 2.0 (a reconnect in between): no use.
    assert c.judge("b1", 1.0, state(BTC="1"), book(), last_fill_at=-1, synced_at=2.0) == []
    assert "b1" not in c.suspect
    assert c.due(WALLETS, 2.0, {"0xaa": 0.5}) == []  # not due again before the interval


def test_a_difference_is_reported_only_when_a_second_read_shows_it() -> None:
    c = BotCheck(60.0)
    synced = {"0xaa": 0.0}
    assert c.due(WALLETS, 1.0, synced) == ["b1"]
    b = book(BTC="0.5")
    assert c.judge("b1", 1.0, state(BTC="1"), b, last_fill_at=0.5, synced_at=0.0) == []
    assert c.due(WALLETS, 3.0, synced) == ["b1"]  # read again at once, not in 60 s
    # The fill the venue counted arrived in between: the book agrees, nothing to report.
    b.pos("BTC").size = D(1)
    assert c.judge("b1", 3.0, state(BTC="1"), b, last_fill_at=2.0, synced_at=0.0) == []
    assert not c.suspect
    # A real difference: seen twice with no fill between the reads.
    b.pos("BTC").size = D("0.5")
    assert c.judge("b1", 70.0, state(BTC="1", ETH="-2"), b, last_fill_at=2.0, synced_at=0.0) == []
    got = c.judge("b1", 72.0, state(BTC="1", ETH="-2"), b, last_fill_at=2.0, synced_at=0.0)
    assert got == [Drift("BTC", D("0.5"), D(1)), Drift("ETH", D(0), D(-2))]
    # A state older than the bot's last fill batch is never judged.
    assert c.judge("b1", 80.0, state(BTC="9"), b, last_fill_at=80.0, synced_at=0.0) == []
