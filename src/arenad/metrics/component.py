"""The metrics component of the daemon: recomputes standings and summaries on a timer and when
an engine reports a closed trade (bus topic ``metrics.dirty``), stores a ranking of each
timeframe every ``leaderboard_snapshot_interval_s``, thins old equity snapshots, and serves the
book-wide queries of docs/control-protocol.md: ``leaderboard``, ``equity``, ``trades``,
``decision_comparison``, and ``positions``/``orders`` (gathered from the engines'
``<kind>.positions``/``<kind>.orders``)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import structlog

from arenad.control.protocol import InvalidArgs
from arenad.metrics import queries
from arenad.metrics.audit import audit_path
from arenad.metrics.board import TIMEFRAMES
from arenad.metrics.recompute import Recomputer
from arenad.metrics.settings import MetricsSettings
from arenad.store.db import open_reader

if TYPE_CHECKING:
    from arenad.daemon.context import DaemonContext

log = structlog.get_logger(__name__)
# Engines that serve `<engine>.positions`/`<engine>.orders`, and the prefix of their books.
ENGINE_BOOKS = {"fade": "fade:", "arena": "arena:", "strategies": "strategy:"}
DIRTY_MIN_GAP_S = 5.0


def _int(args: dict[str, Any], key: str, default: int, hi: int = 100_000) -> int:
    v = args.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
        raise InvalidArgs(f"{key} must be an integer from 1 to {hi}")
    return v


def _str(args: dict[str, Any], key: str) -> str | None:
    v = args.get(key)
    if v is not None and not isinstance(v, str):
        raise InvalidArgs(f"{key} must be a string")
    return v or None


class MetricsComponent:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.rc = Recomputer(ctx.db_path, self.settings)
        self.dirty = asyncio.Event()
        self.last_snapshot: float | None = None
        """Monotonic time of the last stored ranking (None: none stored since start-up)."""
        self.lock = asyncio.Lock()

    @property
    def settings(self) -> MetricsSettings:
        return self.ctx.current.metrics

    async def start(self) -> None:
        c = self.ctx.control
        c.register(
            "leaderboard",
            self.cmd_leaderboard,
            "standings of every book {timeframe=all_time, kind?}",
        )
        c.register(
            "equity",
            self.cmd_equity,
            "equity series {series?=[fade_aggregate, bots_aggregate], since?, limit=2000}",
        )
        c.register(
            "trades", self.cmd_trades, "round trips, newest first {book_id?, symbol?, limit}"
        )
        c.register(
            "decision_comparison",
            self.cmd_comparison,
            "decisions of different books on one symbol close in time "
            "{symbol?, window_s=300, limit=50}",
        )
        c.register(
            "positions", self.cmd_positions, "open positions of every book {book_id?, kind?}"
        )
        c.register("orders", self.cmd_orders, "orders of every engine {book_id?, symbol?, limit}")
        c.register("metrics.recompute", self.cmd_recompute, "recompute standings now")
        c.register(
            "books.audit",
            self.cmd_audit,
            "check the books' invariants on the database {} -> {ok, checks, failures}",
        )
        c.register(
            "leaderboard.snapshot",
            self.cmd_snapshot,
            "recompute and store the ranking of every timeframe now (leaderboard_snapshots)",
        )
        self.ctx.supervisor.add("metrics-recompute", self.loop)
        self.ctx.supervisor.add("metrics-dirty", self.listen)

    async def listen(self) -> None:
        sub = self.ctx.bus.subscribe(frozenset({"metrics.dirty"}), maxsize=100)
        try:
            while True:
                msg = await sub.get()
                if msg.data.get("reload"):
                    self.rc.request_reload()
                self.dirty.set()
        finally:
            sub.close()

    async def loop(self) -> None:
        while True:
            started = self.ctx.clock.monotonic()
            await self.recompute()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.recompute_interval_s):
                    await self.dirty.wait()
            # A burst of closed trades asks for many recomputes: at most one per few seconds,
            # so the leaderboard's writes do not queue in front of the trading loops' orders.
            gap = min(DIRTY_MIN_GAP_S, self.settings.recompute_interval_s)
            await self.ctx.clock.sleep(max(0.0, gap - (self.ctx.clock.monotonic() - started)))
            self.dirty.clear()

    async def recompute(self, *, force_snapshot: bool = False) -> dict[str, Any]:
        """Recompute; store the rankings (and thin old snapshots) at the first recompute that
        has books, every ``leaderboard_snapshot_interval_s`` after, and when asked."""
        async with self.lock:
            self.rc.settings = self.settings
            clock = self.ctx.clock
            mono = clock.monotonic()
            snapshot = (
                force_snapshot
                or self.last_snapshot is None
                or mono - self.last_snapshot >= self.settings.leaderboard_snapshot_interval_s
            )
            result = await self.rc.run(
                self.ctx.writer.transaction, clock.now(), snapshot=snapshot, retention=snapshot
            )
            # A ranking of no books stores nothing: the first one that holds a book counts.
            if snapshot and any(result.boards.values()):
                self.last_snapshot = mono
            if result.changed:
                self.ctx.bus.publish(
                    "leaderboard", {"timeframe": "all_time", "changed": sorted(result.changed)[:50]}
                )
            return {
                "at": result.at,
                "books": len(self.rc.books.books),
                "changed": len(result.changed),
                "summaries": result.summaries,
                "snapshot": result.snapshot,
                "downsampled": result.downsampled,
            }

    # --- commands --------------------------------------------------------------------------

    async def cmd_recompute(self, _args: dict[str, Any]) -> dict[str, Any]:
        return await self.recompute()

    async def cmd_audit(self, _args: dict[str, Any]) -> dict[str, Any]:
        st = self.settings
        report = await asyncio.to_thread(
            audit_path, self.ctx.db_path, min_points=st.min_points, min_trades=st.min_trades
        )
        return report.as_dict()

    async def cmd_snapshot(self, _args: dict[str, Any]) -> dict[str, Any]:
        out = await self.recompute(force_snapshot=True)
        out["rows"] = {tf: len(b) for tf, b in self.rc.boards.items()}
        return out

    async def cmd_leaderboard(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        tf = args.get("timeframe", "all_time")
        if tf not in TIMEFRAMES:
            raise InvalidArgs(f"timeframe must be one of {', '.join(TIMEFRAMES)}")
        kind = _str(args, "kind")
        if not self.rc.boards:
            await self.recompute()
        # Ranks are on the whole board; ``kind`` only filters the rows shown.
        return [
            queries.standing_wire(s)
            for s in self.rc.boards.get(tf, [])
            if not kind or s.kind == kind
        ]

    async def cmd_equity(self, args: dict[str, Any]) -> dict[str, Any]:
        series = args.get("series", ["fade_aggregate", "bots_aggregate"])
        if (
            not isinstance(series, list)
            or not all(isinstance(s, str) for s in series)
            or not 1 <= len(series) <= 50
        ):
            raise InvalidArgs("series must be a list of 1 to 50 names")
        since = _str(args, "since")
        limit = _int(args, "limit", 2000, 100_000)
        async with open_reader(self.ctx.db_path) as conn:
            return {
                "series": {s: await queries.equity_series(conn, s, since, limit) for s in series}
            }

    async def cmd_trades(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        limit = _int(args, "limit", 200, 10_000)
        async with open_reader(self.ctx.db_path) as conn:
            return await queries.round_trips(
                conn, _str(args, "book_id"), _str(args, "symbol"), limit
            )

    async def cmd_comparison(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        w = args.get("window_s", 300)
        if isinstance(w, bool) or not isinstance(w, int | float) or not 0 < w <= 86_400:
            raise InvalidArgs("window_s must be a number of seconds from 0 to 86400")
        limit = _int(args, "limit", 50, 1000)
        async with open_reader(self.ctx.db_path) as conn:
            return await queries.decision_comparison(conn, _str(args, "symbol"), float(w), limit)

    async def _gather(self, suffix: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        book_id = _str(args, "book_id")
        kind = _str(args, "kind")
        out: list[dict[str, Any]] = []
        for engine, prefix in ENGINE_BOOKS.items():
            if book_id and not book_id.startswith(prefix):
                continue
            handler = self.ctx.control.handler(f"{engine}.{suffix}")
            if handler is None:
                continue
            try:
                rows = await handler(dict(args))
            except InvalidArgs:
                raise
            except Exception as e:  # one engine's failure must not hide the others' rows
                log.warning(
                    "metrics: engine query failed", engine=engine, cmd=suffix, error=repr(e)
                )
                continue
            if isinstance(rows, list):
                out += [
                    r for r in rows if isinstance(r, dict) and (not kind or r.get("kind") == kind)
                ]
        return out

    async def cmd_positions(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return await self._gather("positions", args)

    async def cmd_orders(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        _int(args, "limit", 200, 10_000)
        rows = await self._gather("orders", args)
        rows.sort(key=lambda r: str(r.get("ts", "")), reverse=True)
        return rows[: args.get("limit", 200)]


async def setup(ctx: DaemonContext) -> None:
    await MetricsComponent(ctx).start()
