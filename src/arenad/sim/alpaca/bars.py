"""Historical bars (`/v2/stocks/bars`): timeframes, session clipping and page tokens.

Bars come only from session minutes (regular hours; every minute when `always_open`) that have
fully elapsed, so a bar never shows the future. Minute and hour buckets are aligned on the UTC
clock; day, week and month bars are stamped at midnight New York time, as Alpaca stamps them.
Pages hold at most `limit` bars across all symbols, symbols in alphabetical order; the
`next_page_token` names the symbol and timestamp where the next page starts (base64, opaque
to clients, as Alpaca's is), and is null on the last page.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from arenad.sim.alpaca import calendar
from arenad.sim.alpaca.calendar import ET
from arenad.sim.alpaca.prices import MinuteBar, PriceModel, aggregate, floor_minute

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
DESC_CAP = 200_000
_TF = re.compile(r"^(\d{1,3})(Min|T|Hour|H|Day|D|Week|W|Month|M)$")
_UNITS = {"T": "Min", "H": "Hour", "D": "Day", "W": "Week", "M": "Month"}


class BadQuery(ValueError):
    """A query parameter Alpaca would refuse (HTTP 400 with this message)."""


@dataclass(frozen=True, slots=True)
class TimeFrame:
    amount: int
    unit: str  # Min | Hour | Day | Week | Month


def parse_timeframe(text: str | None) -> TimeFrame:
    m = _TF.match(text or "")
    if not m:
        raise BadQuery(f"invalid timeframe: {text!r}")
    amount, unit = int(m.group(1)), _UNITS.get(m.group(2), m.group(2))
    ok = {
        "Min": 1 <= amount <= 59,
        "Hour": 1 <= amount <= 23,
        "Day": amount == 1,
        "Week": amount == 1,
        "Month": amount in (1, 2, 3, 4, 6, 12),
    }[unit]
    if not ok:
        raise BadQuery(f"invalid timeframe: {text!r}")
    return TimeFrame(amount, unit)


def parse_time(text: str, name: str) -> datetime:
    """RFC 3339, or a date (midnight New York time); naive times are UTC."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), ET).astimezone(UTC)
        t = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise BadQuery(
            f"Invalid format for parameter {name}: error parsing {text!r} as RFC3339 or "
            f"2006-01-02 time"
        ) from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def wire_bar(b: MinuteBar) -> dict[str, Any]:
    return {
        "t": b.t.isoformat().replace("+00:00", "Z"),
        "o": b.o,
        "h": b.h,
        "l": b.l,
        "c": b.c,
        "v": b.v,
        "n": b.n,
        "vw": b.vw,
    }


def _open_intervals(
    start: datetime, end: datetime, always_open: bool
) -> Iterator[tuple[datetime, datetime]]:
    if always_open:
        if start < end:
            yield start, end
        return
    d = calendar.ny_date(start)
    last = calendar.ny_date(end)
    while d <= last:
        s = calendar.session(d)
        if s is not None:
            a, b = max(s[0], start), min(s[1], end)
            if a < b:
                yield a, b
        d += timedelta(days=1)


def bucket_of(t: datetime, tf: TimeFrame) -> tuple[datetime, datetime]:
    """(bucket start, bucket end) of the bucket holding ``t``."""
    if tf.unit in ("Min", "Hour"):
        size = tf.amount * (60 if tf.unit == "Hour" else 1)
        minutes = int(t.timestamp() // 60)
        first = minutes - minutes % size
        b0 = datetime.fromtimestamp(first * 60, UTC)
        return b0, b0 + timedelta(minutes=size)
    local = t.astimezone(ET).date()
    if tf.unit == "Day":
        d0, d1 = local, local + timedelta(days=1)
    elif tf.unit == "Week":
        d0 = local - timedelta(days=local.weekday())
        d1 = d0 + timedelta(days=7)
    else:
        m = (local.month - 1) // tf.amount * tf.amount
        d0 = date(local.year, m + 1, 1)
        m1 = m + tf.amount
        d1 = date(local.year + m1 // 12, m1 % 12 + 1, 1)
    return (
        datetime.combine(d0, time(0), ET).astimezone(UTC),
        datetime.combine(d1, time(0), ET).astimezone(UTC),
    )


def iter_bars(
    model: PriceModel,
    symbol: str,
    tf: TimeFrame,
    start: datetime,
    end: datetime,
    *,
    always_open: bool,
) -> Iterator[MinuteBar]:
    """Bars of one symbol stamped in [start, end), oldest first; only elapsed session
    minutes count, so the current day's bar is partial and the current minute has none."""
    first = floor_minute(start)
    if first < start:
        first += timedelta(minutes=1)
    end = floor_minute(end)
    pending: MinuteBar | None = None
    for a, b in _open_intervals(first, end, always_open):
        t = a
        while t < b:
            b0, b1 = bucket_of(t, tf)
            seg_end = min(b1, b)
            bar = model.range_bar(symbol, t, seg_end, b0)
            if pending is not None and pending.t == b0:
                pending = aggregate([pending, bar], b0)
            else:
                if pending is not None and pending.t >= start:
                    yield pending
                pending = bar
            t = seg_end
    if pending is not None and pending.t >= start:
        yield pending


def encode_token(symbol: str, t: datetime) -> str:
    raw = f"{symbol}|{t.isoformat()}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str) -> tuple[str, datetime]:
    try:
        symbol, stamp = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        return symbol, datetime.fromisoformat(stamp)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadQuery("invalid page_token") from None


def page(
    model: PriceModel,
    symbols: list[str],
    tf: TimeFrame,
    start: datetime,
    end: datetime,
    *,
    limit: int,
    token: str | None,
    descending: bool,
    always_open: bool,
) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    """One page of bars keyed by symbol, and the token of the next page (or None)."""
    symbols = sorted(set(symbols))
    at: tuple[str, datetime] | None = decode_token(token) if token else None
    if at is not None and at[0] not in symbols:
        raise BadQuery("invalid page_token")
    out: dict[str, list[dict[str, Any]]] = {}
    count = 0
    for sym in symbols:
        if at is not None and sym < at[0]:
            continue
        bars = bars_of(model, sym, tf, start, end, descending, always_open)
        for bar in bars:
            before_token = (
                at is not None and sym == at[0] and (bar.t > at[1] if descending else bar.t < at[1])
            )
            if before_token:
                continue
            if count == limit:
                return out, encode_token(sym, bar.t)
            out.setdefault(sym, []).append(wire_bar(bar))
            count += 1
    return out, None


def bars_of(
    model: PriceModel,
    symbol: str,
    tf: TimeFrame,
    start: datetime,
    end: datetime,
    descending: bool,
    always_open: bool,
) -> Iterator[MinuteBar]:
    bars = iter_bars(model, symbol, tf, start, end, always_open=always_open)
    if not descending:
        return bars
    listed: list[MinuteBar] = []
    for bar in bars:
        listed.append(bar)
        if len(listed) > DESC_CAP:
            raise BadQuery(f"sort=desc is limited to {DESC_CAP} bars per symbol; narrow the range")
    return reversed(listed)
