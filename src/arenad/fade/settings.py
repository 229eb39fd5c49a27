"""The `[fade]` section of config.toml."""

from __future__ import annotations

from arenad.config.section import Section


class FadeSettings(Section):
    """Settings of the fade component."""
