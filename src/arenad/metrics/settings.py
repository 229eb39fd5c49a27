"""The `[metrics]` section of config.toml."""

from __future__ import annotations

from arenad.config.section import Section


class MetricsSettings(Section):
    """Settings of the metrics component."""
