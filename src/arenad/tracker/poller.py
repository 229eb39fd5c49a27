"""The nof1 HTTP poller: one round reads every endpoint and feeds each body to
:func:`arenad.tracker.ingest.ingest_body`; rounds repeat every ``interval_s``.

Nothing the API does is a crash. Each failure of a request is classified once
(:func:`classify`) and becomes a system event (category ``tracker``) naming the endpoint:

* ``timeout``, ``unreachable``, ``server_error`` (5xx), ``rate_limited`` (429, Retry-After
  honoured), ``not_json`` (an HTML error page), ``bad_response`` (not the endpoint's
  envelope), ``http_error`` (another 4xx): the round goes on with the next endpoint, and the
  wait before the next round doubles (jittered, capped at ``max_backoff_s``) until a round
  succeeds;
* ``gone`` (410, as the retired ``/positions`` answers): the endpoint is not asked again until
  the daemon restarts or ``base_url`` changes (retrying a retired endpoint cannot help);
* ``store_error``: the database refused the response's transaction (nothing of it is kept);
  the other endpoints are still stored.

Account totals are read incrementally: ``lastHourlyMarker`` is the marker of the last answer,
kept in ``nof1_poll_state`` so a restart resumes instead of re-reading the season.
Cancellation is safe at any await: a body is stored in one transaction or not at all.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from arenad.clock import Clock, SystemClock
from arenad.errors import StoreError
from arenad.store.db import open_reader, utc_iso
from arenad.tracker.ingest import Emit, ingest_body
from arenad.tracker.parse import ENDPOINTS, ResponseError
from arenad.tracker.settings import TrackerSettings
from arenad.tracker.store import IngestReport, TrackerStore, get_state

log = structlog.get_logger("arenad.tracker")

MARKER_KEY = "account-totals.lastHourlyMarker"
# The big, rarely changing bodies (~1.5 MB of chats, ~0.2 MB of trades) are asked with the
# last ETag, so an unchanged one costs a 304. Never the leaderboard: each poll of it is a
# point of every model's equity curve, at the same instant for all.
CONDITIONAL = frozenset({"conversations", "trades", "analytics"})
# Failures a retry will not fix: error events; the others (outages) are warnings.
_SERIOUS = ("gone", "bad_response", "not_json", "http_error", "store_error")
USER_AGENT = "arenad-tracker (+https://github.com/arenad)"


@dataclass(frozen=True, slots=True)
class FetchFailure:
    endpoint: str
    # timeout | unreachable | server_error | rate_limited | not_json | bad_response
    # | http_error | gone | store_error
    kind: str
    message: str
    status: int | None = None
    retry_after: float | None = None

    def details(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "kind": self.kind,
            "status": self.status,
            "reason": self.message,
        }


class _Failed(Exception):
    def __init__(self, failure: FetchFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclass
class RoundResult:
    ok: list[str] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)
    reports: dict[str, IngestReport] = field(default_factory=dict)

    @property
    def connected(self) -> bool:
        """The API answered at all (a 4xx or a bad body still means it is reachable)."""
        return bool(self.ok) or any(
            f.kind in ("gone", "http_error", "not_json", "bad_response") for f in self.failures
        )


def classify(endpoint: str, exc: BaseException | None, resp: httpx.Response | None) -> FetchFailure:
    """The one place that decides what a failed request is."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return FetchFailure(endpoint, "timeout", f"/{endpoint}: no answer in time ({exc!r})")
    if exc is not None:
        return FetchFailure(endpoint, "unreachable", f"/{endpoint}: request failed: {exc!r}")
    assert resp is not None
    code = resp.status_code
    if code == 410:
        return FetchFailure(
            endpoint,
            "gone",
            f"/{endpoint}: 410 Gone (endpoint retired; not polled again until restart)",
            code,
        )
    if code == 429:
        ra = _retry_after(resp.headers.get("retry-after"))
        return FetchFailure(
            endpoint, "rate_limited", f"/{endpoint}: 429 Too Many Requests", code, ra
        )
    if code >= 500:
        return FetchFailure(endpoint, "server_error", f"/{endpoint}: HTTP {code}", code)
    return FetchFailure(endpoint, "http_error", f"/{endpoint}: HTTP {code}", code)


def _retry_after(v: str | None) -> float | None:
    try:
        return max(0.0, float(v)) if v is not None else None
    except ValueError:
        return None


class Nof1Poller:
    def __init__(
        self,
        store: TrackerStore,
        emit: Emit,
        settings: Callable[[], TrackerSettings],
        *,
        db_path: Any,
        clock: Clock | None = None,
        client: httpx.AsyncClient | None = None,
        on_connection: Callable[..., Awaitable[None]] | None = None,
        on_dirty: Callable[[dict[str, Any]], None] | None = None,
        endpoints: Sequence[str] = ENDPOINTS,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.emit = emit
        self.settings = settings
        self.db_path = db_path
        self.clock = clock or SystemClock()
        self._client = client
        self.on_connection = on_connection
        self.on_dirty = on_dirty
        self.endpoints = tuple(endpoints)
        self.rng = rng or random.Random()
        self.gone: set[str] = set()
        self.etags: dict[str, str] = {}
        self.failed_rounds = 0
        self.rounds = 0
        self.marker: int | None = None
        self._marker_loaded = False
        self.last_delay: float | None = None

    # --- one request ----------------------------------------------------------------------

    async def fetch(self, client: httpx.AsyncClient, endpoint: str) -> bytes | None:
        """The body, or None when the server says it has not changed (304 to our ETag)."""
        st = self.settings()
        params: dict[str, Any] = {}
        if endpoint == "account-totals" and self.marker is not None:
            params["lastHourlyMarker"] = self.marker
        headers = {}
        if endpoint in CONDITIONAL and endpoint in self.etags:
            headers["If-None-Match"] = self.etags[endpoint]
        try:
            async with asyncio.timeout(st.timeout_s):
                resp = await client.get(f"{st.base_url}/{endpoint}", params=params, headers=headers)
        except (httpx.HTTPError, TimeoutError) as e:
            raise _Failed(classify(endpoint, e, None)) from e
        if resp.status_code == 304 and headers:
            return None
        if resp.status_code != 200:
            raise _Failed(classify(endpoint, None, resp))
        if endpoint in CONDITIONAL and (etag := resp.headers.get("etag")):
            self.etags[endpoint] = etag
        return resp.content

    # --- one round ------------------------------------------------------------------------

    async def _load_marker(self) -> None:
        if self._marker_loaded:
            return
        async with open_reader(self.db_path) as conn:
            v = await get_state(conn, MARKER_KEY)
        self.marker = int(v) if v is not None and v.lstrip("-").isdigit() else None
        self._marker_loaded = True

    async def poll_once(self) -> RoundResult:
        await self._load_marker()
        result = RoundResult()
        st = self.settings()
        client = self._client or httpx.AsyncClient(
            timeout=st.timeout_s, headers={"User-Agent": USER_AGENT, "Accept": "application/json"}
        )
        try:
            for endpoint in self.endpoints:
                if endpoint in self.gone:
                    continue
                try:
                    body = await self.fetch(client, endpoint)
                    now = utc_iso(self.clock.now())
                    if body is None:  # unchanged since the last round
                        result.ok.append(endpoint)
                        result.reports[endpoint] = IngestReport(endpoint)
                        continue
                    try:
                        report = await ingest_body(self.store, self.emit, endpoint, body, now)
                    except ResponseError as e:
                        bad_json = e.reason.startswith("body is not JSON")
                        kind = "not_json" if bad_json else "bad_response"
                        raise _Failed(FetchFailure(endpoint, kind, str(e))) from e
                    except (StoreError, sqlite3.Error) as e:
                        # One endpoint's write failing must not stop the others (fan-out).
                        log.error("nof1 store failed", endpoint=endpoint, exc_info=e)
                        raise _Failed(
                            FetchFailure(
                                endpoint, "store_error", f"/{endpoint}: storing failed: {e!r}"
                            )
                        ) from e
                except _Failed as f:
                    result.failures.append(f.failure)
                    if f.failure.kind == "gone":
                        self.gone.add(endpoint)
                    level = "error" if f.failure.kind in _SERIOUS else "warning"
                    await self.emit(
                        level, "tracker", f"nof1 {f.failure.message}", f.failure.details()
                    )
                    continue
                result.ok.append(endpoint)
                result.reports[endpoint] = report
                marker = report.last_hourly_marker
                if endpoint == "account-totals" and marker is not None and marker != self.marker:
                    self.marker = marker
                    await self.store.set_state(MARKER_KEY, str(marker), now)
        finally:
            if self._client is None:
                await client.aclose()
        self.rounds += 1
        self.failed_rounds = self.failed_rounds + 1 if result.failures else 0
        books = any(r.books for r in result.reports.values())
        if books and self.on_dirty is not None:
            # Inception values and account totals back-fill old equity: a full reload.
            self.on_dirty({"reload": True})
        if self.on_connection is not None:
            await self.on_connection(
                result.connected,
                ok=len(result.ok),
                failures=[f"{f.endpoint}: {f.kind}" for f in result.failures],
                gone=sorted(self.gone),
            )
        return result

    def next_delay(self, result: RoundResult) -> float:
        """interval_s after a clean round; after n failing rounds in a row, uniform in
        [d/2, d] with d = min(max_backoff_s, interval_s * 2^n) (never sooner than interval_s
        for the first), at least a 429's Retry-After."""
        st = self.settings()
        if not self.failed_rounds:
            return st.interval_s
        d = min(st.max_backoff_s, st.interval_s * 2**self.failed_rounds)
        delay = max(min(st.interval_s, d), self.rng.uniform(0.5, 1.0) * d)
        ra = [f.retry_after for f in result.failures if f.retry_after is not None]
        return float(max([delay, *ra]))

    async def run(self) -> None:
        """Rounds forever (the supervisor's loop)."""
        while True:
            result = await self.poll_once()
            self.last_delay = self.next_delay(result)
            await self.clock.sleep(self.last_delay)
