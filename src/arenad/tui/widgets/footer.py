"""The footer: the kill switch and help keys first, so no screen width can push them off.

Textual's footer lists the focused widget's keys, then the screen's, then the app's, left to
right, and cuts what does not fit: at 80 columns `k Kill switch` and `? Help` (app keys, so
last) were the first to go. This footer puts the keys in ``FIRST`` ahead of the rest and
turns compact below ``COMPACT_BELOW`` columns.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

FIRST = ("kill", "help")
"""Actions whose keys are always shown, in this order, leftmost."""
COMPACT_BELOW = 120


class ArenadFooter(Footer):
    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        by_action: defaultdict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
        first = [a for a in FIRST if a in by_action]
        order = first + [a for a in by_action if a not in FIRST]
        self.styles.grid_size_columns = len(order)
        for action in order:
            binding, enabled, tooltip = by_action[action][0]
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)

    def on_resize(self, _event: Any) -> None:
        self.compact = self.size.width < COMPACT_BELOW
