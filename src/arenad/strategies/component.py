"""The strategies component of the daemon: the active-strategy rebalancer and the sweep
service (listed in ``arenad.daemon.context.COMPONENTS``)."""

from __future__ import annotations

from typing import Any

from arenad.strategies import active
from arenad.strategies.service import BatchService


async def setup(ctx: Any) -> None:
    svc = BatchService(
        writer=ctx.writer,
        db_path=ctx.db_path,
        clock=ctx.clock,
        events=ctx.events,
        settings=lambda: ctx.current.strategies,
        publish=ctx.bus.publish,
    )
    ctx.supervisor.add("strategies-batches", svc.run)
    ctx.control.register(
        "strategies.batch",
        svc.cmd_batch,
        "queue a sweep of a saved strategy {strategy_id, prices, variables, "
        "max_runs, workers, start, end, rebalance, capital, fee_bps, "
        "slippage_bps, benchmark}",
    )
    ctx.control.register("strategies.batch_jobs", svc.cmd_jobs, "recent sweeps {limit}")
    await active.setup(ctx)
