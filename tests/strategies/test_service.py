"""Sweeps queued through the daemon's control command and run by the service task."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from arenad.clock import SystemClock
from arenad.control.protocol import InvalidArgs
from arenad.daemon.events import EventLog
from arenad.store.db import connect_sync
from arenad.strategies import store as db
from arenad.strategies.definition import load_strategy
from arenad.strategies.service import BatchService
from arenad.strategies.settings import StrategiesSettings
from conftest import Store
from fixtures_sim import poll_until

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "strategies"
PRICES = str(EXAMPLES / "prices.csv")


def rows(store: Store, sql: str) -> list[Any]:
    conn = connect_sync(store.path, readonly=True)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


async def test_a_queued_sweep_runs_and_is_recorded(store: Store) -> None:
    sf = load_strategy(EXAMPLES / "momentum_rotation.json")
    sid = await db.save_strategy(store.writer, sf, now=SystemClock().now())
    published: list[dict[str, Any]] = []
    svc = BatchService(
        writer=store.writer,
        db_path=store.path,
        clock=SystemClock(),
        events=EventLog(store.writer),
        settings=lambda: StrategiesSettings(workers=1),
        publish=lambda topic, data: published.append(data),
    )
    runner = asyncio.create_task(svc.run())
    try:
        job = await svc.cmd_batch(
            {
                "strategy_id": sid,
                "prices": PRICES,
                "variables": [
                    {"name": "window", "values": ["21", "63"]},
                    {"name": "n", "values": ["1", "2"]},
                ],
            }
        )
        assert (job["total"], job["truncated"]) == (4, False)
        # The last thing the service does for a sweep is publish its end: wait for that, not
        # for the row (written before it), so nothing below races the service.
        await poll_until(
            lambda: published and published[-1].get("status") == "finished",
            timeout=60,
            what="sweep finished",
        )
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
    (kind, total, completed, summary) = rows(
        store, "SELECT kind, total, completed, summary FROM batch_jobs"
    )[0]
    assert (kind, total, completed) == ("server", 4, 4)
    assert json.loads(summary)["runs"] == 4
    assert rows(store, "SELECT count(*) FROM batch_job_runs")[0][0] == 4
    assert published[-1]["status"] == "finished" and published[-1]["completed"] == 4
    jobs = await svc.cmd_jobs({})
    assert jobs[0]["id"] == job["id"] and jobs[0]["summary"]["runs"] == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"prices": PRICES}, "strategy_id"),
        ({"strategy_id": 1}, "prices"),
        ({"strategy_id": 99, "prices": PRICES}, "no strategy 99"),
        ({"strategy_id": 1, "prices": "/nonexistent.csv"}, "cannot read"),
        (
            {
                "strategy_id": 1,
                "prices": PRICES,
                "variables": [{"name": "n", "values": ["9"]}, {"name": "window", "values": ["5"]}],
            },
            "elements[0].n: is 9 but there are only 5 children",
        ),
        ({"strategy_id": 1, "prices": PRICES, "variables": [{"name": "n"}]}, "variables"),
        ({"strategy_id": 1, "prices": PRICES, "workers": 0}, "workers"),
        ({"strategy_id": 1, "prices": PRICES, "start": "soon"}, "start"),
    ],
)
async def test_bad_requests_are_answered_not_queued(
    store: Store, args: dict[str, Any], message: str
) -> None:
    sf = load_strategy(EXAMPLES / "momentum_rotation.json")
    await db.save_strategy(store.writer, sf, now=SystemClock().now())
    svc = BatchService(
        writer=store.writer,
        db_path=store.path,
        clock=SystemClock(),
        events=EventLog(store.writer),
        settings=StrategiesSettings,
    )
    with pytest.raises(InvalidArgs) as e:
        await svc.cmd_batch(args)
    assert message in str(e.value)
    assert svc.queue.empty()
    assert rows(store, "SELECT count(*) FROM batch_jobs")[0][0] == 0
