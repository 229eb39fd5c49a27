"""Simulated Alpaca capacity: trade updates per second on `/stream`, REST orders per second.

The simulator runs in a child process (as beside a daemon under load test). Two figures:

- stream: the child submits market orders straight to the broker (each one a `new` and a
  `fill` trade update) for one account, backing off when the client's outbox passes 2,000
  messages, so the rate is sustained delivery, not queue growth; a websocket client in the
  parent, authenticated and listening like alpaca-py's TradingStream, counts the fills.
  Baseline in the same run: a bare aiohttp websocket server sending the same pre-serialized
  fill frame (binary, as Alpaca's paper stream does) in a loop.
- REST: the parent posts market orders (`POST /v2/orders`, alternately buy and sell 1 share)
  with 1 and 8 requests in flight and counts the 200s (the rate limit is lifted for the run).

    .venv/bin/python -m bench.alpaca_sim_capacity [--seconds 5]
"""

# The child process is steered through multiprocessing events, which asyncio cannot await:
# polling them is the point.
# ruff: noqa: ASYNC110

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
from typing import Any

from bench._raw_ws import serve_raw

KEY, SECRET = "PKBENCH", "bench-secret"
AUTH = {"action": "authenticate", "data": {"key_id": KEY, "secret_key": SECRET}}
LISTEN = {"action": "listen", "data": {"streams": ["trade_updates"]}}


def _settings() -> Any:
    from arenad.sim.settings import SimSettings

    return SimSettings(
        alpaca_port=0,
        hyperliquid_port=0,
        always_open=True,
        alpaca={"requests_per_minute": 100_000, "tick_interval_s": 60},
    )


def _serve_sim(port_q: Any, go: Any, done: Any, seconds: float) -> None:
    from aiohttp import web

    from arenad.sim.alpaca.app import ALPACA_SIM_KEY, build_alpaca_app
    from arenad.sim.faults import Faults

    async def main() -> None:
        app = build_alpaca_app(_settings(), seed=1, faults=Faults(seed=1))
        sim = app[ALPACA_SIM_KEY]
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_q.put(runner.addresses[0][1])
        while not go.is_set():
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        made = 0
        if seconds > 0:
            acct = sim.broker.authenticate(KEY, SECRET, sim.now())
            end = loop.time() + seconds
            side = "buy"
            while loop.time() < end:
                for _ in range(50):
                    body = {"symbol": "SPY", "qty": "1", "side": side, "type": "market",
                            "time_in_force": "day"}  # fmt: skip
                    sim.broker.submit(acct, body, sim.now())
                    side = "sell" if side == "buy" else "buy"
                made += 50
                while any(c.outbox.qsize() > 2000 for c in sim.trade_conns):
                    await asyncio.sleep(0.001)
                await asyncio.sleep(0)
        port_q.put(made)
        while not done.is_set():
            await asyncio.sleep(0.05)
        await runner.cleanup()

    asyncio.run(main())


def _serve_raw(port_q: Any, go: Any, done: Any, seconds: float) -> None:
    frame = json.dumps(
        {"stream": "trade_updates", "data": {"event": "fill", "qty": "1", "price": "590.1",
                                              "order": {"id": "x" * 36, "symbol": "SPY"}}}
    ).encode()  # fmt: skip
    serve_raw(port_q, go, done, seconds, "/stream", frame, 50, 50)


def _child(kind: str, seconds: float) -> tuple[Any, Any, Any, Any]:
    ctx = mp.get_context("spawn")
    port_q, go, done = ctx.Queue(), ctx.Event(), ctx.Event()
    target = _serve_sim if kind == "sim" else _serve_raw
    proc = ctx.Process(target=target, args=(port_q, go, done, seconds))
    proc.start()
    return proc, port_q, go, done


def stream(kind: str, seconds: float) -> dict[str, Any]:
    proc, port_q, go, done = _child(kind, seconds)
    try:
        port = port_q.get(timeout=60)

        async def measure() -> dict[str, Any]:
            from websockets.asyncio.client import connect

            fills = 0
            last = 0.0
            async with connect(f"ws://127.0.0.1:{port}/stream", max_size=1 << 24) as ws:
                if kind == "sim":
                    await ws.send(json.dumps(AUTH))
                    await ws.recv()
                    await ws.send(json.dumps(LISTEN))
                    await ws.recv()

                async def read() -> None:
                    nonlocal fills, last
                    async for raw in ws:
                        if json.loads(raw)["data"].get("event") == "fill":
                            fills += 1
                            last = time.perf_counter()

                reader = asyncio.create_task(read())
                start = time.perf_counter()
                go.set()
                made = await asyncio.to_thread(port_q.get, True, seconds + 120)
                deadline = time.perf_counter() + 30
                while fills < made and time.perf_counter() < deadline:
                    await asyncio.sleep(0.05)
                reader.cancel()
            elapsed = last - start
            return {
                "server": kind,
                "orders": made,
                "fills": fills,
                "seconds": round(elapsed, 2),
                "fills_per_s": round(fills / elapsed),
                "messages_per_s": round(fills * (2 if kind == "sim" else 1) / elapsed),
            }

        return asyncio.run(measure())
    finally:
        done.set()
        proc.join(30)


def rest(seconds: float, in_flight: int) -> dict[str, Any]:
    proc, port_q, go, done = _child("sim", 0)
    try:
        port = port_q.get(timeout=60)
        go.set()

        async def measure() -> dict[str, Any]:
            import aiohttp

            headers = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}
            ok = 0
            url = f"http://127.0.0.1:{port}/v2/orders"
            async with aiohttp.ClientSession(headers=headers) as http:
                end = time.perf_counter() + seconds

                async def worker(n: int) -> None:
                    nonlocal ok
                    side = "buy" if n % 2 == 0 else "sell"
                    while time.perf_counter() < end:
                        body = {"symbol": "SPY", "qty": "1", "side": side, "type": "market",
                                "time_in_force": "day"}  # fmt: skip
                        async with http.post(url, json=body) as resp:
                            await resp.read()
                            ok += resp.status == 200
                        side = "sell" if side == "buy" else "buy"

                start = time.perf_counter()
                await asyncio.gather(*(worker(i) for i in range(in_flight)))
                elapsed = time.perf_counter() - start
            return {"in_flight": in_flight, "orders": ok, "orders_per_s": round(ok / elapsed)}

        return asyncio.run(measure())
    finally:
        done.set()
        proc.join(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    for kind in ("raw", "sim"):
        print(json.dumps(stream(kind, args.seconds)))
    for in_flight in (1, 8):
        print(json.dumps(rest(args.seconds, in_flight)))


if __name__ == "__main__":
    main()
