"""The `[arena]` section of config.toml."""

from __future__ import annotations

from arenad.config.section import Section


class ArenaSettings(Section):
    """Settings of the arena component."""
