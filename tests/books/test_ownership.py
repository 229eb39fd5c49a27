"""Only the books layer writes the shared book tables (issue #13).

Every string literal in every module of the package (implicit concatenations and f-string
parts joined, as Python sees them) is searched for a write to ``books``, ``equity_snapshots``,
``trade_log`` or ``decision_log``; only ``arenad.books`` may hold one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import arenad
from arenad.books.tables import OWNED_TABLES

SRC = Path(arenad.__file__).parent
WRITE = re.compile(
    r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+"
    rf"({'|'.join(OWNED_TABLES)})\b",
    re.IGNORECASE,
)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if id(node) in parts:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                for v in node.values
            )
            out.append((node.lineno, text))
    return sorted(out)


def writes_outside_layer() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] == "books":
            continue
        for line, text in _strings(ast.parse(path.read_text(), str(path))):
            if m := WRITE.search(" ".join(text.split())):
                found.append(f"{rel}:{line}: {m.group(0)}")
    return found


def test_no_engine_writes_the_book_tables() -> None:
    assert writes_outside_layer() == []


def test_the_check_finds_a_direct_write(tmp_path: Path) -> None:
    """The search itself: a write split over concatenated literals and an f-string is found,
    a read is not."""
    src = (
        'X = ("INSERT OR REPLACE INTO equity_snapshots (book_id) "\n'
        '     "VALUES (?)")\n'
        'Y = f"UPDATE   decision_log SET executed = {1}"\n'
        'Z = "SELECT * FROM trade_log"\n'
        'W = "insert into books (book_id) values (?)"\n'
    )
    hits = [
        m.group(1) for _, t in _strings(ast.parse(src)) if (m := WRITE.search(" ".join(t.split())))
    ]
    assert hits == ["equity_snapshots", "decision_log", "books"]
