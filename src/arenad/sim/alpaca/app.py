"""The simulated Alpaca venue on one aiohttp app: trading REST, market-data REST, both streams.

Real Alpaca splits these over hosts (paper-api, data, stream.data); here one port serves them
all, so every client takes the same base URL: `TradingClient(url_override=BASE)`,
`StockHistoricalDataClient(url_override=BASE)`, `TradingStream(url_override=WS + "/stream")`,
`StockDataStream(url_override=WS + "/v2/iex")`.

Auth: any `APCA-API-KEY-ID`/`APCA-API-SECRET-KEY` pair opens its own paper account on first
use; a known key with another secret is refused. Missing or wrong keys get 401 on the trading
API (`{"code": 40110000, "message": "request is not authorized"}`); on the data API a missing
key is 401 and a wrong secret 403 `{"message": "forbidden"}`, as the two real hosts answer.
Each key may make `requests_per_minute` requests per minute per API (a fixed window opened by
its first request); every authenticated response carries `X-Ratelimit-Limit`,
`X-Ratelimit-Remaining` and `X-Ratelimit-Reset` (epoch seconds), and the request past the limit
gets 429.

Time: the stock market runs on `clock` scaled by `time_scale`, plus any offset added by
`POST /_sim/step {"seconds": N}`, which moves the market forward at once (prices, order
triggers, bars) without waiting. Simulator-only routes (besides the fault routes of
`arenad.sim.faults`): `POST /_sim/step`, `GET /_sim/stats`, `GET /_sim/accounts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from arenad.clock import Clock, SystemClock
from arenad.sim.alpaca import bars as bars_mod
from arenad.sim.alpaca import calendar
from arenad.sim.alpaca.engine import (
    NOT_FOUND,
    Account,
    ApiError,
    Broker,
    Order,
    TradeEvent,
    asset_id,
    iso,
    num,
)
from arenad.sim.alpaca.prices import PriceModel, floor_minute, valid_symbol
from arenad.sim.alpaca.streams import (
    DATA_STREAM,
    TRADE_STREAM,
    StreamConn,
    data_error,
    data_stream_message,
    trade_stream_message,
    wants_msgpack,
    writer,
)
from arenad.sim.faults import Faults, mount_control
from arenad.sim.settings import SimSettings

KEY_HEADER = "APCA-API-KEY-ID"
SECRET_HEADER = "APCA-API-SECRET-KEY"  # noqa: S105 - a header name
FEEDS = ("iex", "sip", "test")
MAX_BAR_CATCH_UP = 60
"""Most minute bars pushed in one tick after a jump in time (older ones are only in REST)."""
_CHUNK = 1_000


def _error(status: int, code: int | None, message: str, **extra: str) -> web.Response:
    body: dict[str, Any] = {"message": message, **extra}
    if code is not None:
        body = {"code": code, **body}
    return web.json_response(body, status=status)


def _as_bool(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


class SimTime:
    """The stock market's clock: ``clock`` scaled by ``scale``, plus stepped-in offsets."""

    def __init__(self, clock: Clock, scale: float) -> None:
        self.clock = clock
        self.scale = scale
        self._anchor = clock.now()
        self.offset = timedelta(0)

    def now(self) -> datetime:
        real = self.clock.now()
        return self._anchor + (real - self._anchor) * self.scale + self.offset


class RateLimiter:
    """Fixed one-minute windows per (key, API), each opened by its first request."""

    def __init__(self, limit: int, clock: Clock) -> None:
        self.limit = limit
        self.clock = clock
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, key: str, api: str) -> tuple[bool, dict[str, str]]:
        now = self.clock.now().timestamp()
        start, used = self._windows.get((key, api), (now, 0))
        if now - start >= 60:
            start, used = now, 0
        allowed = used < self.limit
        if allowed:
            used += 1
        self._windows[(key, api)] = (start, used)
        headers = {
            "X-Ratelimit-Limit": str(self.limit),
            "X-Ratelimit-Remaining": str(self.limit - used),
            "X-Ratelimit-Reset": str(int(start + 60)),
        }
        return allowed, headers


class AlpacaSim:
    def __init__(
        self, settings: SimSettings, *, seed: int, faults: Faults, clock: Clock | None = None
    ) -> None:
        cfg = settings.alpaca
        self.settings = settings
        self.cfg = cfg
        self.seed = seed
        self.faults = faults
        self.time = SimTime(clock or SystemClock(), cfg.time_scale)
        self.always_open = settings.always_open
        self.prices = PriceModel(seed, list(cfg.symbols))
        self.broker = Broker(
            self.prices,
            seed=seed,
            starting_cash=settings.alpaca_starting_cash,
            margin_multiplier=cfg.margin_multiplier,
            max_fill_qty=cfg.max_fill_qty,
            spread_bps=cfg.spread_bps,
            always_open=settings.always_open,
        )
        self.broker.listen(self._on_trade_event)
        self.rate = RateLimiter(cfg.requests_per_minute, self.time.clock)
        self.trade_conns: set[StreamConn] = set()
        self.data_conns: set[StreamConn] = set()
        self.data_holders: dict[tuple[str, str], StreamConn] = {}
        self._md_rng = random.Random(f"alpaca-md:{seed}")
        self._trade_ids: dict[str, int] = {}
        self._last_tick = self.time.now()
        self.ticks = 0
        self.requests: Counter[str] = Counter()
        """Authenticated REST requests per API (`trading`, `data`)."""
        self.md_messages = 0
        self.slow_clients = 0

    # --- time ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.time.now()

    def step(self, seconds: float) -> datetime:
        """Move the market forward ``seconds`` at once, then run one tick."""
        self.time.offset += timedelta(seconds=seconds)
        self.tick()
        return self.now()

    async def run(self) -> None:
        while True:
            await self.time.clock.sleep(self.cfg.tick_interval_s)
            self.tick()

    def tick(self) -> None:
        now = self.now()
        self.broker.process(now)
        self._publish_market_data(self._last_tick, now)
        self._last_tick = now
        self.ticks += 1

    # --- trade updates ------------------------------------------------------------------

    def _on_trade_event(self, ev: TradeEvent) -> None:
        message = {"stream": TRADE_STREAM, "data": ev.data}
        for conn in list(self.trade_conns):
            if conn.listening and conn.account is not None and conn.account.id == ev.account_id:
                self._deliver(conn, message)

    def _deliver(self, conn: StreamConn, message: Any) -> None:
        if self.faults.is_paused(conn.stream):
            return  # lost, as in a stall (the writer also drops what was queued before)
        if not conn.put(message, data=True):
            self.slow_clients += 1
            if conn.stream == DATA_STREAM:
                conn.outbox = asyncio.Queue()  # shed the backlog; the error must get out
                data_error(conn, 407)
            else:
                conn.outbox = asyncio.Queue()
                conn.close_after_queued()

    # --- market data --------------------------------------------------------------------

    def login(self, conn: StreamConn, key: str, secret: str) -> int | None:
        acct = self.broker.authenticate(key, secret, self.now())
        if acct is None:
            return 402
        if conn.feed == "sip" and not self.cfg.sip_enabled:
            return 409
        holder = self.data_holders.get((acct.id, conn.feed))
        if holder is not None and not holder.closed:
            return 406
        self.data_holders[(acct.id, conn.feed)] = conn
        conn.account = acct
        return None

    def _symbols(self, conn: StreamConn, channel: str) -> list[str]:
        subs = conn.subs[channel]
        if "*" in subs:
            return list(self.prices.specs)
        return sorted(s for s in subs if self.prices.listed(s))

    def _publish_market_data(self, since: datetime, now: datetime) -> None:  # noqa: C901
        conns = [c for c in self.data_conns if c.account is not None and not c.closed]
        if not conns:
            return
        is_open = calendar.is_open(now, always_open=self.always_open)
        trades: dict[str, dict[str, Any]] = {}
        quotes: dict[str, dict[str, Any]] = {}
        if is_open:
            for sym in sorted({s for c in conns for s in self._symbols(c, "trades")}):
                self._trade_ids[sym] = self._trade_ids.get(sym, 0) + 1
                trades[sym] = {
                    "T": "t",
                    "S": sym,
                    "i": self._trade_ids[sym],
                    "x": "V",
                    "p": round(self.prices.price(sym, now), 2),
                    "s": self._md_rng.randint(1, 300),
                    "c": ["@"],
                    "z": "C",
                    "t": now,
                }
            for sym in sorted({s for c in conns for s in self._symbols(c, "quotes")}):
                bid, ask = self.prices.quote(sym, now, float(self.cfg.spread_bps))
                quotes[sym] = {
                    "T": "q",
                    "S": sym,
                    "bx": "V",
                    "bp": bid,
                    "bs": self._md_rng.randint(1, 8),
                    "ax": "V",
                    "ap": ask,
                    "as": self._md_rng.randint(1, 8),
                    "c": ["R"],
                    "z": "C",
                    "t": now,
                }
        minutes = self._completed_minutes(since, now)
        bar_syms = sorted(
            {s for c in conns for ch in ("bars", "dailyBars") for s in self._symbols(c, ch)}
        )
        minute_bars: list[dict[str, dict[str, Any]]] = []
        for m in minutes:
            per: dict[str, dict[str, Any]] = {}
            for sym in bar_syms:
                b = self.prices.minute_bar(sym, m)
                per[sym] = {"T": "b", "S": sym, **_bar_fields(b)}
            minute_bars.append(per)
        daily: dict[str, dict[str, Any]] = {}
        if minutes:
            last_end = minutes[-1] + timedelta(minutes=1)
            sess = calendar.session(calendar.ny_date(minutes[-1]), always_open=self.always_open)
            if sess is not None:
                stamp = bars_mod.bucket_of(minutes[-1], bars_mod.TimeFrame(1, "Day"))[0]
                for sym in {s for c in conns for s in self._symbols(c, "dailyBars")}:
                    b = self.prices.range_bar(sym, sess[0], last_end, stamp)
                    daily[sym] = {"T": "d", "S": sym, **_bar_fields(b)}
        for conn in conns:
            out: list[dict[str, Any]] = []
            out.extend(trades[s] for s in trades if conn.wants("trades", s))
            out.extend(quotes[s] for s in quotes if conn.wants("quotes", s))
            for per in minute_bars:
                out.extend(per[s] for s in per if conn.wants("bars", s))
            out.extend(daily[s] for s in sorted(daily) if conn.wants("dailyBars", s))
            for i in range(0, len(out), _CHUNK):
                self.md_messages += len(out[i : i + _CHUNK])
                self._deliver(conn, out[i : i + _CHUNK])

    def _completed_minutes(self, since: datetime, now: datetime) -> list[datetime]:
        """Minutes whose end passed in (since, now] and that were in session."""
        first = floor_minute(since)
        last = floor_minute(now)  # minutes starting before this one have ended
        count = int((last - first).total_seconds() // 60)
        if count <= 0:
            return []
        start = max(first, last - timedelta(minutes=MAX_BAR_CATCH_UP))
        out = []
        m = start
        while m < last:
            if calendar.is_open(m, always_open=self.always_open):
                out.append(m)
            m += timedelta(minutes=1)
        return out

    # --- REST bodies --------------------------------------------------------------------

    def asset_wire(self, symbol: str) -> dict[str, Any]:
        spec = self.prices.specs[symbol]
        return {
            "id": asset_id(symbol),
            "class": "us_equity",
            "exchange": spec.exchange,
            "symbol": symbol,
            "name": spec.name,
            "status": "active",
            "tradable": True,
            "marginable": True,
            "maintenance_margin_requirement": 30,
            "margin_requirement_long": "30",
            "margin_requirement_short": "30",
            "shortable": True,
            "easy_to_borrow": True,
            "fractionable": True,
            "attributes": ["fractional_eh_enabled", "has_options"],
        }


def _bar_fields(b: Any) -> dict[str, Any]:
    return {"o": b.o, "h": b.h, "l": b.l, "c": b.c, "v": b.v, "t": b.t, "n": b.n, "vw": b.vw}


ALPACA_SIM_KEY = web.AppKey("arenad_alpaca_sim", AlpacaSim)
ACCOUNT_KEY = web.RequestKey("arenad_alpaca_account", Account)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_alpaca_app(  # noqa: C901
    settings: SimSettings, *, seed: int, faults: Faults, clock: Clock | None = None
) -> web.Application:
    sim = AlpacaSim(settings, seed=seed, faults=faults, clock=clock)
    app = web.Application(client_max_size=1 << 20)
    app[ALPACA_SIM_KEY] = sim

    def alpaca_error(status: int, request: web.Request) -> web.StreamResponse:
        if status == 429:
            reset = str(int(sim.time.clock.now().timestamp()) + 1)
            return web.json_response(
                {"code": 42910000, "message": "rate limit exceeded"},
                status=429,
                headers={
                    "X-Ratelimit-Limit": str(sim.cfg.requests_per_minute),
                    "X-Ratelimit-Remaining": "0",
                    "X-Ratelimit-Reset": reset,
                },
            )
        return web.json_response(
            {"code": 50010000, "message": "internal server error occurred"}, status=status
        )

    mount_control(app, faults, error_response=alpaca_error)

    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not path.startswith("/v2/") or path[len("/v2/") :] in FEEDS:
            return await handler(request)
        api = "data" if path.startswith("/v2/stocks") else "trading"
        key = request.headers.get(KEY_HEADER, "")
        secret = request.headers.get(SECRET_HEADER, "")
        if not key or not secret:
            return _error(401, 40110000 if api == "trading" else None, "request is not authorized")
        acct = sim.broker.authenticate(key, secret, sim.now())
        if acct is None:
            if api == "trading":
                return _error(401, 40110000, "request is not authorized")
            return _error(403, None, "forbidden")
        sim.requests[api] += 1
        allowed, headers = sim.rate.hit(key, api)
        if not allowed:
            return web.json_response(
                {"code": 42910000, "message": "rate limit exceeded"}, status=429, headers=headers
            )
        request[ACCOUNT_KEY] = acct
        try:
            resp = await handler(request)
        except ApiError as e:
            resp = web.json_response(e.body(), status=e.status)
        except bars_mod.BadQuery as e:
            resp = _error(400, 40010001 if api == "trading" else None, str(e))
        except web.HTTPException as e:
            resp = _error(e.status, 40410000 if e.status == 404 else None, e.reason)
        resp.headers.update(headers)
        return resp

    app.middlewares.append(auth_middleware)

    def account(request: web.Request) -> Account:
        return request[ACCOUNT_KEY]

    async def body_json(request: web.Request) -> Any:
        try:
            return await request.json(loads=json.loads)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, 40010000, "request body format is invalid") from None

    # --- trading ------------------------------------------------------------------------

    async def get_account(request: web.Request) -> web.Response:
        return web.json_response(sim.broker.account_wire(account(request), sim.now()))

    async def post_order(request: web.Request) -> web.Response:
        acct = account(request)
        order = sim.broker.submit(acct, await body_json(request), sim.now())
        return web.json_response(_routed_snapshot(order))

    async def list_orders(request: web.Request) -> web.Response:
        acct = account(request)
        q = request.query
        status = q.get("status", "open")
        if status not in ("open", "closed", "all"):
            raise ApiError(422, 40010001, f"invalid status: {status}")
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            raise ApiError(422, 40010001, "invalid limit") from None
        limit = max(1, min(limit, 500))
        nested = _as_bool(q.get("nested"))
        symbols = {s for s in q.get("symbols", "").split(",") if s}
        side = q.get("side")
        after = bars_mod.parse_time(q["after"], "after") if "after" in q else None
        until = bars_mod.parse_time(q["until"], "until") if "until" in q else None
        chosen: list[Order] = []
        for o in acct.orders.values():
            if nested and o.parent is not None:
                continue
            if (status == "open" and not o.is_open) or (status == "closed" and o.is_open):
                continue
            if (symbols and o.symbol not in symbols) or (side and o.side != side):
                continue
            if (after and o.created_at <= after) or (until and o.created_at > until):
                continue
            chosen.append(o)
        ascending = q.get("direction", "desc") == "asc"
        chosen.sort(key=lambda o: o.created_at, reverse=not ascending)
        return web.json_response([o.wire(nested=nested) for o in chosen[:limit]])

    async def cancel_all(request: web.Request) -> web.Response:
        acct, now = account(request), sim.now()
        out = []
        for o in list(sim.broker.open_orders(acct)):
            sim.broker.cancel(acct, o, now)
            out.append({"id": o.id, "status": 200, "body": o.wire()})
        return web.json_response(out, status=207)

    def find_order(acct: Account, order_id: str) -> Order:
        order = acct.orders.get(order_id)
        if order is None:
            raise ApiError(404, NOT_FOUND, f"order not found for {order_id}")
        return order

    async def get_order(request: web.Request) -> web.Response:
        order = find_order(account(request), request.match_info["order_id"])
        return web.json_response(order.wire(nested=_as_bool(request.query.get("nested"))))

    async def get_order_by_cid(request: web.Request) -> web.Response:
        acct = account(request)
        cid = request.query.get("client_order_id", "")
        order = acct.by_client_id.get(cid)
        if order is None:
            raise ApiError(404, NOT_FOUND, "order not found")
        return web.json_response(order.wire())

    async def delete_order(request: web.Request) -> web.Response:
        acct = account(request)
        order = find_order(acct, request.match_info["order_id"])
        sim.broker.cancel(acct, order, sim.now())
        return web.Response(status=204)

    async def list_positions(request: web.Request) -> web.Response:
        acct, now = account(request), sim.now()
        return web.json_response(
            [sim.broker.position_wire(acct, p, now) for _, p in sorted(acct.positions.items())]
        )

    def position_symbol(request: web.Request) -> str:
        ref = request.match_info["symbol"].upper()
        for sym in sim.prices.specs:
            if ref in (sym, asset_id(sym).upper()):
                return sym
        raise ApiError(404, NOT_FOUND, "position does not exist")

    async def get_position(request: web.Request) -> web.Response:
        acct = account(request)
        pos = acct.positions.get(position_symbol(request))
        if pos is None:
            raise ApiError(404, NOT_FOUND, "position does not exist")
        return web.json_response(sim.broker.position_wire(acct, pos, sim.now()))

    async def close_position(request: web.Request) -> web.Response:
        acct = account(request)
        order = sim.broker.close_position(
            acct,
            position_symbol(request),
            sim.now(),
            qty=request.query.get("qty"),
            percentage=request.query.get("percentage"),
        )
        return web.json_response(_routed_snapshot(order))

    async def close_all(request: web.Request) -> web.Response:
        acct, now = account(request), sim.now()
        if _as_bool(request.query.get("cancel_orders")):
            for o in list(sim.broker.open_orders(acct)):
                sim.broker.cancel(acct, o, now)
        out = []
        for sym in sorted(acct.positions):
            try:
                order = sim.broker.close_position(acct, sym, now)
            except ApiError as e:
                out.append({"symbol": sym, "status": e.status, "body": e.body()})
            else:
                out.append(
                    {
                        "symbol": sym,
                        "status": 200,
                        "order_id": order.id,
                        "body": _routed_snapshot(order),
                    }
                )
        return web.json_response(out, status=207)

    async def get_clock(request: web.Request) -> web.Response:
        return web.json_response(calendar.clock(sim.now(), always_open=sim.always_open))

    async def get_calendar(request: web.Request) -> web.Response:
        today = calendar.ny_date(sim.now())
        try:
            start = date.fromisoformat(request.query.get("start", "1970-01-01")[:10])
            end = date.fromisoformat(
                request.query.get("end", (today + timedelta(days=365 * 3)).isoformat())[:10]
            )
        except ValueError:
            raise ApiError(400, 40010001, "invalid start or end date") from None
        if start < date(1970, 1, 1) or end > date(2099, 12, 31):
            raise ApiError(400, 40010001, "start and end must be within 1970..2099")
        return web.json_response(calendar.calendar(start, end, always_open=sim.always_open))

    async def list_assets(request: web.Request) -> web.Response:
        return web.json_response([sim.asset_wire(s) for s in sorted(sim.prices.specs)])

    async def get_asset(request: web.Request) -> web.Response:
        ref = request.match_info["symbol"].upper()
        for sym in sim.prices.specs:
            if ref in (sym, asset_id(sym).upper()):
                return web.json_response(sim.asset_wire(sym))
        raise ApiError(404, NOT_FOUND, "asset not found")

    # --- market data REST ---------------------------------------------------------------

    def requested_symbols(request: web.Request) -> list[str]:
        raw = request.match_info.get("symbol") or request.query.get("symbols", "")
        symbols = [s.strip().upper() for s in raw.split(",") if s.strip()]
        if not symbols:
            raise bars_mod.BadQuery("missing symbols")
        bad = [s for s in symbols if not valid_symbol(s)]
        if bad:
            raise bars_mod.BadQuery(f"invalid symbol: {bad[0]}")
        return [s for s in symbols if sim.prices.listed(s)]

    def bars_page(request: web.Request) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
        q = request.query
        symbols = requested_symbols(request)
        tf = bars_mod.parse_timeframe(q.get("timeframe"))
        now = sim.now()
        day_start = datetime.combine(calendar.ny_date(now), datetime.min.time(), calendar.ET)
        start = bars_mod.parse_time(q["start"], "start") if q.get("start") else day_start
        end = bars_mod.parse_time(q["end"], "end") if q.get("end") else now
        end = min(end, now)
        try:
            limit = int(q.get("limit") or bars_mod.DEFAULT_LIMIT)
        except ValueError:
            raise bars_mod.BadQuery(f"invalid limit: {q.get('limit')!r}") from None
        if not 1 <= limit <= bars_mod.MAX_LIMIT:
            raise bars_mod.BadQuery(f"invalid limit: must be 1..{bars_mod.MAX_LIMIT}")
        sort = q.get("sort", "asc")
        if sort not in ("asc", "desc"):
            raise bars_mod.BadQuery(f"invalid sort: {sort!r}")
        if q.get("feed", "iex") not in ("iex", "sip", "delayed_sip", "otc", "boats"):
            raise bars_mod.BadQuery(f"invalid feed: {q.get('feed')!r}")
        return bars_mod.page(
            sim.prices,
            symbols,
            tf,
            start,
            end,
            limit=limit,
            token=q.get("page_token") or None,
            descending=sort == "desc",
            always_open=sim.always_open,
        )

    async def stock_bars(request: web.Request) -> web.Response:
        out, token = bars_page(request)
        return web.json_response(
            {"bars": out, "next_page_token": token, "currency": "USD"}
            if "symbol" not in request.match_info
            else {
                "bars": out.get(request.match_info["symbol"].upper(), []),
                "symbol": request.match_info["symbol"].upper(),
                "next_page_token": token,
                "currency": "USD",
            }
        )

    async def latest_bars(request: web.Request) -> web.Response:
        now = sim.now()
        out = {}
        for sym in requested_symbols(request):
            found = next(
                iter(
                    bars_mod.bars_of(
                        sim.prices,
                        sym,
                        bars_mod.TimeFrame(1, "Min"),
                        now - timedelta(days=10),
                        now,
                        True,
                        sim.always_open,
                    )
                ),
                None,
            )
            if found is not None:
                out[sym] = bars_mod.wire_bar(found)
        return web.json_response({"bars": out})

    async def latest_quotes(request: web.Request) -> web.Response:
        now = sim.now()
        out = {}
        for sym in requested_symbols(request):
            bid, ask = sim.prices.quote(sym, now, float(sim.cfg.spread_bps))
            out[sym] = {
                "t": iso(now),
                "bx": "V",
                "bp": bid,
                "bs": 1,
                "ax": "V",
                "ap": ask,
                "as": 1,
                "c": ["R"],
                "z": "C",
            }
        return web.json_response({"quotes": out})

    async def latest_trades(request: web.Request) -> web.Response:
        now = sim.now()
        out = {}
        for sym in requested_symbols(request):
            out[sym] = {
                "t": iso(now),
                "x": "V",
                "p": round(sim.prices.price(sym, now), 2),
                "s": 100,
                "c": ["@"],
                "i": sim._trade_ids.get(sym, 0),
                "z": "C",
            }
        return web.json_response({"trades": out})

    # --- streams ------------------------------------------------------------------------

    async def trade_stream(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20, autoping=True)
        await ws.prepare(request)
        conn = StreamConn(
            ws=ws,
            stream=TRADE_STREAM,
            use_msgpack=wants_msgpack(request),
            binary_json=True,
            outbox_limit=sim.cfg.stream_outbox_limit,
        )
        sim.trade_conns.add(conn)

        def authenticate(key: str, secret: str) -> Account | None:
            return sim.broker.authenticate(key, secret, sim.now())

        async def serve() -> None:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    trade_stream_message(conn, msg.data, authenticate)
                if conn.closed:
                    break

        await _serve(conn, request, serve, faults)
        sim.trade_conns.discard(conn)
        return ws

    async def data_stream(request: web.Request) -> web.StreamResponse:
        feed = request.match_info["feed"]
        ws = web.WebSocketResponse(max_msg_size=1 << 20, autoping=True)
        await ws.prepare(request)
        conn = StreamConn(
            ws=ws,
            stream=DATA_STREAM,
            use_msgpack=wants_msgpack(request),
            binary_json=False,
            outbox_limit=sim.cfg.stream_outbox_limit,
            feed=feed,
        )
        sim.data_conns.add(conn)
        conn.put([{"T": "success", "msg": "connected"}], data=False)
        key, secret = request.headers.get(KEY_HEADER), request.headers.get(SECRET_HEADER)
        if key and secret:
            code = sim.login(conn, key, secret)
            if code is not None:
                data_error(conn, code)
            else:
                conn.put([{"T": "success", "msg": "authenticated"}], data=False)

        async def auth_deadline() -> None:
            await sim.time.clock.sleep(sim.cfg.stream_auth_timeout_s)
            if conn.account is None and not conn.closed:
                data_error(conn, 404)

        async def serve() -> None:
            deadline = asyncio.create_task(auth_deadline())
            try:
                async for msg in ws:
                    if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                        data_stream_message(
                            conn,
                            msg.data,
                            login=sim.login,
                            symbol_limit=sim.cfg.stream_symbol_limit,
                        )
                    if conn.closed:
                        break
            finally:
                deadline.cancel()

        await _serve(conn, request, serve, faults)
        sim.data_conns.discard(conn)
        if conn.account is not None and sim.data_holders.get((conn.account.id, feed)) is conn:
            del sim.data_holders[(conn.account.id, feed)]
        return ws

    # --- simulator control --------------------------------------------------------------

    async def step(request: web.Request) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            body = None
        seconds = body.get("seconds", 0) if isinstance(body, dict) else None
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds <= 366 * 86_400
        ):
            return web.json_response({"error": "seconds must be a number 0..31622400"}, status=400)
        now = sim.step(float(seconds))
        return web.json_response({"now": iso(now), "is_open": sim.broker.market_open(now)})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "now": iso(sim.now()),
                "ticks": sim.ticks,
                "accounts": len(sim.broker.accounts),
                "fills": sim.broker.fills,
                "requests": dict(sim.requests),
                "trade_update_connections": len(sim.trade_conns),
                "market_data_connections": len(sim.data_conns),
                "market_data_messages": sim.md_messages,
                "slow_clients": sim.slow_clients,
            }
        )

    async def accounts(request: web.Request) -> web.Response:
        now = sim.now()
        return web.json_response(
            [
                {
                    "key_id": a.key_id,
                    "id": a.id,
                    "cash": num(a.cash),
                    "equity": num(sim.broker.equity(a, now).quantize(Decimal("0.01"))),
                    "positions": {s: num(p.qty) for s, p in sorted(a.positions.items())},
                    "orders": len(a.orders),
                }
                for a in sim.broker.accounts.values()
            ]
        )

    async def ticker(app: web.Application) -> AsyncIterator[None]:
        task = None
        if not settings.manual_ticks:
            task = asyncio.create_task(sim.run(), name="alpaca-sim-ticker")
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for conn in list(sim.trade_conns | sim.data_conns):
            with contextlib.suppress(Exception):
                await conn.ws.close()

    r = app.router
    r.add_get("/v2/account", get_account)
    r.add_post("/v2/orders", post_order)
    r.add_get("/v2/orders", list_orders)
    r.add_delete("/v2/orders", cancel_all)
    r.add_get("/v2/orders:by_client_order_id", get_order_by_cid)
    r.add_get("/v2/orders/{order_id}", get_order)
    r.add_delete("/v2/orders/{order_id}", delete_order)
    r.add_get("/v2/positions", list_positions)
    r.add_delete("/v2/positions", close_all)
    r.add_get("/v2/positions/{symbol}", get_position)
    r.add_delete("/v2/positions/{symbol}", close_position)
    r.add_get("/v2/clock", get_clock)
    r.add_get("/v2/calendar", get_calendar)
    r.add_get("/v2/assets", list_assets)
    r.add_get("/v2/assets/{symbol}", get_asset)
    r.add_get("/v2/stocks/bars", stock_bars)
    r.add_get("/v2/stocks/bars/latest", latest_bars)
    r.add_get("/v2/stocks/quotes/latest", latest_quotes)
    r.add_get("/v2/stocks/trades/latest", latest_trades)
    r.add_get("/v2/stocks/{symbol}/bars", stock_bars)
    r.add_get("/stream", trade_stream)
    r.add_get("/v2/{feed:iex|sip|test}", data_stream)
    r.add_post("/_sim/step", step)
    r.add_get("/_sim/stats", stats)
    r.add_get("/_sim/accounts", accounts)
    app.cleanup_ctx.append(ticker)
    return app


def _routed_snapshot(order: Order) -> dict[str, Any]:
    return order.accepted_wire if order.accepted_wire is not None else order.wire()


async def _serve(
    conn: StreamConn,
    request: web.Request,
    serve: Callable[[], Coroutine[Any, Any, None]],
    faults: Faults,
) -> None:
    write = asyncio.create_task(writer(conn, faults), name="alpaca-sim-ws-writer")
    try:
        with faults.track(conn.ws, request):
            reader = asyncio.create_task(serve(), name="alpaca-sim-ws-reader")
            done, _ = await asyncio.wait({reader, write}, return_when=asyncio.FIRST_COMPLETED)
            if reader not in done:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
            else:
                reader.result()
    finally:
        conn.closed = True
        if not write.done():
            write.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await write
        if not conn.ws.closed:
            with contextlib.suppress(Exception):
                await conn.ws.close()
