"""The store writer with the log's redaction applied to every value it writes.

Secrets reach the daemon from outside in many shapes: an LLM endpoint that echoes the
Authorization header in its 401 body, an exception text that quotes a URL with a key, a
venue error. Redacting at each of those places would miss the next one, so the daemon's
writer redacts every string parameter of every statement — plain statements and those run
inside ``transaction`` — with the same :class:`arenad.logs.Redactor` the log processor uses
(its secrets are replaced on config reload). The cost is one substring test per configured
secret per string value, about 4 µs for a 23-column fill row with five secrets, and nothing
when no secret is configured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar, cast

import aiosqlite

from arenad.logs import Redactor
from arenad.store.writer import Params, StoreWriter

T = TypeVar("T")


def scrub_params(params: Params, redactor: Redactor) -> Params:
    if not redactor.active:  # no secret configured: nothing to look for
        return params
    scrub = redactor.redact_text
    if isinstance(params, dict):
        return {k: scrub(v) if isinstance(v, str) else v for k, v in params.items()}
    return tuple(scrub(v) if isinstance(v, str) else v for v in params)


class _RedactingConnection:
    """The writer's connection as a transaction function sees it: writes are redacted, every
    other attribute is the connection's own."""

    def __init__(self, conn: aiosqlite.Connection, redactor: Redactor) -> None:
        self._conn = conn
        self._redactor = redactor

    def execute(self, sql: str, parameters: Params | None = None) -> Any:
        if parameters is None:
            return self._conn.execute(sql)
        return self._conn.execute(sql, scrub_params(parameters, self._redactor))

    def executemany(self, sql: str, parameters: Iterable[Params]) -> Any:
        return self._conn.executemany(sql, [scrub_params(p, self._redactor) for p in parameters])

    def execute_insert(self, sql: str, parameters: Params | None = None) -> Any:
        return self._conn.execute_insert(sql, scrub_params(parameters or (), self._redactor))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class RedactingWriter(StoreWriter):
    def __init__(self, path: Any, *, redactor: Redactor, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self._redactor = redactor

    async def execute(self, sql: str, params: Params = ()) -> None:
        await super().execute(sql, scrub_params(params, self._redactor))

    async def submit(self, sql: str, params: Params = ()) -> None:
        await super().submit(sql, scrub_params(params, self._redactor))

    def submit_nowait(self, sql: str, params: Params = ()) -> None:
        super().submit_nowait(sql, scrub_params(params, self._redactor))

    async def transaction(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        redactor = self._redactor

        async def redacted(conn: aiosqlite.Connection) -> T:
            return await fn(cast(aiosqlite.Connection, _RedactingConnection(conn, redactor)))

        return await super().transaction(redacted)
