"""`make lint` can fail: its format check is not masked, and ruff (with this project's settings)
rejects an unformatted file and a function over the complexity threshold."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).parent / "ruff"


def _lint_recipe() -> list[str]:
    text = (REPO / "Makefile").read_text()
    body = text.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in body.splitlines()[1:] if line.startswith("\t")]


def test_every_lint_step_can_fail() -> None:
    recipe = _lint_recipe()
    assert any("ruff format --check" in step for step in recipe)
    assert any("ruff check" in step for step in recipe)
    assert any("mypy" in step for step in recipe) and any("lint-imports" in step for step in recipe)
    for step in recipe:
        assert not re.search(r"\|\|\s*true|;\s*true\b|-\s*\$\(BIN\)", step), step


def test_ruff_rejects_unformatted_and_too_complex_code(tmp_path: Path) -> None:
    bad = tmp_path / "src" / "bad.py"
    bad.parent.mkdir()
    bad.write_text('x = {  "a":1}\n')
    config = ["--config", str(REPO / "pyproject.toml")]
    fmt = subprocess.run([RUFF, "format", "--check", *config, bad], capture_output=True, text=True)
    assert fmt.returncode == 1 and "bad.py" in fmt.stdout + fmt.stderr
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(14))
    bad.write_text(f"def f(x: int) -> int:\n{branches}    return -1\n")
    check = subprocess.run(
        [RUFF, "check", "--select", "C901", *config, bad], capture_output=True, text=True
    )
    assert check.returncode == 1 and "C901" in check.stdout, check.stdout + check.stderr
