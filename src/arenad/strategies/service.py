"""Sweeps run by the daemon (seed ``batch_jobs.kind = 'server'``), one at a time, off the loop.

A control request (``strategies.batch``) is validated and planned at once — a bad strategy,
variable or price file is answered with the reason, not queued — then recorded as a
``queued`` job and handed to one supervisor task that runs jobs in order. Each sweep runs in
the process pool through ``run_in_executor`` (:func:`run_batch_async`), so the event loop —
and with it trading — keeps going; progress goes to ``batch_jobs`` and the bus
(``strategies.batch``). One job at a time because a sweep already uses every core it is
given; a queue of them would only fight for the same ones.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from arenad.clock import Clock
from arenad.control.protocol import InvalidArgs
from arenad.daemon.events import EventLog
from arenad.store.db import open_reader, utc_iso
from arenad.store.writer import StoreWriter
from arenad.strategies import store
from arenad.strategies.batch import BatchPlan, plan_batch, run_batch_async
from arenad.strategies.definition import StrategyError, VariableSpec
from arenad.strategies.engine import BacktestConfig
from arenad.strategies.prices import PriceError, PriceTable, load_prices_csv
from arenad.strategies.settings import StrategiesSettings


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    plan: BatchPlan
    prices: PriceTable
    workers: int


class BatchService:
    def __init__(
        self,
        *,
        writer: StoreWriter,
        db_path: Path,
        clock: Clock,
        events: EventLog,
        settings: Callable[[], StrategiesSettings],
        publish: Callable[[str, dict[str, Any]], None] | None = None,
        queue_size: int = 16,
    ) -> None:
        self.writer = writer
        self.db_path = db_path
        self.clock = clock
        self.events = events
        self.settings = settings
        self.publish = publish or (lambda topic, data: None)
        self.queue: asyncio.Queue[Job] = asyncio.Queue(queue_size)

    async def run(self) -> None:
        """The supervisor task: run queued jobs in order."""
        while True:
            job = await self.queue.get()
            try:
                await self.execute(job)
            finally:
                self.queue.task_done()

    async def execute(self, job: Job) -> None:
        await self.writer.execute(
            "UPDATE batch_jobs SET status = 'running', updated_at = ? WHERE id = ?",
            (utc_iso(self.clock.now()), job.id),
        )
        pending: list[asyncio.Task[None]] = []

        def progress(done: int, total: int) -> None:
            pending.append(
                asyncio.ensure_future(
                    store.update_batch_progress(self.writer, job.id, done, now=self.clock.now())
                )
            )
            self.publish("strategies.batch", {"id": job.id, "completed": done, "total": total})

        try:
            result = await run_batch_async(
                job.plan, job.prices, workers=job.workers, progress=progress
            )
        except asyncio.CancelledError:
            await self.writer.submit(  # best effort: the daemon is stopping
                "UPDATE batch_jobs SET status = 'failed', error = ?, completed_at = ? WHERE id = ?",
                ("cancelled: the daemon stopped", utc_iso(self.clock.now()), job.id),
            )
            raise
        except Exception as e:  # one failing sweep must not stop the service
            await store.fail_batch_job(
                self.writer, job.id, f"{type(e).__name__}: {e}", now=self.clock.now()
            )
            await self.events.emit(
                "error", "system", f"sweep {job.id} failed: {e}", {"batch_job_id": job.id}
            )
            return
        await asyncio.gather(*pending)
        await store.finish_batch_job(self.writer, job.id, result, now=self.clock.now())
        summary = result.summary()
        await self.events.emit(
            "info",
            "system",
            f"sweep {job.id} finished: {len(result.runs)} runs",
            {"batch_job_id": job.id, "summary": summary},
        )
        self.publish(
            "strategies.batch",
            {
                "id": job.id,
                "completed": len(result.runs),
                "total": job.plan.total,
                "status": "finished",
                "summary": summary,
            },
        )

    # --- control commands ------------------------------------------------------------------

    async def cmd_batch(self, args: dict[str, Any]) -> dict[str, Any]:
        """Plan now (errors answer the request), queue the run, return the job id."""
        s = self.settings()
        sid = args.get("strategy_id")
        if not isinstance(sid, int) or isinstance(sid, bool):
            raise InvalidArgs("strategy_id: a saved strategy's id (an integer)")
        raw_prices = args.get("prices")
        if not isinstance(raw_prices, str) or not raw_prices:
            raise InvalidArgs("prices: path of a price CSV on the daemon's host")
        try:
            variables = [VariableSpec.model_validate(v) for v in args.get("variables") or []]
        except ValueError as e:
            raise InvalidArgs(f"variables: {e}") from e
        max_runs = args.get("max_runs", s.max_runs)
        workers = args.get("workers", s.workers)
        for name, v in (("max_runs", max_runs), ("workers", workers)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise InvalidArgs(f"{name}: a positive integer")
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT name, elements, weighting, benchmark_symbol, start_date, end_date, "
                "rebalance FROM strategies WHERE id = ?",
                (sid,),
            )
            row = await cur.fetchone()
        if row is None:
            raise InvalidArgs(f"no strategy {sid}")
        template: dict[str, Any] = {"elements": json.loads(row["elements"])}
        if row["weighting"]:
            template["weighting"] = json.loads(row["weighting"])
        try:
            prices = await asyncio.to_thread(load_prices_csv, Path(raw_prices))
            config = BacktestConfig(
                start=_date(args.get("start") or row["start_date"], "start"),
                end=_date(args.get("end") or row["end_date"], "end"),
                rebalance=args.get("rebalance") or row["rebalance"] or s.rebalance,
                initial_capital=float(args.get("capital", s.initial_capital)),
                fee_bps=float(args.get("fee_bps", s.fee_bps)),
                slippage_bps=float(args.get("slippage_bps", s.slippage_bps)),
                benchmark=_benchmark(args.get("benchmark") or row["benchmark_symbol"], s, prices),
            )
            plan = await asyncio.to_thread(
                plan_batch, template, variables, prices, config, max_runs
            )
        except (StrategyError, PriceError, ValueError, TypeError) as e:
            raise InvalidArgs(str(e)) from e
        now = self.clock.now()
        job_id = store.new_batch_id(now)
        await store.create_batch_job(
            self.writer,
            plan,
            job_id=job_id,
            name=row["name"],
            strategy_id=sid,
            kind="server",
            workers=workers,
            now=now,
        )
        await self.writer.execute("UPDATE batch_jobs SET status = 'queued' WHERE id = ?", (job_id,))
        try:
            self.queue.put_nowait(Job(job_id, plan, prices, workers))
        except asyncio.QueueFull:
            await store.fail_batch_job(self.writer, job_id, "queue full", now=now)
            raise InvalidArgs(
                f"{self.queue.maxsize} sweeps are already queued; try later"
            ) from None
        return {
            "id": job_id,
            "total": plan.total,
            "combinations": plan.combinations,
            "truncated": plan.truncated,
            "queued": self.queue.qsize(),
        }

    async def cmd_jobs(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        limit = args.get("limit", 20)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise InvalidArgs("limit: 1..1000")
        async with open_reader(self.db_path) as conn:
            cur = await conn.execute(
                "SELECT id, name, kind, status, total, completed, truncated, created_at, "
                "completed_at, error, summary FROM batch_jobs ORDER BY created_at DESC, id "
                "LIMIT ?",
                (limit,),
            )
            rows = await cur.fetchall()
        return [
            dict(r) | {"summary": json.loads(r["summary"]) if r["summary"] else None} for r in rows
        ]


def _date(value: Any, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidArgs(f"{name}: a date (YYYY-MM-DD), got {value!r}") from None


def _benchmark(value: Any, s: StrategiesSettings, prices: PriceTable) -> str | None:
    if value:
        sym = str(value).upper()
        prices.index_of(sym)
        return sym
    default = s.benchmark_symbol.upper()
    return default if default in prices.symbols else None
