"""`SimServer`: both simulated venues on loopback, in-process.

Used by `arenad sim` (standalone), `arenad demo` (next to the daemon) and tests (ports 0, then
read the bound ports back). Each venue gets its own `Faults`, seeded from the simulator seed,
so breaking one venue in a test leaves the other alone.

Shutdown order: stop accepting, close websockets and stop the venues' timers (aiohttp's
cleanup contexts), all bounded by `shutdown_timeout_s`.
"""

from __future__ import annotations

import contextlib
import importlib
from types import TracebackType
from typing import Any

import structlog
from aiohttp import web

from arenad.clock import Clock
from arenad.sim.faults import Faults
from arenad.sim.hyperliquid.app import HL_SIM_KEY, HyperliquidSim, build_hyperliquid_app
from arenad.sim.settings import SimSettings

log = structlog.get_logger("arenad.sim")

ALPACA_MODULE = "arenad.sim.alpaca"


def _alpaca_builder() -> Any | None:
    """`build_alpaca_app` from the Alpaca venue (exported by the package or its `app`
    module), or None while that package does not exist. Any other import failure is a bug
    and is raised."""
    for name in (ALPACA_MODULE, ALPACA_MODULE + ".app"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name in (ALPACA_MODULE, ALPACA_MODULE + ".app"):
                continue
            raise
        build = getattr(module, "build_alpaca_app", None)
        if build is not None:
            return build
    return None


class SimServer:
    def __init__(
        self,
        settings: SimSettings | None = None,
        *,
        clock: Clock | None = None,
        alpaca: bool = True,
        shutdown_timeout_s: float = 5.0,
    ) -> None:
        self.settings = settings or SimSettings()
        self.clock = clock
        self.with_alpaca = alpaca
        self.shutdown_timeout_s = shutdown_timeout_s
        seed = self.settings.seed
        self.hyperliquid_faults = Faults(self.settings.faults, seed=seed)
        self.alpaca_faults = Faults(self.settings.faults, seed=seed + 1)
        self._runners: list[web.AppRunner] = []
        self.hyperliquid_port = 0
        self.alpaca_port: int | None = None
        self._hl_app: web.Application | None = None
        self.alpaca_app: web.Application | None = None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        self._hl_app = build_hyperliquid_app(
            s, seed=s.seed, faults=self.hyperliquid_faults, clock=self.clock
        )
        try:
            self.hyperliquid_port = await self._serve(self._hl_app, s.hyperliquid_port)
            build = _alpaca_builder() if self.with_alpaca else None
            if build is not None:
                extra = {} if self.clock is None else {"clock": self.clock}
                self.alpaca_app = build(s, seed=s.seed, faults=self.alpaca_faults, **extra)
                self.alpaca_port = await self._serve(self.alpaca_app, s.alpaca_port)
            elif self.with_alpaca:
                log.warning(
                    "simulator: the Alpaca venue is not available; serving Hyperliquid only"
                )
        except BaseException:
            await self.stop()
            raise
        log.info(
            "simulator listening",
            hyperliquid=self.hyperliquid_url,
            alpaca=self.alpaca_url,
            seed=s.seed,
        )

    async def _serve(self, app: web.Application, port: int) -> int:
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, self.settings.host, port, reuse_address=True)
        await site.start()
        address = runner.addresses[0]
        return int(address[1])

    async def stop(self) -> None:
        runners, self._runners = self._runners, []
        for runner in reversed(runners):
            with contextlib.suppress(TimeoutError):
                await runner.shutdown()
            await runner.cleanup()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- addresses ------------------------------------------------------------------------

    @property
    def hyperliquid(self) -> HyperliquidSim:
        if self._hl_app is None:
            raise RuntimeError("the simulator is not started")
        return self._hl_app[HL_SIM_KEY]

    @property
    def hyperliquid_url(self) -> str:
        """Base URL for the Hyperliquid SDK and clients (`/info`, `/exchange`; ws at `/ws`)."""
        return f"http://{self._url_host}:{self.hyperliquid_port}"

    @property
    def hyperliquid_ws_url(self) -> str:
        return f"ws://{self._url_host}:{self.hyperliquid_port}/ws"

    @property
    def alpaca_url(self) -> str | None:
        if self.alpaca_port is None:
            return None
        return f"http://{self._url_host}:{self.alpaca_port}"

    @property
    def _url_host(self) -> str:
        host = self.settings.host
        return f"[{host}]" if ":" in host else host
