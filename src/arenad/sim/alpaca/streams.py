"""Alpaca's two websocket protocols, server side: trade updates and market data.

Trade updates (`/stream`): the client sends `{"action": "authenticate", "data": {"key_id",
"secret_key"}}` (or the newer `{"action": "auth", "key", "secret"}`), then `{"action":
"listen", "data": {"streams": ["trade_updates"]}}`; every server message is JSON in a *binary*
frame, as the paper venue sends it (msgpack instead when the client sent `Content-Type:
application/msgpack`).

Market data (`/v2/iex`, `/v2/sip`, `/v2/test`): `[{"T":"success","msg":"connected"}]`, then
auth (by message, or by the `APCA-API-KEY-ID`/`APCA-API-SECRET-KEY` headers of the upgrade
request), then subscribe/unsubscribe. Every server message is an array. With `Content-Type:
application/msgpack` frames are binary msgpack and timestamps are msgpack Timestamps (alpaca-py
calls `.to_datetime()` on them); otherwise text JSON with RFC 3339 strings. Errors are
`{"T":"error","code":N,"msg":...}` with Alpaca's codes: 400 invalid syntax, 401 not
authenticated, 402 auth failed, 403 already authenticated, 404 auth timeout, 405 symbol limit
exceeded, 406 connection limit exceeded (one connection per account and feed), 407 slow
client, 409 insufficient subscription, 410 invalid subscribe action for this feed. 402, 404,
406, 407 and 409 close the connection after the error.

Each connection has a bounded outbox drained by its own writer task; that is where faults
apply (latency, a dropped connection, a truncated frame, a paused stream: `trade_updates` or
`market_data`). Handshake replies are never paused, so a paused stream looks connected but
mute, which is the failure a client must detect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgpack
from aiohttp import WSCloseCode, web

from arenad.sim.alpaca.engine import Account
from arenad.sim.alpaca.prices import valid_symbol
from arenad.sim.faults import Faults

TRADE_STREAM = "trade_updates"
DATA_STREAM = "market_data"
_CLOSE = object()

DATA_CHANNELS = (
    "trades",
    "quotes",
    "bars",
    "updatedBars",
    "dailyBars",
    "statuses",
    "lulds",
    "corrections",
    "cancelErrors",
)
OTHER_FEED_CHANNELS = frozenset({"orderbooks", "news"})
ERRORS = {
    400: "invalid syntax",
    401: "not authenticated",
    402: "auth failed",
    403: "already authenticated",
    404: "auth timeout",
    405: "symbol limit exceeded",
    406: "connection limit exceeded",
    407: "slow client",
    409: "insufficient subscription",
    410: "invalid subscribe action for this feed",
}
FATAL = frozenset({402, 404, 406, 407, 409})


def wants_msgpack(request: web.BaseRequest) -> bool:
    return "msgpack" in request.headers.get("Content-Type", "").lower()


def _json_default(o: object) -> str:
    if isinstance(o, datetime):
        return o.isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


@dataclass(eq=False)
class StreamConn:
    ws: web.WebSocketResponse
    stream: str
    """Fault stream name: `trade_updates` or `market_data`."""
    use_msgpack: bool
    binary_json: bool
    """JSON in binary frames (the trade-updates stream) rather than text frames."""
    outbox_limit: int
    feed: str = ""
    account: Account | None = None
    listening: bool = False
    subs: dict[str, set[str]] = field(default_factory=lambda: {c: set() for c in DATA_CHANNELS})
    outbox: asyncio.Queue[tuple[bool, Any]] = field(default_factory=asyncio.Queue)
    closed: bool = False
    sent: int = 0

    def put(self, obj: Any, *, data: bool) -> bool:
        """Queue a message; False if the client is too slow (the outbox is full)."""
        if self.closed:
            return True
        if self.outbox.qsize() >= self.outbox_limit:
            return False
        self.outbox.put_nowait((data, obj))
        return True

    def close_after_queued(self) -> None:
        self.outbox.put_nowait((False, _CLOSE))

    def encode(self, obj: Any) -> str | bytes:
        if self.use_msgpack:
            return msgpack.packb(obj, datetime=True)  # type: ignore[no-any-return]
        text = json.dumps(obj, separators=(",", ":"), default=_json_default)
        return text.encode() if self.binary_json else text

    def decode(self, raw: str | bytes) -> Any:
        """Parse a client frame (JSON, or msgpack in msgpack mode); raise ValueError."""
        if isinstance(raw, bytes) and self.use_msgpack:
            try:
                return msgpack.unpackb(raw)
            except (ValueError, TypeError) as e:  # every msgpack unpack error is one of these
                raise ValueError(str(e)) from e
        return json.loads(raw)

    def wants(self, channel: str, symbol: str) -> bool:
        subs = self.subs[channel]
        return symbol in subs or "*" in subs


async def writer(conn: StreamConn, faults: Faults) -> None:
    """Drain one connection's outbox through the fault points."""
    ws = conn.ws
    while True:
        data, obj = await conn.outbox.get()
        if obj is _CLOSE:
            conn.closed = True
            with contextlib.suppress(Exception):
                await ws.close(code=WSCloseCode.POLICY_VIOLATION)
            return
        if data and faults.is_paused(conn.stream):
            continue
        await faults.delay()
        if faults.should_drop():
            conn.closed = True
            await faults.drop(ws)
            return
        payload = conn.encode(obj)
        if faults.malformed():
            payload = faults.corrupt(payload)
        try:
            if isinstance(payload, bytes):
                await ws.send_bytes(payload)
            else:
                await ws.send_str(payload)
        except (ConnectionError, RuntimeError):
            conn.closed = True
            return
        conn.sent += 1


# --- trade updates --------------------------------------------------------------------


def trade_stream_message(
    conn: StreamConn,
    raw: str | bytes,
    authenticate: Callable[[str, str], Account | None],
) -> None:
    """Handle one client frame of the trade-updates stream."""
    try:
        msg = conn.decode(raw)
    except ValueError:
        conn.put({"stream": "error", "data": {"error_message": "invalid syntax"}}, data=False)
        return
    action = msg.get("action") if isinstance(msg, dict) else None
    data = msg.get("data") if isinstance(msg, dict) else None
    if action in ("authenticate", "auth"):
        if action == "auth":
            key, secret = msg.get("key"), msg.get("secret")
        else:
            key = data.get("key_id") if isinstance(data, dict) else None
            secret = data.get("secret_key") if isinstance(data, dict) else None
        acct = (
            authenticate(key, secret)
            if isinstance(key, str) and isinstance(secret, str) and key and secret
            else None
        )
        if acct is None:
            conn.put(
                {
                    "stream": "authorization",
                    "data": {
                        "action": "authenticate",
                        "message": "access key verification failed",
                        "status": "unauthorized",
                    },
                },
                data=False,
            )
            conn.close_after_queued()
            return
        conn.account = acct
        conn.put(
            {"stream": "authorization", "data": {"action": "authenticate", "status": "authorized"}},
            data=False,
        )
        return
    if action == "listen":
        if conn.account is None:
            conn.put(
                {
                    "stream": "authorization",
                    "data": {"action": "listen", "status": "unauthorized"},
                },
                data=False,
            )
            return
        streams = data.get("streams") if isinstance(data, dict) else None
        if not isinstance(streams, list):
            conn.put(
                {"stream": "error", "data": {"error_message": "invalid listen request"}},
                data=False,
            )
            return
        conn.listening = TRADE_STREAM in streams
        conn.put(
            {"stream": "listening", "data": {"streams": [TRADE_STREAM] if conn.listening else []}},
            data=False,
        )
        return
    conn.put({"stream": "error", "data": {"error_message": "invalid syntax"}}, data=False)


# --- market data ----------------------------------------------------------------------


def data_error(conn: StreamConn, code: int) -> None:
    conn.put([{"T": "error", "code": code, "msg": ERRORS[code]}], data=False)
    if code in FATAL:
        conn.close_after_queued()


def subscription_ack(conn: StreamConn) -> list[dict[str, Any]]:
    ack: dict[str, Any] = {"T": "subscription"}
    for channel in DATA_CHANNELS:
        ack[channel] = sorted(conn.subs[channel])
    return [ack]


def data_stream_message(  # noqa: C901
    conn: StreamConn,
    raw: str | bytes,
    *,
    login: Callable[[StreamConn, str, str], int | None],
    symbol_limit: int,
) -> None:
    """Handle one client frame of the market-data stream. ``login`` returns an error code or
    None after attaching the account."""
    try:
        msg = conn.decode(raw)
    except ValueError:
        data_error(conn, 400)
        return
    if not isinstance(msg, dict) or not isinstance(msg.get("action"), str):
        data_error(conn, 400)
        return
    action = msg["action"]
    if action == "auth":
        if conn.account is not None:
            data_error(conn, 403)
            return
        key, secret = msg.get("key"), msg.get("secret")
        if not (isinstance(key, str) and isinstance(secret, str) and key and secret):
            data_error(conn, 402)
            return
        code = login(conn, key, secret)
        if code is not None:
            data_error(conn, code)
            return
        conn.put([{"T": "success", "msg": "authenticated"}], data=False)
        return
    if action not in ("subscribe", "unsubscribe"):
        data_error(conn, 400)
        return
    if conn.account is None:
        data_error(conn, 401)
        return
    changes: dict[str, set[str]] = {}
    for k, v in msg.items():
        if k == "action":
            continue
        if k in OTHER_FEED_CHANNELS:
            data_error(conn, 410)
            return
        if k not in DATA_CHANNELS or not isinstance(v, list):
            data_error(conn, 400)
            return
        if not all(isinstance(s, str) and (s == "*" or valid_symbol(s)) for s in v):
            data_error(conn, 400)
            return
        changes[k] = set(v)
    if action == "subscribe":
        if "trades" in changes:
            changes["corrections"] = changes.get("corrections", set()) | changes["trades"]
            changes["cancelErrors"] = changes.get("cancelErrors", set()) | changes["trades"]
        symbols = {s for c in DATA_CHANNELS for s in conn.subs[c] | changes.get(c, set())}
        symbols.discard("*")
        if len(symbols) > symbol_limit:
            data_error(conn, 405)
            return
        for c, syms in changes.items():
            conn.subs[c] |= syms
    else:
        if "trades" in changes:
            changes["corrections"] = changes.get("corrections", set()) | changes["trades"]
            changes["cancelErrors"] = changes.get("cancelErrors", set()) | changes["trades"]
        for c, syms in changes.items():
            conn.subs[c] -= syms
    conn.put(subscription_ack(conn), data=False)
