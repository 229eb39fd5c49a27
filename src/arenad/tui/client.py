"""What the TUI needs from a daemon connection.

The app is built from a *factory* of clients rather than a client, because a reconnect needs a
fresh connection; tests pass a factory of fakes (or of recorded streams) and the CLI passes
``lambda: ControlClient(socket_path)``. :func:`ask` turns the answer of a command the daemon
does not have yet (``unknown_command``) into an :class:`Unavailable` value, so a panel whose
engine has not landed renders "not available yet" instead of failing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from arenad.control.client import ControlError

# The live topics the TUI asks for (see docs/control-protocol.md).
TOPICS: tuple[str, ...] = (
    "status",
    "system_event",
    "trading_state",
    "config",
    "position",
    "equity",
    "decision",
    "order",
    "arena_run",
)


class Client(Protocol):
    """The part of :class:`arenad.control.client.ControlClient` the TUI uses."""

    dropped_events: int

    async def connect(self, timeout: float = 5.0) -> Any: ...

    async def close(self) -> None: ...

    async def request(self, cmd: str, timeout: float = 30.0, **args: Any) -> Any: ...

    async def subscribe(self, topics: list[str] | None = None) -> None: ...

    def events(self) -> AsyncIterator[dict[str, Any]]: ...


ClientFactory = Callable[[], Client]


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A query whose command this daemon does not serve (yet), or whose component is off."""

    cmd: str
    message: str = ""

    def __str__(self) -> str:
        return f"not available yet ({self.cmd})" + (f": {self.message}" if self.message else "")


@dataclass(frozen=True, slots=True)
class Failed:
    """A query the daemon refused or could not answer; panels show it in place of data."""

    cmd: str
    message: str

    def __str__(self) -> str:
        return f"{self.cmd} failed: {self.message}"


NOT_SERVED = ("unknown_command", "unavailable")


async def ask(client: Client, cmd: str, timeout: float = 10.0, **args: Any) -> Any:
    """A query whose absence is normal: the result, or :class:`Unavailable`.

    Other refusals (bad arguments, a failing command) still raise :class:`ControlError` —
    those are bugs or operator mistakes, not missing engines.
    """
    try:
        return await client.request(cmd, timeout=timeout, **args)
    except ControlError as e:
        if e.code in NOT_SERVED:
            return Unavailable(cmd, e.message if e.code == "unavailable" else "")
        raise
