"""Fixtures shared by every area's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from arenad.store.migrate import migrate
from arenad.store.writer import StoreWriter

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Store:
    path: Path
    writer: StoreWriter


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh migrated database with a running writer (closed, and so drained, after)."""
    path = tmp_path / "arenad.db"
    await migrate(path)
    writer = StoreWriter(path, synchronous="normal")
    await writer.start()
    try:
        yield Store(path, writer)
    finally:
        await writer.close()
