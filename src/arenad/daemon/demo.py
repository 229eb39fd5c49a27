"""`arenad demo`: the whole system on one machine with no keys.

Runs with the given config but keeps its database and socket under ``var/demo/`` beside the
config, so a demo never touches a production database. The simulator and the TUI join here as
they land (see issues 3 and 8); until then the demo is the daemon, headless.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from arenad.config import loader
from arenad.config.loader import LoadedConfig
from arenad.daemon.app import Daemon
from arenad.logs import Redactor, configure_logging


def demo_config(loaded: LoadedConfig) -> LoadedConfig:
    base = loaded.path.resolve().parent / "var" / "demo"
    s = loaded.settings
    daemon = s.daemon.model_copy(
        update={"db_path": base / "arenad.db", "socket_path": base / "arenad.sock"}
    )
    return LoadedConfig(
        s.model_copy(update={"daemon": daemon, "mode": "simulation"}), loaded.path, loaded.raw
    )


async def _demo(loaded: LoadedConfig, duration: float | None, redactor: Redactor) -> int:
    daemon = Daemon(loaded, allow_live=False, redactor=redactor)
    task = asyncio.create_task(daemon.run())
    if duration is not None:
        done, _ = await asyncio.wait({task}, timeout=duration)
        if not done:
            daemon.request_stop()
    return await task


def run_demo(loaded: LoadedConfig, *, headless: bool, duration: float | None) -> int:
    loaded = demo_config(loaded)
    s = loaded.settings
    redactor = configure_logging(
        s.daemon.log_format, s.daemon.log_level, Redactor(loader.secret_values(s))
    )
    if not headless:
        print(
            "arenad demo: the TUI is not built yet; running headless. "
            f"Attach with: arenad status --socket {s.daemon.socket_path}",
            file=sys.stderr,
        )
    print(
        f"arenad demo: database {s.daemon.db_path}, socket {s.daemon.socket_path}; Ctrl-C stops.",
        file=sys.stderr,
    )
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_demo(loaded, duration, redactor))
    return 0
