"""The `[sim]` section of config.toml."""

from __future__ import annotations

from arenad.config.section import Section


class SimSettings(Section):
    """Settings of the sim component."""
