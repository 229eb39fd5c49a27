"""Load, validate and compare settings; the one place that turns bad config into words.

``load_settings`` is used by ``arenad run``, ``arenad config check`` and the hot reloader, so an
edit rejected live gets exactly the message ``config check`` would print.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from arenad.config.secrets import describe, looks_like_api_key, looks_like_secret
from arenad.config.settings import Settings, build_settings
from arenad.errors import ConfigError, ConfigProblem
from arenad.notify.urls import secrets_of

ENV_PREFIX = "ARENAD_"
CONFIG_ENV = "ARENAD_CONFIG"
DEFAULT_CONFIG = Path("config.toml")

# Keys that name a secret. `*_env` keys (which hold a variable *name*) are allowed.
_SECRET_KEY = re.compile(
    r"(private_?key|secret|api_?key|password|passphrase|token|mnemonic)$", re.I
)

# Keys read once at start-up: a live edit of them is reported and waits for a restart.
RESTART_ONLY = (
    "mode",
    "daemon.db_path",
    "daemon.socket_path",
    "daemon.sqlite_synchronous",
    "notify.urls_env",  # the channels are built from the variable once, at start-up
    "notify.timeout_s",
    "daemon.db_max_size_mb",
)


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    settings: Settings
    path: Path
    raw: dict[str, Any]


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV, str(DEFAULT_CONFIG)))


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError([ConfigProblem(str(path), "", "file not found")]) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([ConfigProblem(str(path), "", f"cannot read file: {e}")]) from e
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        where = f"{path}:{m.group(1)}:{m.group(2)}" if m else str(path)
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise ConfigError([ConfigProblem(where, "", f"invalid TOML: {reason}")]) from e


def _walk(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, Mapping):
        for k, v in data.items():
            yield from _walk(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _walk(v, f"{prefix}[{i}]")
    else:
        yield prefix, data


def find_secrets(data: dict[str, Any], source: str) -> list[ConfigProblem]:
    problems = []
    for key, value in _walk(data):
        leaf = _leaf(key)
        if leaf.endswith("_env"):
            continue
        if _SECRET_KEY.search(leaf) or (isinstance(value, str) and looks_like_api_key(value)):
            problems.append(
                ConfigProblem(
                    source,
                    key,
                    "secrets may not be stored in the config file; put the value in an "
                    "environment variable and name it in the matching `*_env` key",
                )
            )
    return problems


def _loc_to_key(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _in_file(data: dict[str, Any], loc: tuple[int | str, ...]) -> bool:
    node: Any = data
    for part in loc:
        in_list = isinstance(part, int) and isinstance(node, list) and part < len(node)
        in_dict = isinstance(part, str) and isinstance(node, dict) and part in node
        if in_list or in_dict:
            node = node[part]
        else:
            return False
    return True


def _env_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if isinstance(p, str)]
    return ENV_PREFIX + "__".join(p.upper() for p in parts)


def _problems_from_validation(
    e: ValidationError, data: dict[str, Any], source: str
) -> list[ConfigProblem]:
    problems = []
    for err in e.errors(include_url=False):
        loc = tuple(err["loc"])
        key = _loc_to_key(loc)
        origin = source
        env = _env_name(loc)
        from_env = env in os.environ or any(n.startswith(env + "__") for n in os.environ)
        if from_env or (not _in_file(data, loc) and err["type"] != "extra_forbidden"):
            origin = f"environment {env}" if from_env else source
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
        else:
            reason = err["msg"]
            # (`*_env` validators describe the value themselves, without repeating it)
            if "input" in err and not isinstance(err["input"], dict | list) and not _is_env(key):
                reason += f" (got {_shown(key, err['input'])})"
        problems.append(ConfigProblem(origin, key, reason))
    return problems


def _leaf(key: str) -> str:
    return re.sub(r"\[\d+\]$", "", key).rsplit(".", 1)[-1]


def _is_env(key: str) -> bool:
    return _leaf(key).endswith("_env")


def _shown(key: str, value: Any) -> str:
    """A rejected value as an error may show it: a secret, or what is in a secret-named key,
    only by its length and first two characters."""
    if isinstance(value, str) and (_SECRET_KEY.search(_leaf(key)) or looks_like_secret(value)):
        return describe(value)
    return repr(value)


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    daemon = settings.daemon
    updates = {}
    for name in ("db_path", "socket_path"):
        p: Path = getattr(daemon, name)
        if not p.is_absolute():
            updates[name] = (base / p).resolve()
    if not updates:
        return settings
    return settings.model_copy(update={"daemon": daemon.model_copy(update=updates)})


def load_settings(path: Path | None = None) -> LoadedConfig:
    """Read, check and validate a config file plus the environment; raise ConfigError."""
    path = path or default_config_path()
    data = read_toml(path)
    problems = find_secrets(data, str(path))
    settings: Settings | None = None
    try:
        settings = build_settings(data)
    except ValidationError as e:
        problems += _problems_from_validation(e, data, str(path))
    if problems or settings is None:
        raise ConfigError(problems)
    path = path.resolve()
    return LoadedConfig(_resolve_paths(settings, path.parent), path, data)


def accidental_edit(old: Settings, loaded: LoadedConfig) -> list[ConfigProblem]:
    """Edits a hot reload refuses because they are almost certainly an accident: a file with no
    settings at all (an editor between truncate and write), or one that drops every fade bot or
    every arena model at once. Each is still possible on purpose: ``enabled = false`` in the
    section says so explicitly (and a restart applies any file as it is)."""
    new, source = loaded.settings, str(loaded.path)
    problems = []
    if not loaded.raw and diff(old, new):
        problems.append(
            ConfigProblem(
                source,
                "",
                "the file holds no settings (empty, or only comments), probably saved half-way; "
                "to run on the defaults, restart arenad",
            )
        )
    if old.fade.bots and not new.fade.bots and new.fade.enabled:
        problems.append(
            ConfigProblem(
                source,
                "fade.bots",
                f"the edit removes every fade bot ({len(old.fade.bots)} → 0) at once; to stop "
                "fading on purpose set `enabled = false` in [fade]",
            )
        )
    if old.arena.models and not new.arena.models and new.arena.enabled:
        problems.append(
            ConfigProblem(
                source,
                "arena.models",
                f"the edit removes every arena model ({len(old.arena.models)} → 0) at once; to "
                "stop the arena on purpose set `enabled = false` in [arena]",
            )
        )
    return problems


def flatten(settings: Settings) -> dict[str, Any]:
    """Dotted key → JSON-able value, the unit of a diff."""
    return dict(_walk(settings.model_dump(mode="json")))


def diff(old: Settings, new: Settings) -> dict[str, dict[str, Any]]:
    """Changed keys with their old and new values (keys present on one side only included)."""
    a, b = flatten(old), flatten(new)
    return {
        k: {"old": a.get(k), "new": b.get(k)}
        for k in sorted(a.keys() | b.keys())
        if a.get(k) != b.get(k)
    }


def restart_only_changes(changes: Mapping[str, Any]) -> list[str]:
    return [k for k in changes if any(k == r or k.startswith(r + ".") for r in RESTART_ONLY)]


def keep_restart_only(old: Settings, new: Settings) -> Settings:
    """The settings to put in force now: ``new``, except keys that only change at restart."""
    daemon = new.daemon.model_copy(
        update={
            "db_path": old.daemon.db_path,
            "socket_path": old.daemon.socket_path,
            "sqlite_synchronous": old.daemon.sqlite_synchronous,
            "db_max_size_mb": old.daemon.db_max_size_mb,
        }
    )
    notify = new.notify.model_copy(
        update={"urls_env": old.notify.urls_env, "timeout_s": old.notify.timeout_s}
    )
    return new.model_copy(update={"mode": old.mode, "daemon": daemon, "notify": notify})


def secret_env_names(settings: Settings) -> list[str]:
    s = settings.secrets
    names = [s.hyperliquid_private_key_env, s.alpaca_key_id_env, s.alpaca_secret_key_env]
    names += s.extra_env
    names += _model_key_envs(settings)
    return sorted(set(names))


def _model_key_envs(settings: Settings) -> list[str]:
    """Every `*_env` value under any section (LLM providers, per-model accounts, ...)."""
    return [
        v
        for k, v in _walk(settings.model_dump(mode="json"))
        if isinstance(v, str) and k.rsplit(".", 1)[-1].endswith("_env") and v
    ]


def secret_values(settings: Settings) -> list[str]:
    values = [v for n in secret_env_names(settings) if (v := os.environ.get(n))]
    if settings.notify.urls_env:
        # The variable holds several URLs: each URL, and each credential inside one (a
        # Telegram token, a webhook path), may appear on its own in an error text.
        values += secrets_of(os.environ.get(settings.notify.urls_env))
    return values
