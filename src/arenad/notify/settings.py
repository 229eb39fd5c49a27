"""The `[notify]` section of config.toml: where notifications go and which are sent.

The notification URLs carry tokens (a Telegram bot token, an ntfy topic, a webhook secret), so
they never appear in the file: ``urls_env`` names the environment variable that holds them.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from arenad.config.secrets import env_name_problem
from arenad.config.section import Section

NotifyLevel = Literal["info", "warning", "error"]
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: str) -> time:
    """``"07:30"`` → 07:30; ValueError naming the expected form otherwise."""
    m = _HHMM.match(value.strip())
    if m is None:
        raise ValueError(f"{value!r} is not a time of day as HH:MM (24-hour, e.g. 07:30)")
    return time(int(m.group(1)), int(m.group(2)))


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """``"23:00-07:00"`` → (23:00, 07:00); ``""`` → None (no quiet hours)."""
    if not value.strip():
        return None
    start, sep, end = value.partition("-")
    if not sep:
        raise ValueError(f"{value!r} is not a span of time as HH:MM-HH:MM (e.g. 23:00-07:00)")
    a, b = parse_hhmm(start), parse_hhmm(end)
    if a == b:
        raise ValueError(f"{value!r} starts and ends at the same time; leave it empty for none")
    return a, b


class NotifyCategories(Section):
    """Which kinds of notification are sent (each on by default)."""

    kill_switch: bool = True
    """The kill switch engaged (by the operator or a guard) and released."""
    trading_state: bool = True
    """Trading state changes other than the kill switch (ACTIVE ↔ REDUCING)."""
    daily_loss: bool = True
    """The daily loss limit crossed (it engages the kill switch)."""
    drift: bool = True
    """Reconciliation drift: the fade account book and the venue disagree (and agree again),
    and arena ledgers that do not match the account."""
    ingest_gap: bool = True
    """Fills of a bot that cannot be backfilled (it engages the kill switch)."""
    crash_loop: bool = True
    """A task that keeps crashing (a trading task's crash loop engages the kill switch)."""
    storage: bool = True
    """The database refuses writes, or the store writer stopped."""
    daemon: bool = True
    """The daemon started (and whether its previous run ended uncleanly) and is stopping."""
    arena: bool = True
    """An arena run that failed."""
    orders: bool = True
    """An order the venue rejected (fade orders off paper, arena and strategy orders)."""
    daily_summary: bool = True
    """The daily summary at `daily_summary_at`."""


class NotifySettings(Section):
    """Notifications to the operator's phone or chat through apprise URLs. Off until
    `urls_env` names a variable that holds at least one URL."""

    urls_env: str = ""
    """Name of the environment variable holding the notification URLs (apprise URLs such as
    `tgram://BOT_TOKEN/CHAT_ID` or `ntfy://ntfy.sh/TOPIC`), separated by spaces, commas or
    new lines. Empty: notifications are off. The URLs are secrets: they are never written to
    the log, the events or the database. Restart to change."""
    min_level: NotifyLevel = "info"
    """Lowest level sent: `info` sends everything listed under `categories`, `warning` drops
    start/stop and the daily summary, `error` sends only what stops trading."""
    categories: NotifyCategories = NotifyCategories()
    """Switches per kind of notification."""
    timezone: str = ""
    """Time zone of `daily_summary_at` and `quiet_hours` (e.g. Europe/Berlin). Empty: the
    machine's local time zone."""
    daily_summary_at: str = "08:00"
    """Local time (HH:MM) of the daily summary: day P&L per book kind, the top 3 of the
    board, open exposure, fees and LLM cost of the 24 hours before. Empty: no summary."""
    quiet_hours: str = ""
    """Local span (HH:MM-HH:MM, may cross midnight, e.g. 23:00-07:00) in which only errors are
    sent at once; everything else is held and sent as one digest when it ends. Empty: none."""
    max_per_minute: int = Field(default=10, ge=1, le=1000)
    """Most messages a minute per channel; beyond it messages are held back and one line says
    how many were suppressed (and names the most severe) once the minute is over."""
    queue_size: int = Field(default=100, ge=1, le=10_000)
    """Most messages waiting per channel (a channel that is down); the oldest are dropped and
    counted when it is full."""
    retries: int = Field(default=3, ge=0, le=20)
    """Further attempts after a failed delivery, with jittered exponential backoff."""
    retry_backoff_s: float = Field(default=2.0, gt=0, le=600)
    """First wait before a retry (doubling, capped at 60 s)."""
    timeout_s: float = Field(default=5.0, gt=0, le=120)
    """Longest one delivery may take (connect and read); a channel that hangs longer counts
    as failed. The daemon's exit may wait this long for a delivery in flight. Restart to
    change."""
    check_interval_s: float = Field(default=5.0, gt=0, le=300)
    """How often storage, task health, rejected orders, the summary time and held messages
    are checked."""

    @field_validator("urls_env")
    @classmethod
    def _env(cls, v: str) -> str:
        # Never repeat the value: it may be the URL itself, pasted in the wrong place.
        if v and (why := env_name_problem(v)):
            raise ValueError(why)
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        if v:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError) as e:
                raise ValueError(f"unknown time zone {v!r} (e.g. Europe/Berlin, UTC)") from e
        return v

    @field_validator("daily_summary_at")
    @classmethod
    def _at(cls, v: str) -> str:
        if v.strip():
            parse_hhmm(v)
        return v.strip()

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        parse_quiet_hours(v)
        return v.strip()
