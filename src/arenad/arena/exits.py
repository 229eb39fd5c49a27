"""When a position must close without waiting for the next model call: stop loss, take profit,
or its timeframe's time limit (``day`` positions close before the session ends).

Pure: a position, the last price and the time go in; an :class:`ExitSignal` (or None) comes
out. The exits loop feeds it every trade/quote of the market-data stream, so a stop fires on
the tick that crosses it, not an hour later at the next scheduled run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from arenad.arena.calendar import MarketCalendar, ny_date, sessions_from, trading_days_after
from arenad.arena.ledger import Position
from arenad.arena.rails import client_order_id
from arenad.arena.settings import ExitSettings

ExitReason = Literal["stop_loss", "take_profit", "time_limit", "manual"]


@dataclass(frozen=True, slots=True)
class ExitSignal:
    symbol: str
    reason: ExitReason
    side: Literal["buy", "sell"]
    """The closing order's side (sell a long, buy back a short)."""
    qty: Decimal
    price: Decimal
    """The price that triggered it (the expected exit price at the market)."""
    detail: str


def _session_day(calendar: MarketCalendar, when: datetime) -> date | None:
    """The session a position opened at ``when`` belongs to: that day's, or the next one if
    it opened after the close or on a closed day."""
    day = ny_date(when)
    for s in sessions_from(calendar, day, limit_days=30):
        if when < s.close:
            return s.day
    return None


def deadline(pos: Position, exits: ExitSettings, calendar: MarketCalendar) -> datetime | None:
    """When the time limit of this position's timeframe forces it closed (None: never)."""
    first = _session_day(calendar, pos.opened_at)
    if first is None:
        return None
    before = timedelta(minutes=exits.day_close_before_min)
    if pos.timeframe == "day":
        last_day = first
    else:
        n = exits.limit_days(pos.timeframe)
        if n <= 0:
            return None
        last_day = trading_days_after(calendar, first, n)
    s = calendar.session(last_day)
    return None if s is None else s.close - before


def check_exit(
    pos: Position,
    price: Decimal,
    now: datetime,
    exits: ExitSettings,
    calendar: MarketCalendar,
) -> ExitSignal | None:
    if pos.qty == 0 or price <= 0:
        return None
    long = pos.qty > 0
    side: Literal["buy", "sell"] = "sell" if long else "buy"
    qty = abs(pos.qty)
    if pos.stop_loss is not None and (price <= pos.stop_loss if long else price >= pos.stop_loss):
        return ExitSignal(
            pos.symbol, "stop_loss", side, qty, price, f"{price} crossed stop {pos.stop_loss}"
        )
    if pos.take_profit is not None and (
        price >= pos.take_profit if long else price <= pos.take_profit
    ):
        return ExitSignal(
            pos.symbol, "take_profit", side, qty, price, f"{price} reached target {pos.take_profit}"
        )
    limit = deadline(pos, exits, calendar)
    if limit is not None and now >= limit:
        return ExitSignal(
            pos.symbol,
            "time_limit",
            side,
            qty,
            price,
            f"{pos.timeframe} position past its time limit {limit.isoformat()}",
        )
    return None


def manual_exit(pos: Position, price: Decimal, who: str = "operator") -> ExitSignal:
    long = pos.qty > 0
    return ExitSignal(
        pos.symbol, "manual", "sell" if long else "buy", abs(pos.qty), price, f"closed by {who}"
    )


def exit_client_order_id(pos: Position, model_id: str, reason: str) -> str:
    """One exit per position and reason: the entry's id names the position, so a replayed
    tick or a restart cannot close it twice."""
    return client_order_id(
        pos.entry_client_order_id or pos.opened_at.isoformat(),
        model_id,
        pos.symbol,
        f"exit:{reason}",
    )
