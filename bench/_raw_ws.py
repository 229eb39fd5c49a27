"""The baseline server of the simulator capacity benches: a bare aiohttp websocket that sends
one prepared frame as fast as it can, so a bench can compare the simulator against the cost
of the socket alone (run in a child process; reports its port, then how much it sent)."""

from __future__ import annotations

import asyncio
from typing import Any


def serve_raw(
    port_q: Any,
    go: Any,
    done: Any,
    seconds: float,
    path: str,
    frame: str | bytes,
    per_round: int,
    counted_per_round: int,
) -> None:
    """Serve ``path``; once ``go`` is set, send ``frame`` ``per_round`` times to every
    connection per round for ``seconds``, then put the count (``counted_per_round`` a round)
    on ``port_q`` and wait for ``done``."""
    from aiohttp import web

    async def main() -> None:
        conns: list[web.WebSocketResponse] = []

        async def ws(request: web.Request) -> web.WebSocketResponse:
            sock = web.WebSocketResponse()
            await sock.prepare(request)
            conns.append(sock)
            async for _ in sock:
                pass
            return sock

        app = web.Application()
        app.router.add_get(path, ws)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_q.put(runner.addresses[0][1])
        # go/done are multiprocessing events (set by the parent process): polled, not awaited.
        while not go.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        made = 0
        while loop.time() < end:
            for c in conns:
                for _ in range(per_round):
                    if isinstance(frame, bytes):
                        await c.send_bytes(frame)
                    else:
                        await c.send_str(frame)
            made += counted_per_round
        port_q.put(made)
        while not done.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await runner.cleanup()

    asyncio.run(main())
