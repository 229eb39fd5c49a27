"""Batch sweeps: one strategy template, every combination of its variables, one backtest each.

Planning happens in the caller's process and checks everything before any CPU is spent:
each assignment is substituted and validated (a bad value is reported with its run and
element path), and one common span is resolved for all runs — the union of their symbols and
the deepest lookback — so every run is measured over the same days and runs stay comparable.

Runs execute in a ``ProcessPoolExecutor`` (backtests are CPU-bound; threads would share one
GIL). Workers are started with ``spawn``: the daemon has threads (aiosqlite, to_thread), and
forking a threaded process can copy a held lock into the child. The price matrix travels once
per worker through the pool initializer, not once per run. Runs are sent in contiguous chunks
to keep IPC per run small; results are put back in run order, so a sweep's output does not
depend on the worker count or on which worker finished first.

From the daemon, :func:`run_batch_async` awaits chunks through ``loop.run_in_executor`` so the
event loop keeps serving while a sweep runs.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import ValidationError

from arenad.errors import OperationalError
from arenad.strategies.definition import (
    Problem,
    Root,
    StrategyError,
    VariableSpec,
    compile_root,
    variable_refs,
)
from arenad.strategies.engine import BacktestConfig, Span, resolve_span, simulate
from arenad.strategies.prices import PriceTable

log = structlog.get_logger("arenad.strategies")

Progress = Callable[[int, int], None]
"""Called with (completed, total) after each chunk of runs finishes."""

PREVIEW = 25  # seed: batch_jobs.assignments_preview holds the first 25


@dataclass(frozen=True, slots=True)
class BatchPlan:
    template: dict[str, Any]
    variables: tuple[VariableSpec, ...]
    assignments: tuple[dict[str, str], ...]
    combinations: int
    """Size of the full cartesian product (may exceed the runs planned)."""
    truncated: bool
    span: Span
    config: BacktestConfig

    @property
    def total(self) -> int:
        return len(self.assignments)

    def variables_json(self) -> list[dict[str, Any]]:
        """Seed shape: ``[{"name": "ticker", "values": ["SPY", "QQQ"], "count": 2}]``."""
        return [
            {"name": v.name, "values": list(v.values), "count": len(v.values)}
            for v in self.variables
        ]

    def preview(self) -> list[dict[str, str]]:
        return [dict(a) for a in self.assignments[:PREVIEW]]


@dataclass(frozen=True, slots=True)
class RunResult:
    run_index: int
    variables: dict[str, str]
    metrics: dict[str, Any] | None
    error: str | None = None


@dataclass(slots=True)
class BatchResult:
    plan: BatchPlan
    runs: list[RunResult] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.runs if r.error is not None)

    def summary(self) -> dict[str, Any]:
        """Seed shape: best and worst (vars + total_return) and avg_return."""
        ok = [r for r in self.runs if r.metrics and r.metrics.get("total_return") is not None]
        out: dict[str, Any] = {
            "runs": len(self.runs),
            "failed": self.failed,
            "best": None,
            "worst": None,
            "avg_return": None,
        }
        if ok:
            # Ties go to the lower run index: stable and independent of completion order.
            best = max(ok, key=lambda r: (r.metrics["total_return"], -r.run_index))  # type: ignore[index]
            worst = min(ok, key=lambda r: (r.metrics["total_return"], r.run_index))  # type: ignore[index]
            out["best"] = {
                "run_index": best.run_index,
                "vars": best.variables,
                "total_return": best.metrics["total_return"],  # type: ignore[index]
            }
            out["worst"] = {
                "run_index": worst.run_index,
                "vars": worst.variables,
                "total_return": worst.metrics["total_return"],  # type: ignore[index]
            }
            out["avg_return"] = sum(r.metrics["total_return"] for r in ok) / len(ok)  # type: ignore[index]
        return out


# --- planning ---------------------------------------------------------------------------


def parse_var_arg(text: str) -> VariableSpec:
    """``NAME=V1,V2,...`` from the command line."""
    name, sep, values = text.partition("=")
    name = name.strip().lstrip("$")
    if not sep or not name:
        raise StrategyError([Problem(f"--var {text}", "expected NAME=V1,V2,...")])
    vals = [v.strip() for v in values.split(",")]
    if not values.strip() or any(not v for v in vals):
        raise StrategyError([Problem(f"--var {text}", "empty value in the list")])
    try:
        return VariableSpec(name=name, values=vals)
    except ValidationError as e:
        raise StrategyError(
            [Problem(f"--var {text}", "; ".join(err["msg"] for err in e.errors()))]
        ) from e


def plan_batch(
    template: Mapping[str, Any],
    variables: Sequence[VariableSpec],
    prices: PriceTable,
    config: BacktestConfig,
    max_runs: int,
) -> BatchPlan:
    """Every assignment (in cartesian order, first variable slowest), validated, capped."""
    problems: list[Problem] = []
    names = [v.name for v in variables]
    for n in {n for n in names if names.count(n) > 1}:
        problems.append(Problem(f"variables.{n}", "defined twice"))
    refs = variable_refs(template)
    for v in variables:
        if v.name not in refs:
            problems.append(
                Problem(f"variables.{v.name}", f"${v.name} is not used by the strategy")
            )
    for n, paths in refs.items():
        if n not in names:
            problems.append(Problem(paths[0], f"variable ${n} has no values (add --var {n}=...)"))
    if problems:
        raise StrategyError(problems)
    if max_runs < 1:
        raise StrategyError([Problem("max_runs", "must be at least 1")])
    combinations = math.prod(len(v.values) for v in variables)
    product = itertools.product(*[v.values for v in variables])
    assignments = tuple(
        dict(zip(names, combo, strict=True)) for combo in itertools.islice(product, max_runs)
    )
    roots: list[Root] = []
    for i, a in enumerate(assignments):
        try:
            roots.append(compile_root(template, a))
        except StrategyError as e:
            raise StrategyError(e.problems, context=f"run {i} ({_describe(a)})") from e
    symbols = list(dict.fromkeys(s for r in roots for s in r.symbols()))
    lookback = max(r.lookback() for r in roots)
    span = resolve_span(prices, symbols, lookback, config.start, config.end)
    if config.benchmark is not None:
        prices.index_of(config.benchmark)
    return BatchPlan(
        template=dict(template),
        variables=tuple(variables),
        assignments=assignments,
        combinations=combinations,
        truncated=combinations > len(assignments),
        span=span,
        config=config,
    )


def _describe(a: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in a.items()) or "no variables"


# --- running ----------------------------------------------------------------------------

_Task = tuple[int, dict[str, str]]
_State = tuple[dict[str, Any], PriceTable, Span, BacktestConfig]
_STATE: _State | None = None


def _init_worker(
    template: dict[str, Any], prices: PriceTable, span: Span, config: BacktestConfig
) -> None:
    global _STATE
    _STATE = (template, prices, span, config)


def _run_one(state: _State, index: int, assignment: dict[str, str]) -> RunResult:
    template, prices, span, config = state
    try:
        root = compile_root(template, assignment)
        res = simulate(root, prices, span, config)
    except Exception as e:  # a fan-out point: one bad run must not sink the sweep
        log.error("batch run failed", run_index=index, variables=assignment, exc_info=e)
        return RunResult(index, assignment, None, f"{type(e).__name__}: {e}")
    metrics: dict[str, Any] = dict(res.metrics)
    metrics |= {
        "final_equity": float(res.equity[-1]),
        "trades": res.trades,
        "turnover": res.turnover,
        "costs_paid": res.costs_paid,
    }
    return RunResult(index, assignment, metrics)


def _run_chunk(tasks: list[_Task]) -> list[RunResult]:
    assert _STATE is not None, "worker not initialised"
    return [_run_one(_STATE, i, a) for i, a in tasks]


def _chunks(plan: BatchPlan, workers: int) -> list[list[_Task]]:
    tasks = list(enumerate(plan.assignments))
    size = max(1, min(64, math.ceil(len(tasks) / max(1, workers * 8))))
    return [tasks[i : i + size] for i in range(0, len(tasks), size)]


def _pool(plan: BatchPlan, prices: PriceTable, workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(plan.template, prices, plan.span, plan.config),
    )


def run_batch(
    plan: BatchPlan, prices: PriceTable, *, workers: int, progress: Progress | None = None
) -> BatchResult:
    """Run every planned assignment; ``workers=0`` runs in this process (tests, tiny sweeps)."""
    state: _State = (plan.template, prices, plan.span, plan.config)
    result = BatchResult(plan)
    chunks = _chunks(plan, workers)
    done = 0
    if workers == 0:
        for chunk in chunks:
            result.runs.extend(_run_one(state, i, a) for i, a in chunk)
            done += len(chunk)
            if progress:
                progress(done, plan.total)
        return result
    try:
        with _pool(plan, prices, workers) as pool:
            futures: list[Future[list[RunResult]]] = [pool.submit(_run_chunk, c) for c in chunks]
            for fut in as_completed(futures):
                runs = fut.result()
                result.runs.extend(runs)
                done += len(runs)
                if progress:
                    progress(done, plan.total)
    except BrokenProcessPool as e:
        raise OperationalError(f"a sweep worker process died: {e}") from e
    result.runs.sort(key=lambda r: r.run_index)
    return result


async def run_batch_async(
    plan: BatchPlan, prices: PriceTable, *, workers: int, progress: Progress | None = None
) -> BatchResult:
    """:func:`run_batch` for the event loop: chunks are awaited, the loop never blocks."""
    loop = asyncio.get_running_loop()
    result = BatchResult(plan)
    pool = _pool(plan, prices, max(1, workers))
    done = 0
    try:
        pending = [loop.run_in_executor(pool, _run_chunk, c) for c in _chunks(plan, workers)]
        for next_done in asyncio.as_completed(pending):
            runs = await next_done
            result.runs.extend(runs)
            done += len(runs)
            if progress:
                progress(done, plan.total)
    except BrokenProcessPool as e:
        raise OperationalError(f"a sweep worker process died: {e}") from e
    finally:
        # shutdown(wait=True) blocks; do it off the loop. Cancelled sweeps drop queued chunks.
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
    result.runs.sort(key=lambda r: r.run_index)
    return result
