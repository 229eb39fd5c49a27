"""The `[tracker]` section of config.toml."""

from __future__ import annotations

from arenad.config.section import Section


class TrackerSettings(Section):
    """Settings of the tracker component."""
