"""Recompute standings, leaderboard snapshots and period summaries from the stored books.

One ``Recomputer`` lives in the daemon (``arenad.metrics.component``) and keeps every book's
arrays in memory between runs; ``arenad leaderboard`` builds one for a single read-only pass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from arenad.metrics.board import PERIODS, TIMEFRAMES, PeriodSummary, Standing, leaderboard
from arenad.metrics.board import period_summaries as summarize
from arenad.metrics.settings import MetricsSettings
from arenad.metrics.store import (
    BookSet,
    downsample,
    previous_ranks,
    write_leaderboard_snapshot,
    write_standings,
    write_summaries,
)
from arenad.store.db import open_reader, utc_iso

Transaction = Callable[[Callable[[aiosqlite.Connection], Awaitable[Any]]], Awaitable[Any]]


@dataclass
class RecomputeResult:
    boards: dict[str, list[Standing]]
    changed: set[str]
    summaries: int = 0
    snapshot: bool = False
    downsampled: int = 0
    at: str = ""


class Recomputer:
    def __init__(self, db_path: Path, settings: MetricsSettings) -> None:
        self.db_path = db_path
        self.settings = settings
        self.books = BookSet()
        self.boards: dict[str, list[Standing]] = {}
        self._reload = True

    def request_reload(self) -> None:
        """Read every book again on the next run (a writer back-filled old rows)."""
        self._reload = True

    async def refresh(self) -> set[str]:
        async with open_reader(self.db_path) as conn:
            if self._reload:
                self._reload = False
                return await self.books.load(conn)
            return await self.books.refresh(conn)

    async def previous(self, now: datetime) -> dict[str, dict[str, int]]:
        async with open_reader(self.db_path) as conn:
            return {tf: await previous_ranks(conn, tf, utc_iso(now)) for tf in TIMEFRAMES}

    def compute(
        self, now: datetime, previous: dict[str, dict[str, int]] | None = None
    ) -> dict[str, list[Standing]]:
        st = self.settings
        at = now.timestamp()
        books = self.books.values()
        self.boards = {
            tf: leaderboard(
                books,
                tf,
                at,
                previous=(previous or {}).get(tf),
                risk_free=st.risk_free_rate,
                min_points=st.min_points,
                min_trades=st.min_trades,
            )
            for tf in TIMEFRAMES
        }
        return self.boards

    def summaries(self, changed: set[str]) -> list[PeriodSummary]:
        out: list[PeriodSummary] = []
        for book_id in sorted(changed):
            bd = self.books.books.get(book_id)
            if bd is None:
                continue
            since = self.books.changed_since.get(book_id)
            for period in PERIODS:
                out += summarize(bd, period, since)
        return out

    async def run(
        self,
        transaction: Transaction,
        now: datetime,
        *,
        snapshot: bool = False,
        retention: bool = False,
    ) -> RecomputeResult:
        """Refresh, rank, and write standings (+ the leaderboard snapshot and retention when
        asked) in one transaction."""
        changed = await self.refresh()
        prev = await self.previous(now)
        boards = self.compute(now, prev)
        sums = self.summaries(changed)
        at = utc_iso(now)
        full_res = timedelta(days=self.settings.full_resolution_days)
        result = RecomputeResult(boards, changed, len(sums), snapshot, 0, at)
        consumed = self.books.equity_seq

        async def fn(conn: aiosqlite.Connection) -> None:
            # Journal rows up to the seq read are in memory now: drop them.
            await conn.execute("DELETE FROM equity_writes WHERE seq <= ?", (consumed,))
            await write_standings(conn, boards["all_time"], at)
            await write_summaries(conn, sums, at)
            if snapshot:
                for tf, board in boards.items():
                    await write_leaderboard_snapshot(conn, tf, board, at)
            if retention:
                result.downsampled = await downsample(conn, now - full_res)

        await transaction(fn)
        return result


async def board_once(
    db_path: Path, settings: MetricsSettings, now: datetime, timeframe: str
) -> list[Standing]:
    """One read-only pass: the board of ``timeframe`` now, with rank changes against the
    newest stored ranking (``arenad leaderboard``)."""
    rc = Recomputer(db_path, settings)
    await rc.refresh()
    async with open_reader(db_path) as conn:
        prev = await previous_ranks(conn, timeframe, utc_iso(now))
    return leaderboard(
        rc.books.values(),
        timeframe,
        now.timestamp(),
        previous=prev,
        risk_free=settings.risk_free_rate,
        min_points=settings.min_points,
        min_trades=settings.min_trades,
    )
