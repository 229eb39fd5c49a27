"""`arenad config check` and the loader: every kind of bad file names file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from arenad.cli import main
from arenad.config import loader
from arenad.config.settings import Settings
from conftest import MINIMAL_CONFIG, REPO


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    f = tmp_path / "config.toml"
    f.write_text(text)
    rc = main(["config", "check", str(f)])
    out = capsys.readouterr()
    return rc, out.err + out.out


def test_shipped_config_is_valid_and_offline() -> None:
    loaded = loader.load_settings(REPO / "config.toml")
    assert loaded.settings.mode == "simulation"


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("[daemon\nlog_level = 'info'\n", ":1:8:", "invalid TOML"),
        ("[daemon]\nwriter_queue_size = 'many'\n", "daemon.writer_queue_size", "valid integer"),
        ("[daemon]\nlog_levle = 'info'\n", "daemon.log_levle", "unknown key"),
        (
            "[daemon]\nwriter_batch_size = 0\n",
            "daemon.writer_batch_size",
            "greater than or equal to 1",
        ),
        ("[daemon]\nlog_level = 'loud'\n", "daemon.log_level", "'loud'"),
        ("[fade]\nprivate_key = 'abc'\n", "fade.private_key", "secrets may not be stored"),
        ("[secrets]\nhl = '0x" + "ab" * 32 + "'\n", "secrets.hl", "secrets may not be stored"),
        ("mode = 'paper'\n", "mode", "'simulation' or 'live'"),
    ],
)
def test_bad_files_exit_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str, reason: str
) -> None:
    rc, out = check(tmp_path, text, capsys)
    assert rc == 2
    line = next(ln for ln in out.splitlines() if key in ln)
    assert str(tmp_path / "config.toml") in line
    assert reason in line


def test_every_problem_gets_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = check(tmp_path, "[daemon]\nlog_level='x'\nwriter_batch_size=0\nnope=1\n", capsys)
    assert rc == 2
    assert len(out.strip().splitlines()) == 3


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(tmp_path / "absent.toml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_environment_overrides_and_is_named_when_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "config.toml"
    f.write_text(MINIMAL_CONFIG)
    monkeypatch.setenv("ARENAD_DAEMON__WRITER_BATCH_SIZE", "77")
    assert loader.load_settings(f).settings.daemon.writer_batch_size == 77
    monkeypatch.setenv("ARENAD_DAEMON__LOG_LEVEL", "shouty")
    assert main(["config", "check", str(f)]) == 2
    assert "environment ARENAD_DAEMON__LOG_LEVEL: daemon.log_level" in capsys.readouterr().err


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    f = tmp_path / "sub" / "config.toml"
    f.parent.mkdir()
    f.write_text(MINIMAL_CONFIG)
    s = loader.load_settings(f).settings
    assert s.daemon.db_path == f.parent / "arenad.db"


def test_every_field_is_documented() -> None:
    """A docstring under every field: it is the key's documentation for operators."""
    missing: list[str] = []

    def walk(model: type, prefix: str) -> None:
        for name, info in model.model_fields.items():  # type: ignore[attr-defined]
            key = f"{prefix}{name}"
            if not info.description:
                missing.append(key)
            ann = info.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                walk(ann, key + ".")

    walk(Settings, "")
    assert missing == []


def test_diff_and_restart_only_keys(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text(MINIMAL_CONFIG)
    old = loader.load_settings(f).settings
    f.write_text(
        MINIMAL_CONFIG.replace('log_level = "info"', 'log_level = "debug"').replace(
            'db_path = "arenad.db"', 'db_path = "other.db"\ndb_max_size_mb = 100'
        )
    )
    new = loader.load_settings(f).settings
    changes = loader.diff(old, new)
    assert changes["daemon.log_level"] == {"old": "info", "new": "debug"}
    assert loader.restart_only_changes(changes) == ["daemon.db_max_size_mb", "daemon.db_path"]
    kept = loader.keep_restart_only(old, new)
    assert kept.daemon.db_path == old.daemon.db_path and kept.daemon.log_level == "debug"
    assert kept.daemon.db_max_size_mb is None  # the writer's page cap is set at start-up


# --- hot-reload accidents and pasted secrets (issue #14) ------------------------------------

BOTS_AND_MODELS = (
    MINIMAL_CONFIG
    + """
[[fade.bots]]
id = "a"
wallet = "0x1111111111111111111111111111111111111111"

[[arena.models]]
id = "m"
[arena.models.baseline]
kind = "buy_and_hold"
"""
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", ""),
        ("# only a comment\n\n", ""),
        (MINIMAL_CONFIG + '\n[[arena.models]]\nid = "m"\n[arena.models.baseline]\n', "fade.bots"),
        (
            MINIMAL_CONFIG
            + '\n[[fade.bots]]\nid = "a"\nwallet = "0x1111111111111111111111111111111111111111"\n',
            "arena.models",
        ),
    ],
)
def test_accidental_edits_are_named(tmp_path: Path, text: str, key: str) -> None:
    f = tmp_path / "config.toml"
    f.write_text(BOTS_AND_MODELS)
    old = loader.load_settings(f).settings
    f.write_text(text)
    problems = loader.accidental_edit(old, loader.load_settings(f))
    assert problems and all(str(f.resolve()) in str(p) for p in problems)
    assert any(p.key == key for p in problems)


@pytest.mark.parametrize(
    "text",
    [
        MINIMAL_CONFIG + "[fade]\nenabled = false\n[arena]\nenabled = false\n",
        BOTS_AND_MODELS.replace('id = "a"', 'id = "b"'),  # one bot replaced by another
    ],
)
def test_deliberate_edits_are_not_accidents(tmp_path: Path, text: str) -> None:
    f = tmp_path / "config.toml"
    f.write_text(BOTS_AND_MODELS)
    old = loader.load_settings(f).settings
    f.write_text(text)
    assert loader.accidental_edit(old, loader.load_settings(f)) == []


def test_an_empty_file_that_changes_nothing_is_no_accident(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text("")
    old = loader.load_settings(f).settings
    assert loader.accidental_edit(old, loader.load_settings(f)) == []


PASTED = [
    "0x" + "ab" * 32,  # a Hyperliquid private key
    "AB" * 32,  # the same without 0x, upper case: a valid-looking variable name
    "sk-proj-Abc123def456Ghi789jkl012",  # an OpenAI key
    "PKQ2W3E4R5T6Y7U8I9O0",  # an Alpaca key id: upper case letters and digits
]


@pytest.mark.parametrize("value", PASTED)
@pytest.mark.parametrize(
    "where",
    [
        "[secrets]\nhyperliquid_private_key_env = {v!r}\n",
        "[secrets]\nextra_env = [{v!r}]\n",
        '[[arena.models]]\nid = "m"\nprovider = "openai_compatible"\nmodel = "x"\n'
        "api_key_env = {v!r}\n",
        '[[arena.models]]\nid = "m"\n[arena.models.baseline]\n'
        "alpaca_key_id_env = {v!r}\nalpaca_secret_key_env = {v!r}\n",
    ],
)
def test_a_key_pasted_into_an_env_setting_is_rejected_without_echo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, where: str
) -> None:
    text = where.replace("{v!r}", '"' + value + '"')
    if "baseline" in where:  # the table [arena.models.baseline] must come last
        text = text.replace("[arena.models.baseline]\n", "") + "[arena.models.baseline]\n"
    rc, out = check(tmp_path, text, capsys)
    assert rc == 2
    assert "looks like a secret" in out and f"{len(value)} characters" in out
    assert value not in out and value[2:12] not in out


@pytest.mark.parametrize("value", ["lower_case", "1STARTS_WITH_DIGIT", "HAS SPACE", "A-B"])
def test_env_settings_must_be_variable_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    rc, out = check(tmp_path, f'[secrets]\nalpaca_key_id_env = "{value}"\n', capsys)
    assert rc == 2 and "secrets.alpaca_key_id_env" in out
    assert "not an environment variable name" in out and value not in out


def test_a_secret_in_another_key_is_not_echoed_either(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "0x" + "cd" * 32
    rc, out = check(tmp_path, f'[[fade.bots]]\nid = "a"\nwallet = "{key}"\n', capsys)
    assert rc == 2 and "fade.bots[0].wallet" in out and key not in out


def test_an_api_key_in_any_setting_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "sk-ant-api03-" + "Zx9" * 10
    text = f'[[arena.models]]\nid = "m"\nprovider = "anthropic"\nmodel = "{key}"\n'
    rc, out = check(tmp_path, text, capsys)
    assert rc == 2 and "arena.models[0].model: secrets may not be stored" in out
    assert key not in out
