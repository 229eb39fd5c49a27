"""TUI under a live-event burst: 1,000 events/s for 10 s into the real app (headless, 160×48),
measuring key-press-to-render latency and memory, against the same app idle in the same run.

The stream is a realistic mix (equity ticks, position updates over 20 books×symbols, system
events, decisions, orders, a status every second) fed through a fake client, so the numbers
are the TUI's own cost: link worker → coalescing buffer → one drain per frame → screens.

"Render" is the moment the compositor hands a frame to the driver (``App._display``) after the
key's effect is visible in the widget tree. Two keys are timed: a screen switch (pure UI) and
the kill switch (a command round trip to the fake daemon, then the red header).

    .venv/bin/python -m bench.tui_stream [--rate 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from textual import events

from arenad.clock import FakeClock
from arenad.control.client import ControlError
from arenad.tui.app import ArenadApp
from arenad.tui.screens.dashboard import DashboardScreen
from arenad.tui.screens.events import EventsScreen
from arenad.tui.widgets.status_header import StatusHeader

TS = "2025-01-02T14:30:00.000000Z"
STATUS: dict[str, Any] = {
    "version": "bench",
    "pid": 1,
    "mode": "simulation",
    "network": "simulator",
    "uptime_s": 0.0,
    "trading_state": "ACTIVE",
    "kill_switch": {
        "engaged": False,
        "by": None,
        "reason": None,
        "activated_at": None,
        "deactivated_at": None,
    },
    "daily_pnl": 0.0,
    "daily_loss_limit_usd": None,
    "connections": {},
    "tasks": {},
}
SYMBOLS = ["BTC", "ETH", "SOL", "XRP", "DOGE"]
BOOKS = ["fade:a", "fade:b", "fade:c", "fade:d"]


class BenchClient:
    """Answers the snapshot, kill and resume; streams whatever the producer queues."""

    dropped_events = 0
    socket_path = Path("/bench.sock")

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.status = dict(STATUS)

    async def connect(self, timeout: float = 5.0) -> BenchClient:
        return self

    async def close(self) -> None:
        return None

    async def subscribe(self, topics: list[str] | None = None) -> None:
        return None

    async def request(self, cmd: str, timeout: float = 30.0, **args: Any) -> Any:
        if cmd == "status":
            return self.status
        if cmd == "events":
            return []
        if cmd == "positions":
            return []
        if cmd == "equity":
            return {"series": {"fade_aggregate": [], "bots_aggregate": []}}
        if cmd in ("kill", "resume"):
            engaged = cmd == "kill"
            self.status = {
                **self.status,
                "trading_state": "HALTED" if engaged else "ACTIVE",
                "kill_switch": {
                    **self.status["kill_switch"],
                    "engaged": engaged,
                    "by": "operator",
                    "reason": "bench",
                },
            }
            return self.status
        raise ControlError("unknown_command", cmd)

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.queue.get()


class BenchApp(ArenadApp):
    def __init__(self, client: BenchClient) -> None:
        super().__init__(lambda: client, clock=FakeClock(), refresh_s=None)
        self.probe: Any = None
        self.rendered_at: float | None = None

    def _display(self, screen: Any, renderable: Any) -> None:
        # The first frame handed to the driver once the key's effect is in the widget tree.
        if renderable is not None and self.probe is not None and self.probe():
            self.rendered_at = time.perf_counter()
            self.probe = None
        super()._display(screen, renderable)


def event(i: int, now: float) -> dict[str, Any]:
    k = i % 10
    if k < 4:
        return {
            "event": "equity",
            "ts": TS,
            "data": {
                "ts": TS,
                "series": {
                    "fade_aggregate": 10_000 + (i % 997),
                    "bots_aggregate": 10_000 - (i % 991),
                },
            },
        }
    if k < 7:
        return {
            "event": "position",
            "ts": TS,
            "data": {
                "book_id": BOOKS[i % 4],
                "symbol": SYMBOLS[i % 5],
                "size": str(1 + i % 7),
                "entry_price": "100.5",
                "mark_price": str(100 + i % 13),
                "notional": 1000.0,
                "unrealized_pnl": float(i % 50 - 25),
            },
        }
    if k < 9:
        return {
            "event": "system_event",
            "ts": TS,
            "data": {
                "ts": TS,
                "level": "info",
                "category": "ingest",
                "message": f"fill {i}",
                "details": {"i": i},
            },
        }
    return {
        "event": "order",
        "ts": TS,
        "data": {"ts": TS, "book_id": BOOKS[i % 4], "symbol": "BTC", "status": "filled"},
    }


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def produce(client: BenchClient, rate: int, seconds: float, sent: list[int]) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    i = 0
    next_status = 0.0
    while (elapsed := loop.time() - start) < seconds:
        due = int(elapsed * rate)
        while i < due:
            client.queue.put_nowait(event(i, elapsed))
            i += 1
        if elapsed >= next_status:
            client.queue.put_nowait(
                {"event": "status", "ts": TS, "data": {**client.status, "uptime_s": elapsed}}
            )
            next_status += 1.0
        await asyncio.sleep(0.005)
    sent[0] = i


async def key_latency(pilot: Any, app: BenchApp, key: str, done: Any) -> float:
    app.rendered_at, app.probe = None, done
    t0 = time.perf_counter()
    # What a terminal driver does with a key press (pilot.press also waits for idle, which a
    # 1,000 events/s stream delays, and would be measured as latency it is not).
    app.post_message(events.Key(key, key if len(key) == 1 else None))
    deadline = t0 + 10
    while app.rendered_at is None:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"key {key!r} never rendered")
        await asyncio.sleep(0.001)
    return (app.rendered_at - t0) * 1000


async def measure_keys(
    pilot: Any, app: BenchApp, client: BenchClient, until: float, out: dict[str, list[float]]
) -> None:
    header = lambda: app.screen.query_one(StatusHeader)  # noqa: E731
    while time.perf_counter() < until:
        out["switch"].append(
            await key_latency(
                pilot,
                app,
                "e",
                lambda: isinstance(app.screen, EventsScreen) and app.screen.is_current,
            )
        )
        out["switch"].append(
            await key_latency(
                pilot,
                app,
                "d",
                lambda: isinstance(app.screen, DashboardScreen) and app.screen.is_current,
            )
        )
        out["kill"].append(
            await key_latency(pilot, app, "k", lambda: header().has_class("-killed"))
        )
        await client.request("resume")  # release out of band, as another operator would
        app.state.status = dict(client.status)
        app.refresh_screens(frozenset({"trading_state"}))
        await asyncio.sleep(0.2)


async def run(rate: int, seconds: float, stream: bool) -> dict[str, Any]:
    client = BenchClient()
    app = BenchApp(client)
    lat: dict[str, list[float]] = {"switch": [], "kill": []}
    async with app.run_test(size=(160, 48), headless=True) as pilot:
        while app.state.connection.state != "connected":  # noqa: ASYNC110 - a poll is the probe
            await asyncio.sleep(0.01)
        await pilot.pause(0.2)
        rss0 = rss_mib()
        sent = [0]
        producer = asyncio.create_task(produce(client, rate, seconds, sent)) if stream else None
        frames0 = app.frames
        samples: list[float] = []
        lag: list[float] = []

        async def sample() -> None:
            loop = asyncio.get_running_loop()
            while True:
                t = loop.time()
                await asyncio.sleep(0.05)
                lag.append((loop.time() - t - 0.05) * 1000)
                if len(lag) % 10 == 0:
                    samples.append(rss_mib())

        sampler = asyncio.create_task(sample())
        t0 = time.perf_counter()
        await measure_keys(pilot, app, client, t0 + seconds, lat)
        if producer is not None:
            await producer
        # let the tail drain before reading the counters
        while client.queue.qsize() or app.buffer.received < sent[0]:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await pilot.pause(0.2)
        elapsed = time.perf_counter() - t0
        sampler.cancel()
        return {
            "sent": sent[0],
            "received": app.buffer.received,
            "elapsed": elapsed,
            "frames": app.frames - frames0,
            "coalesced": app.buffer.coalesced,
            "rss0": rss0,
            "rss_peak": max(samples or [rss0]),
            "rss_end": rss_mib(),
            "kept": len(app.state.events) + len(app.state.orders),
            "lag_p99": sorted(lag)[int(0.99 * (len(lag) - 1))] if lag else 0.0,
            "lat": lat,
        }


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def report(name: str, r: dict[str, Any]) -> None:
    print(f"-- {name}")
    print(
        f"   events sent {r['sent']:,}  received {r['received']:,}  in {r['elapsed']:.1f}s  "
        f"redraws {r['frames']}  coalesced {r['coalesced']:,}"
    )
    for key, xs in r["lat"].items():
        print(
            f"   key→render {key:<6} n={len(xs):3d}  median {statistics.median(xs):6.1f} ms  "
            f"p95 {pct(xs, 0.95):6.1f} ms  max {max(xs):6.1f} ms"
        )
    print(
        f"   RSS start {r['rss0']:.1f} MiB  peak {r['rss_peak']:.1f}  end {r['rss_end']:.1f}  "
        f"(rows kept {r['kept']})  loop lag p99 {r['lag_p99']:.1f} ms"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args([a for a in __import__("sys").argv[1:] if a.startswith("--")])
    print(
        f"{platform.platform()}  Python {platform.python_version()}  "
        f"{args.rate} events/s for {args.seconds:.0f}s, 160x48 headless"
    )
    report("baseline: no stream", asyncio.run(run(args.rate, args.seconds, stream=False)))
    report(f"stream: {args.rate} events/s", asyncio.run(run(args.rate, args.seconds, stream=True)))


if __name__ == "__main__":
    main()
