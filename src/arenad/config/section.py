"""The base every config section derives from.

Unknown keys are errors (a typo must not silently fall back to a default), and the docstring
under each field becomes its description, so ``config check`` and the TUI can explain a key.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)
