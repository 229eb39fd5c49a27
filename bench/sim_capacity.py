"""Simulator capacity: fills per second the simulated Hyperliquid delivers on `/ws`.

The simulator runs in a child process (as it does next to a daemon under load test); the
parent connects websocket clients that subscribe `userFills` for 10 users (the per-connection
maximum) and counts the fills they receive. The generator injects fills round-robin over the
users, `batch` fills per user per flush (one websocket message each), and backs off when a
client's outbox holds more than 2,000 messages, so the figure is a sustained delivery rate,
not queue growth.

Baseline in the same run: a bare aiohttp websocket server sending the same pre-serialized
message in a loop (transport ceiling, no simulator).

    .venv/bin/python -m bench.sim_capacity [--seconds 5]
"""

# The child processes are steered through multiprocessing events, which asyncio cannot await:
# polling them is the point.
# ruff: noqa: ASYNC110

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
from decimal import Decimal
from typing import Any

from bench._raw_ws import serve_raw

USERS = [f"0x{i:040x}" for i in range(1, 11)]
FILL = {
    "coin": "ETH",
    "px": "4000.1",
    "sz": "0.01",
    "side": "B",
    "time": 0,
    "startPosition": "0",
    "dir": "Open Long",
    "closedPnl": "0",
    "hash": "0x" + "ab" * 32,
    "oid": 1,
    "crossed": True,
    "fee": "0.018",
    "tid": 1,
    "feeToken": "USDC",
}


def _serve_sim(port_q: Any, go: Any, done: Any, seconds: float, batch: int) -> None:
    from arenad.sim.server import SimServer
    from arenad.sim.settings import SimSettings

    async def main() -> None:
        settings = SimSettings(
            hyperliquid_port=0, alpaca_port=0, bots_enabled=False, tick_interval_s=3600
        )
        async with SimServer(settings, alpaca=False) as server:
            sim = server.hyperliquid
            port_q.put(server.hyperliquid_port)
            while not go.is_set():
                await asyncio.sleep(0.01)
            loop = asyncio.get_running_loop()
            end = loop.time() + seconds
            made = 0
            px = Decimal("4000")
            sz = Decimal("0.01")
            while loop.time() < end:
                now = sim.now_ms()
                for user in USERS:
                    for i in range(batch):
                        sim.house.inject_fill(user, "ETH", i % 2 == 0, px, sz, now)
                made += batch * len(USERS)
                sim.hub.flush()
                while any(c.outbox.qsize() > 2000 for c in sim.hub.conns):
                    await asyncio.sleep(0.001)
                await asyncio.sleep(0)
            port_q.put(made)
            while not done.is_set():
                await asyncio.sleep(0.05)

    asyncio.run(main())


def _serve_raw(port_q: Any, go: Any, done: Any, seconds: float, batch: int) -> None:
    text = json.dumps({"channel": "userFills", "data": {"user": USERS[0], "fills": [FILL] * batch}})
    serve_raw(port_q, go, done, seconds, "/ws", text, len(USERS), batch * len(USERS))


class Clients:
    """Websocket clients counting the fills they receive."""

    def __init__(self) -> None:
        self.counts: list[int] = []
        self.last: list[float] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.socks: list[Any] = []

    async def open(self, port: int, n: int, subscribe: bool) -> None:
        from websockets.asyncio.client import connect

        self.counts, self.last = [0] * n, [0.0] * n
        for _ in range(n):
            ws = await connect(f"ws://127.0.0.1:{port}/ws", max_size=1 << 24)
            self.socks.append(ws)
            if subscribe:
                for u in USERS:
                    sub = {"type": "userFills", "user": u}
                    await ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
        self.tasks = [asyncio.create_task(self._read(i)) for i in range(n)]
        await asyncio.sleep(0.5)  # acks and snapshots

    async def _read(self, i: int) -> None:
        async for raw in self.socks[i]:
            msg = json.loads(raw)
            if msg.get("channel") == "userFills" and not msg["data"].get("isSnapshot"):
                self.counts[i] += len(msg["data"]["fills"])
                self.last[i] = time.perf_counter()

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        for s in self.socks:
            await s.close()


def run(kind: str, seconds: float, batch: int, n_clients: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    port_q, go, done = ctx.Queue(), ctx.Event(), ctx.Event()
    target = _serve_sim if kind == "sim" else _serve_raw
    proc = ctx.Process(target=target, args=(port_q, go, done, seconds, batch))
    proc.start()
    try:
        port = port_q.get(timeout=60)

        async def measure() -> dict[str, Any]:
            clients = Clients()
            await clients.open(port, n_clients, subscribe=kind == "sim")
            counts, last = clients.counts, clients.last
            start = time.perf_counter()
            go.set()
            made = await asyncio.to_thread(port_q.get, True, seconds + 120)
            expected = made * n_clients
            deadline = time.perf_counter() + 30
            while sum(counts) < expected and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            done.set()
            await clients.close()
            elapsed = max(last) - start
            return {
                "kind": kind,
                "batch": batch,
                "clients": n_clients,
                "generated": made,
                "received": sum(counts),
                "seconds": round(elapsed, 2),
                "fills_per_s": round(sum(counts) / elapsed),
                "messages_per_s": round(sum(counts) / batch / elapsed),
            }

        return asyncio.run(measure())
    finally:
        done.set()
        proc.join(30)
        if proc.is_alive():
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.sim_capacity")
    parser.add_argument("--seconds", type=float, default=5.0)
    args, _ = parser.parse_known_args()
    print(
        "| server | fills/message | clients | fills delivered/s (all clients) | messages/s "
        "| delivered/generated |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind, batch, clients in (
        ("raw", 1, 1),
        ("sim", 1, 1),
        ("sim", 1, 4),
        ("raw", 20, 1),
        ("sim", 20, 1),
        ("sim", 20, 4),
    ):
        r = run(kind, args.seconds, batch, clients)
        share = r["received"] / max(1, r["generated"] * clients)
        name = "bare aiohttp (baseline)" if kind == "raw" else "simulator"
        print(
            f"| {name} | {batch} | {clients} | {r['fills_per_s']:,} | "
            f"{r['messages_per_s']:,} | {share:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
