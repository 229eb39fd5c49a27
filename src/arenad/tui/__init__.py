"""The operator's terminal UI (`arenad tui`), a client of the control socket.

Only this package imports Textual; the engine never imports it (enforced by import-linter and
``tests/tui/test_import_hygiene.py``). The pure parts — the stream buffer, the view state and
the formatting — have no Textual imports either, so they are tested and benchmarked directly.
"""
