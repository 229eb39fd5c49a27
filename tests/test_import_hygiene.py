"""The engine never imports Textual: import every engine module in a fresh interpreter and
look at sys.modules (like harlequin's import-hygiene test). import-linter enforces the same
statically in `make lint`."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import arenad

ENGINE_PREFIXES = ("arenad.tui",)


def engine_modules() -> list[str]:
    names = []
    for m in pkgutil.walk_packages(arenad.__path__, "arenad."):
        if not m.name.startswith(ENGINE_PREFIXES) and not m.name.endswith("__main__"):
            names.append(m.name)
    return names


def test_engine_does_not_import_textual() -> None:
    mods = engine_modules()
    assert "arenad.daemon.app" in mods and "arenad.store.writer" in mods
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "print(','.join(sorted(m for m in sys.modules\n"
        "      if m == 'textual' or m.startswith(('textual.', 'arenad.tui')))))\n"
        # the CLI registers `arenad tui` by importing arenad.tui.cli, which must import
        # Textual only when the command runs
        "import arenad.cli; arenad.cli.build_parser()\n"
        "print(','.join(sorted(m for m in sys.modules\n"
        "      if m == 'textual' or m.startswith('textual.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    engine_line, parser_line = out.stdout.split("\n")[:2]
    assert engine_line == "", f"engine modules imported: {engine_line}"
    assert parser_line == "", f"building the CLI parser imported: {parser_line}"
