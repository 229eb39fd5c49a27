"""The root settings model: config.toml plus ``ARENAD_*`` environment overrides.

Each component owns its section model in its own package (``arenad.fade.settings`` and so on);
this module only assembles them. Environment variables win over the file
(``ARENAD_DAEMON__DB_PATH`` overrides ``[daemon] db_path``).
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from arenad.arena.settings import ArenaSettings
from arenad.config.secrets import env_name_problem
from arenad.config.section import Section
from arenad.fade.settings import FadeSettings
from arenad.metrics.settings import MetricsSettings
from arenad.notify.settings import NotifySettings
from arenad.sim.settings import SimSettings
from arenad.strategies.settings import StrategiesSettings
from arenad.tracker.settings import TrackerSettings

LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]


class DaemonSettings(Section):
    db_path: Path = Path("var/arenad.db")
    """SQLite database file. Relative paths are relative to the config file. Restart to change."""
    socket_path: Path = Path("var/arenad.sock")
    """Unix socket of the control server (created 0600). Restart to change."""
    log_format: LogFormat = "auto"
    """`json` (one object per line, for journald), `console` (for a terminal), or `auto`:
    json when started by systemd (JOURNAL_STREAM is set), console otherwise."""
    log_level: LogLevel = "info"
    """Lowest level written to the log."""
    sqlite_synchronous: Literal["normal", "full"] = "full"
    """SQLite `synchronous` pragma. `full` survives power loss as well as crashes; `normal`
    survives crashes only. Restart to change."""
    writer_queue_size: int = Field(default=10_000, ge=10, le=1_000_000)
    """Most writes waiting for the store writer; producers wait when it is full."""
    writer_batch_size: int = Field(default=5_000, ge=1, le=100_000)
    """Most writes committed in one transaction. Batches only grow this large when writes
    queue up; each commit costs about as much as a thousand rows, so large batches keep the
    writer ahead of a flood, at the price of a longer wait for a durable write behind one."""
    event_queue_size: int = Field(default=1_000, ge=10, le=100_000)
    """Per-subscriber queue of live events on the control socket; the oldest is dropped when
    a slow client lets it fill."""
    control_max_connections: int = Field(default=64, ge=1, le=1024)
    """Most open connections on the control socket (the TUI holds one, each CLI call one while
    it runs). Connections over it are closed at once with code 1013 and a reason saying so,
    and a warning is logged. A change applies to new connections."""
    shutdown_timeout_s: float = Field(default=4.0, gt=0, le=60)
    """How long shutdown waits for tasks to finish before abandoning them."""
    watch_config: bool = True
    """Re-read config.toml when it changes (SIGHUP always re-reads it)."""
    config_poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    """How often the config file is checked for changes."""
    task_max_backoff_s: float = Field(default=60.0, gt=0, le=3600)
    """Cap of the jittered exponential backoff between restarts of a crashed task."""
    trading_crash_limit: int = Field(default=3, ge=1, le=100)
    """A trading task that crashes this many times within `trading_crash_window_s` engages
    the kill switch."""
    trading_crash_window_s: float = Field(default=300.0, gt=0)
    """Window in which trading-task crashes are counted."""
    disk_free_min_mb: float = Field(default=50.0, ge=0)
    """Free space (MiB) on the database's file system below which the kill switch is engaged
    (`by = "disk_space"`) while there is still room to persist it; 0 turns the check off."""
    db_max_size_mb: float | None = Field(default=None, gt=0)
    """Largest size (MiB) the database file may grow to; writes past it fail as on a full
    disk (storage failure: trading halts). Empty: no limit but the disk. Restart to change."""
    writer_stall_s: float = Field(default=20.0, gt=0, le=3600)
    """A store writer that has completed no commit for this long while it has work (a commit
    that does not return, or the database locked by another process) is wedged: the systemd
    watchdog ping stops (keep it below the unit's WatchdogSec), so systemd restarts the
    daemon. A storage failure (disk full) is not a wedge: the daemon stays up, halted."""


class SecretsSettings(Section):
    """Names of the environment variables that hold secrets. The secrets themselves never go in
    config.toml: a key there that looks like a secret is an error."""

    hyperliquid_private_key_env: str = "ARENAD_HL_PRIVATE_KEY"
    """Variable holding the Hyperliquid signing key (hex) for live fading."""
    alpaca_key_id_env: str = "APCA_API_KEY_ID"
    """Variable holding the Alpaca API key id."""
    alpaca_secret_key_env: str = "APCA_API_SECRET_KEY"  # noqa: S105 - a variable name
    """Variable holding the Alpaca API secret."""
    extra_env: list[str] = Field(default_factory=list)
    """Further variables whose values must never reach a log (LLM keys are added from each
    model's `api_key_env` automatically)."""

    @field_validator("hyperliquid_private_key_env", "alpaca_key_id_env", "alpaca_secret_key_env")
    @classmethod
    def _env(cls, v: str) -> str:
        # Never repeat the value: it may be the key itself, pasted in the wrong place.
        if why := env_name_problem(v):
            raise ValueError(why)
        return v

    @field_validator("extra_env")
    @classmethod
    def _envs(cls, v: list[str]) -> list[str]:
        for i, name in enumerate(v):
            if why := env_name_problem(name):
                raise ValueError(f"item {i}: {why}")
        return v


class RiskSettings(Section):
    day_boundary_tz: str = "UTC"
    """Time zone whose midnight starts a new trading day for the daily loss limit."""
    daily_loss_limit_usd: float | None = Field(default=None, gt=0)
    """Realized plus unrealized loss since the day boundary that halts trading (empty: none)."""
    venue_outage_grace_s: float = Field(default=300.0, gt=0, le=86_400)
    """A venue unreachable (one kind of request failing three times in a row: refused
    connects, timeouts, HTTP 5xx/429; a websocket that drops and reconnects is not) holds
    trading on it by itself ("waiting for venue", released once it answers and the backfill
    has caught up, the fade books then re-targeted); an outage longer than this engages the
    kill switch (`by = "venue_outage"`)."""
    venue_retry_max_s: float = Field(default=10.0, gt=0, le=600)
    """Cap of the jittered backoff between retries of an unreachable venue (connects and
    requests)."""


_file_data: ContextVar[dict[str, Any]] = ContextVar("arenad_config_file_data")


class Settings(BaseSettings):
    """Everything arenad reads from config.toml and the environment."""

    model_config = SettingsConfigDict(
        env_prefix="ARENAD_",
        env_nested_delimiter="__",
        extra="forbid",
        use_attribute_docstrings=True,
        frozen=True,
    )

    mode: Literal["simulation", "live"] = "simulation"
    """`simulation` trades only on paper or against the simulator. `live` also needs `--live`
    (or ARENAD_ALLOW_LIVE=1) at start. Restart to change."""
    daemon: DaemonSettings = DaemonSettings()
    """Process, storage, logging and control socket."""
    secrets: SecretsSettings = SecretsSettings()
    """Where secrets come from (environment variable names only)."""
    risk: RiskSettings = RiskSettings()
    """Account-wide guards shared by every trading loop."""
    sim: SimSettings = SimSettings()
    """The built-in simulator of Hyperliquid and Alpaca."""
    fade: FadeSettings = FadeSettings()
    """FadeArena: trade the inverse of AI bots on Hyperliquid."""
    arena: ArenaSettings = ArenaSettings()
    """Arena mode: AI models paper trading stocks on Alpaca."""
    tracker: TrackerSettings = TrackerSettings()
    """The nof1.ai Alpha Arena tracker."""
    metrics: MetricsSettings = MetricsSettings()
    """Performance metrics and the leaderboard."""
    strategies: StrategiesSettings = StrategiesSettings()
    """Allocation strategies: backtests, batch sweeps and active rebalancing (seed 003)."""
    notify: NotifySettings = NotifySettings()
    """Notifications to the operator (Telegram, ntfy, ... through apprise URLs)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML is parsed by the loader (it needs line/column errors and secret checks
        # first); the parsed dict reaches pydantic through this context variable.
        return (init_settings, env_settings, InitSettingsSource(settings_cls, _file_data.get({})))


def build_settings(file_data: dict[str, Any]) -> Settings:
    token = _file_data.set(file_data)
    try:
        return Settings()
    finally:
        _file_data.reset(token)


def field_doc(path: str) -> str | None:
    """The docstring of a dotted key, e.g. ``daemon.db_path``."""
    model: Any = Settings
    info: FieldInfo | None = None
    for part in path.split("."):
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        info = fields[part]
        model = info.annotation
    return info.description if info else None
