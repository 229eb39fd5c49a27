"""The `[arena]` section of config.toml: the competing models, when they run, and their rails.

Money amounts are ``Decimal`` (ledgers are exact); prices per million tokens are floats (an
estimate, not an account). Every model's book is ``arena:<id>``.
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from arenad.config.secrets import env_name_problem
from arenad.config.section import Section

Provider = Literal["openai_compatible", "anthropic", "baseline"]
BaselineKind = Literal["buy_and_hold", "momentum", "rsi_reversion", "random"]
ScheduleKind = Literal["hourly", "daily", "weekly", "cron"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

DEFAULT_BASE_URLS: dict[str, str] = {
    "openai_compatible": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
}


class BaselineSettings(Section):
    """A deterministic, offline model: the yardstick every LLM has to beat."""

    kind: BaselineKind = "buy_and_hold"
    """`buy_and_hold` (buy once, keep), `momentum` (fast/slow SMA cross), `rsi_reversion`
    (buy oversold, sell overbought) or `random` (seeded coin flips: the luck benchmark)."""
    position_fraction: Decimal = Field(default=Decimal("0.2"), gt=0, le=1)
    """Share of the book's equity a new position aims for (the rails still cap it)."""
    fast: int = Field(default=5, ge=2, le=200)
    """Momentum: bars in the fast simple moving average."""
    slow: int = Field(default=20, ge=3, le=400)
    """Momentum: bars in the slow simple moving average (must exceed `fast`)."""
    rsi_period: int = Field(default=14, ge=2, le=100)
    """RSI reversion: bars in the RSI (Wilder smoothing)."""
    oversold: float = Field(default=30.0, gt=0, lt=100)
    """RSI reversion: buy when the RSI is below this."""
    overbought: float = Field(default=70.0, gt=0, lt=100)
    """RSI reversion: sell a held position when the RSI is above this."""
    seed: int = 42
    """Random: the seed; with the slot key and symbol it fixes every coin flip, so a re-run
    slot decides the same."""
    trade_probability: float = Field(default=0.3, ge=0, le=1)
    """Random: chance of acting (buying, or selling a held position) per symbol and slot."""
    stop_loss_pct: Decimal = Field(default=Decimal("0.05"), gt=0, lt=1)
    """Stop loss placed this fraction below the entry price."""
    take_profit_pct: Decimal = Field(default=Decimal("0.10"), gt=0)
    """Take profit placed this fraction above the entry price."""
    timeframe: Literal["day", "swing", "position", "long-term"] = "swing"
    """Holding horizon written on the baseline's decisions (drives the time-limit exit)."""

    @model_validator(mode="after")
    def _check(self) -> BaselineSettings:
        if self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be greater than fast ({self.fast})")
        if self.overbought <= self.oversold:
            raise ValueError("overbought must be greater than oversold")
        return self


class ArenaModelSettings(Section):
    """One competitor (`[[arena.models]]`). Its book is `arena:<id>`."""

    id: str
    """Stable identifier (lowercase letters, digits, `_.-`); the book is `arena:<id>`.
    Renaming it starts a new book."""
    name: str = ""
    """Display name (defaults to the id)."""
    provider: Provider = "baseline"
    """`openai_compatible` (OpenAI, Groq, Gemini's compatible endpoint, DeepSeek, OpenRouter,
    Ollama, vLLM, llama.cpp), `anthropic` (messages API), or `baseline` (offline, no network)."""
    model: str = ""
    """The provider's model name, e.g. `gpt-4o-mini`, `llama-3.3-70b-versatile`,
    `claude-sonnet-4-5`. Required unless the provider is `baseline`."""
    base_url: str = ""
    """API root. Empty: https://api.openai.com/v1 or https://api.anthropic.com. Examples:
    https://api.groq.com/openai/v1, http://127.0.0.1:11434/v1 (Ollama)."""
    api_key_env: str = ""
    """Environment variable holding the API key (empty: send none, e.g. a local Ollama)."""
    temperature: float = Field(default=0.2, ge=0, le=2)
    """Sampling temperature."""
    max_tokens: int = Field(default=1024, ge=16, le=65536)
    """Most tokens the model may answer with."""
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    """Time limit of one HTTP call (retries get their own, within the run deadline)."""
    max_concurrency: int = Field(default=2, ge=1, le=64)
    """Most calls to this model in flight at once (one call per symbol)."""
    max_attempts: int = Field(default=3, ge=1, le=10)
    """Tries per call for 429, 5xx and timeouts, with capped jittered backoff; a retry that
    would end past the run deadline is not started."""
    structured_output: Literal["json_schema", "json_object", "none"] = "json_schema"
    """How the decision format is asked for: `json_schema` (OpenAI `response_format` with the
    schema, Anthropic `output_config.format`), `json_object` (OpenAI JSON mode, for endpoints
    without schemas, e.g. Groq's llama models), or `none` (prompt only)."""
    input_price_per_mtok: float = Field(default=0.0, ge=0)
    """USD per million prompt tokens, for the cost estimate of each call."""
    output_price_per_mtok: float = Field(default=0.0, ge=0)
    """USD per million completion tokens, for the cost estimate of each call."""
    initial_capital: Decimal = Field(default=Decimal("100000"), gt=0)
    """Starting cash of this model's virtual ledger (USD)."""
    enabled: bool = True
    """Disabled models are kept (book, history) but not called."""
    baseline: BaselineSettings | None = None
    """`[arena.models.baseline]`: required when provider = "baseline"."""
    alpaca_key_id_env: str = ""
    """Own Alpaca paper account for this model (variable holding the key id); empty: the
    shared account from `[secrets]`, split by virtual ledgers."""
    alpaca_secret_key_env: str = ""
    """Variable holding the secret of this model's own Alpaca account."""

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(
                f"{v!r} is not a valid model id (lowercase letters, digits, `_.-`, at most 64)"
            )
        return v

    @field_validator("api_key_env", "alpaca_key_id_env", "alpaca_secret_key_env")
    @classmethod
    def _env(cls, v: str) -> str:
        # Never repeat the value: it may be the key itself, pasted in the wrong place.
        if v and (why := env_name_problem(v)):
            raise ValueError(why)
        return v

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _check(self) -> ArenaModelSettings:
        if self.provider == "baseline":
            if self.baseline is None:
                raise ValueError(
                    f"model {self.id!r}: provider 'baseline' needs [arena.models.baseline] "
                    "with a kind"
                )
        else:
            if not self.model:
                raise ValueError(f"model {self.id!r}: provider {self.provider!r} needs `model`")
            if self.baseline is not None:
                raise ValueError(f"model {self.id!r}: `baseline` is only for provider 'baseline'")
        if bool(self.alpaca_key_id_env) != bool(self.alpaca_secret_key_env):
            raise ValueError(
                f"model {self.id!r}: set both alpaca_key_id_env and alpaca_secret_key_env, "
                "or neither"
            )
        return self

    @property
    def book_id(self) -> str:
        return f"arena:{self.id}"

    @property
    def display_name(self) -> str:
        return self.name or self.id

    @property
    def url(self) -> str:
        return self.base_url or DEFAULT_BASE_URLS.get(self.provider, "")


class ScheduleSettings(Section):
    """When runs happen. Each run has a slot key; a slot runs at most once, even across
    restarts."""

    kind: ScheduleKind = "daily"
    """`hourly` (each market hour at `minute`), `daily` (at `at`), `weekly` (on `weekday` at
    `at`; a closed day moves to the next open day of that week) or `cron` (`cron`)."""
    at: str = "15:45"
    """Time of day (HH:MM, in `timezone`) for daily and weekly runs."""
    minute: int = Field(default=35, ge=0, le=59)
    """Minute past each hour for hourly runs (only while the market is open)."""
    weekday: Weekday = "mon"
    """Day of the week for weekly runs."""
    cron: str = ""
    """Cron expression (minute hour day month weekday) in `timezone`, for kind = "cron"."""
    timezone: str = "America/New_York"
    """Zone of `at` and `cron`. New York keeps 15:45 at 15:45 across daylight saving."""
    market_days_only: bool = True
    """Skip days the market is closed (NYSE calendar: the venue's /v2/calendar, or the
    built-in holiday table offline)."""
    missed_slot: Literal["run_once", "skip"] = "run_once"
    """A slot that passed while arenad was down: `run_once` runs the newest missed slot once at
    start (never a backlog), `skip` waits for the next one."""
    missed_max_age_s: float = Field(default=3600.0, gt=0)
    """A missed slot older than this is skipped even with run_once (stale prices)."""

    @field_validator("at")
    @classmethod
    def _at(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError(f"{v!r} is not a time of day HH:MM (00:00-23:59)")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r}") from e
        return v

    @model_validator(mode="after")
    def _check(self) -> ScheduleSettings:
        if self.kind == "cron":
            from arenad.arena.schedule import cron_problem

            problem = cron_problem(self.cron)
            if problem:
                raise ValueError(f"cron {self.cron!r}: {problem}")
        return self

    @property
    def at_time(self) -> time:
        h, m = self.at.split(":")
        return time(int(h), int(m))


class RailsSettings(Section):
    """Safety rails checked before every order of every model; each verdict is stored with the
    decision it judged."""

    max_position_size: Decimal = Field(default=Decimal("10000"), gt=0)
    """Most USD notional one position may reach (existing + new, at the order's price; for an
    entry without a limit price, the last price plus `market_allowance_bps`). Checked again on
    each fill: a fill that still takes a position past it is recorded as a failed
    `max_position_size_fill` verdict on its decision and a warning event."""
    max_daily_loss: Decimal = Field(default=Decimal("5000"), gt=0)
    """A model whose loss since the New York day began (realized + unrealized) reaches this
    sits out the rest of the day: no new orders (exits still run)."""
    max_open_positions: int = Field(default=5, ge=1, le=100)
    """Most symbols a model may hold at once."""
    allowed_symbols: list[str] = Field(
        default_factory=lambda: ["AAPL", "NVDA", "TSLA", "MSFT", "GOOGL"]
    )
    """The symbols the models are shown and may trade."""
    allow_short: bool = False
    """Let SELL open a short; off: SELL only reduces a held position."""
    market_allowance_bps: Decimal = Field(default=Decimal(50), ge=0, le=2000)
    """Spread and slippage allowance (basis points of the last price) for entries without a
    limit price. Such a buy is judged by the rails at the last price plus this allowance and
    sent as a limit order at that price, so it cannot fill into a position or a cost past what
    the rails allowed; a short sale is judged at the same padded price and sent with a limit
    this far below the last price. An order the market has moved beyond rests until it can
    fill within its limit (or the day ends). Exits stay market orders."""

    @field_validator("allowed_symbols")
    @classmethod
    def _symbols(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if not _SYMBOL.match(s)]
        if bad:
            raise ValueError(f"not stock symbols (upper case): {bad}")
        if len(set(v)) != len(v):
            raise ValueError("allowed_symbols lists a symbol twice")
        if not v:
            raise ValueError("allowed_symbols is empty")
        return v


class ExitSettings(Section):
    """Exits enforced by arenad itself from market data, not left to the next model call."""

    day_close_before_min: int = Field(default=10, ge=0, le=120)
    """`day` positions close this many minutes before the session ends."""
    swing_days: int = Field(default=5, ge=0, le=365)
    """Trading days a `swing` position may live (0: no limit)."""
    position_days: int = Field(default=20, ge=0, le=1000)
    """Trading days a `position` position may live (0: no limit)."""
    long_term_days: int = Field(default=0, ge=0, le=5000)
    """Trading days a `long-term` position may live (0: no limit)."""

    def limit_days(self, timeframe: str) -> int:
        return {
            "swing": self.swing_days,
            "position": self.position_days,
            "long-term": self.long_term_days,
        }.get(timeframe, 0)


class ArenaSettings(Section):
    """Arena mode: models paper trade stocks on a schedule, each on its own virtual ledger."""

    enabled: bool = True
    """Run the arena (scheduled runs and run-now)."""
    models: list[ArenaModelSettings] = Field(default_factory=list)
    """The competitors (`[[arena.models]]`)."""
    schedule: ScheduleSettings = ScheduleSettings()
    """When runs happen."""
    rails: RailsSettings = RailsSettings()
    """Per-model safety rails."""
    exits: ExitSettings = ExitSettings()
    """Time limits and exits."""
    benchmark_symbol: str | None = Field(default="SPY", pattern=r"^[A-Z][A-Z.]{0,9}$")
    """Buy-and-hold benchmark on the leaderboard (book `benchmark:<symbol>`): its equity is
    recorded at each run as the models' starting capital held in this symbol from the first
    run on. Unset it to have no benchmark."""
    benchmark_capital: Decimal = Field(default=Decimal("100000"), gt=0)
    """Starting capital of the benchmark book."""
    run_deadline_s: float = Field(default=120.0, gt=0, le=3600)
    """Whole-run time limit: calls and retries still open then are recorded as failures and
    those models hold."""
    bars_timeframe: Literal["1Day", "1Hour"] = "1Day"
    """Bar size shown to the models and used by the baselines' indicators."""
    bars_lookback: int = Field(default=60, ge=5, le=1000)
    """Bars fetched per symbol for indicators."""
    prompt_bars: int = Field(default=20, ge=1, le=200)
    """Most recent bars written into the prompt per symbol."""
    max_response_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    """A provider answer larger than this is refused (recorded as a failed call)."""
    stored_response_bytes: int = Field(default=65_536, ge=256, le=16 * 1_048_576)
    """Raw answers are stored up to this many bytes (the rest is cut, and says so)."""
    retry_base_s: float = Field(default=0.5, gt=0, le=60)
    """First backoff between attempts of a call (doubles, with jitter)."""
    retry_max_backoff_s: float = Field(default=8.0, gt=0, le=300)
    """Cap of one backoff; a server's Retry-After is honoured up to the run deadline."""
    venue: Literal["simulator", "alpaca_paper"] = "simulator"
    """Where orders and market data go: `simulator` (the built-in simulator's Alpaca at
    [sim] host and alpaca_port: `arenad demo`, or `arenad sim` beside the daemon; any keys
    work) or `alpaca_paper` (Alpaca's paper API, keys named in [secrets]). Restart to change."""
    trading_url: str = ""
    """Override of the trading REST root (empty: from `venue`). Restart to change."""
    data_url: str = ""
    """Override of the market-data REST root (empty: from `venue`). Restart to change."""
    trade_stream_url: str = ""
    """Override of the trade-updates websocket (empty: from `venue`). Restart to change."""
    data_stream_url: str = ""
    """Override of the market-data websocket (empty: from `venue`). Restart to change."""
    data_feed: Literal["iex", "sip"] = "iex"
    """Market-data feed (`sip` needs a paid Alpaca plan)."""
    upkeep_interval_s: float = Field(default=30.0, gt=0, le=3600)
    """How often time limits are checked, open orders reconciled by client order id and the
    ledgers compared with the account's positions (drift is an event)."""

    @field_validator("models")
    @classmethod
    def _unique(cls, v: list[ArenaModelSettings]) -> list[ArenaModelSettings]:
        seen: set[str] = set()
        for m in v:
            if m.id in seen:
                raise ValueError(f"model id {m.id!r} appears twice")
            seen.add(m.id)
        return v

    def enabled_models(self) -> list[ArenaModelSettings]:
        return [m for m in self.models if m.enabled]

    def model(self, model_id: str) -> ArenaModelSettings | None:
        return next((m for m in self.models if m.id == model_id), None)


def describe(settings: ArenaSettings) -> dict[str, Any]:
    """A JSON-ready summary (the CLI and control replies show it)."""
    return {
        "enabled": settings.enabled,
        "schedule": settings.schedule.model_dump(),
        "models": [
            {"id": m.id, "name": m.display_name, "provider": m.provider, "enabled": m.enabled}
            for m in settings.models
        ],
    }
