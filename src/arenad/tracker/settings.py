"""The `[tracker]` section of config.toml.

The tracker polls the public nof1.ai Alpha Arena API. It is off as shipped so that
`arenad run` with the shipped config makes no request off the machine; `arenad tracker import`
works whatever `enabled` says.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from arenad.config.section import Section


class TrackerModelSettings(Section):
    """What the nof1 API does not say about a model: its display name, provider and wallet."""

    model_id: str = Field(min_length=1)
    """The model's id in the nof1 API (`model_id` in trades and chats, e.g. "gpt-5")."""
    name: str | None = None
    """Display name ("GPT 5"); defaults to the built-in name of a known model, else the id."""
    provider: str | None = None
    """Company or organisation ("OpenAI"); defaults to the built-in one of a known model."""
    wallet: str | None = None
    """The model's public Hyperliquid wallet (0x + 40 hex). A `[[fade.bots]]` entry with the
    same wallet makes the tracker write this model's equity, round trips and decisions into that
    bot's book (`bot:<bot id>`), so the fade of the bot and the bot's own reasoning line up."""
    active: bool = True
    """False keeps the model's stored history but marks it inactive (retired from the season)."""

    @field_validator("wallet")
    @classmethod
    def _wallet(cls, v: str | None) -> str | None:
        if v is None:
            return v
        w = v.strip().lower()
        hexdigits = "0123456789abcdef"
        if not (w.startswith("0x") and len(w) == 42 and all(c in hexdigits for c in w[2:])):
            raise ValueError(f"{v!r} is not a wallet address (0x followed by 40 hex digits)")
        return w


class TrackerSettings(Section):
    """Settings of the tracker component."""

    enabled: bool = False
    """Poll the nof1 API from the daemon. Off as shipped: the shipped config runs offline."""
    base_url: str = "https://nof1.ai/api"
    """The API root; the endpoints (`/leaderboard`, `/trades`, ...) are appended to it."""
    interval_s: float = Field(default=60.0, gt=0)
    """Seconds between two polling rounds of every endpoint (the site refreshes every 5-60 s)."""
    timeout_s: float = Field(default=20.0, gt=0)
    """Time limit of one HTTP request (connect + whole body); `/conversations` is ~1.5 MB."""
    max_backoff_s: float = Field(default=900.0, gt=0)
    """Upper bound of the wait after failing rounds (doubles from `interval_s`, with jitter)."""
    season: int = Field(default=1, ge=1)
    """The season number the polled data belongs to (the API does not say)."""
    season_name: str = "Season 1"
    """Display name of that season."""
    initial_capital: float = Field(default=10000.0, gt=0)
    """Starting capital of every model in the season (USD); the API's inception NAV wins."""
    models: list[TrackerModelSettings] = Field(default_factory=list)
    """Per-model names, providers and wallets (`[[tracker.models]]`); models the API reports
    that are not listed are tracked too, with built-in or id-derived names."""

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.rstrip("/")
