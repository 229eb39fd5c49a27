"""The simulated Hyperliquid API: `/info`, `/exchange` and `/ws` on one aiohttp app.

`HyperliquidSim` owns the market, the clearinghouse, the bots and the websocket hub, and moves
them one `step()` per `tick_interval_s`. Tests call `step()` themselves (or `POST /_sim/step`)
to make things happen without waiting.

Signatures: the SDK signs for mainnet only when its base URL is mainnet's, so every client
pointed at the simulator signs for testnet (phantom agent source "b"); that is what `/exchange`
verifies. The signer is recovered with the SDK's own helper, exactly as the venue does it, and
it is the account the action applies to. Any signer gets an account funded with
`starting_usdc`, unless `auto_fund_signers` is off; then only funded addresses (bots, or
`POST /_sim/fund`) exist and anyone else gets mainnet's "does not exist" error.

Simulator-only routes (besides the fault routes of `arenad.sim.faults`):
`GET /_sim/bots` (names and addresses), `POST /_sim/step` `{"n": 1}`, `POST /_sim/fund`
`{"user": "0x…", "usdc": "1000"}`, `POST /_sim/inject_fill` `{"user", "coin", "side": "B"|"A",
"sz", "px"?}` (a fill on an account behind its owner's back: the position changes, the fill is in
its history and streams), `GET /_sim/stats`.

`expiresAfter` (ms) is honoured when the action is applied: a later action is refused with
the venue's "Action already expired" (the text Hyperliquid's documentation gives for it). The
`late_action_ms` fault applies an `/exchange` action that long after its answer was lost
(`/_sim/stats` counts them: `late_actions_pending`, `late_actions_applied`,
`late_actions_expired`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard

from aiohttp import WSMsgType, web
from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action

from arenad.clock import Clock, SystemClock
from arenad.sim.faults import Faults, mount_control
from arenad.sim.hyperliquid.bots import Bots, Replay
from arenad.sim.hyperliquid.engine import USER_FILLS_LIMIT, ActionError, Clearinghouse
from arenad.sim.hyperliquid.hub import COIN_TYPES, USER_TYPES, Conn, Hub, SubKey
from arenad.sim.market import Market, wire, wire_px
from arenad.sim.settings import SimSettings

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
DESERIALIZE_ERROR = "Failed to deserialize the JSON body into the target type"
BOOK_DEPTH = 20
EXPIRED_ERROR = "Action already expired"


class BadRequest(Exception):
    """An /info or /exchange body the venue cannot deserialize (HTTP 422, text body)."""


def _ms(clock: Clock) -> int:
    return int(clock.now().timestamp() * 1000)


class HyperliquidSim:
    def __init__(
        self, settings: SimSettings, *, seed: int, faults: Faults, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.seed = seed
        self.faults = faults
        self.clock = clock or SystemClock()
        self.market = Market(settings.coins, seed=seed)
        self.hub = Hub(faults, max_users=settings.ws_max_users)
        self.house = Clearinghouse(
            self.market,
            seed=seed,
            starting_usdc=settings.starting_usdc,
            taker_fee=settings.taker_fee_rate,
            maker_fee=settings.maker_fee_rate,
            listener=lambda e: self.hub.add(*e),
        )
        self.bots = Bots(
            self.house,
            settings.bots,
            seed=seed,
            interval_s=settings.bot_interval_s,
            max_notional=settings.bot_max_notional_usd,
        )
        self.replay = (
            Replay(self.house, self.bots, settings.replay) if settings.replay.enabled else None
        )
        self._since_funding = 0.0
        self.auto_fund = settings.auto_fund_signers
        self.late_tasks: set[asyncio.Task[None]] = set()
        self.late = {"applied": 0, "expired": 0}

    # --- time -----------------------------------------------------------------------------

    def now_ms(self) -> int:
        return _ms(self.clock)

    def step(self, n: int = 1) -> None:
        """Advance the market by `n` ticks: prices move, resting orders fill, bots trade,
        replayed fills arrive, funding is paid when due; then subscribers get the news."""
        dt = self.settings.tick_interval_s
        for _ in range(n):
            now = self.now_ms()
            self.market.step(dt)
            self.house.on_market_step(now)
            if self.settings.bots_enabled:
                self.bots.step(dt, now)
            if self.replay is not None:
                self.replay.step(dt, now)
            self._since_funding += dt
            if self._since_funding >= self.settings.funding_interval_s:
                self._since_funding -= self.settings.funding_interval_s
                self.house.apply_funding(now)
        now = self.now_ms()
        if self.hub.has_subscribers(("allMids", "")):
            self.hub.add("allMids", "", {"mids": self.all_mids()})
        for coin in self.market.names:
            if self.hub.has_subscribers(("l2Book", coin)):
                self.hub.add("l2Book", coin, self.l2_book(coin, now))
        self.hub.flush()

    async def run(self) -> None:
        while True:
            await self.clock.sleep(self.settings.tick_interval_s)
            self.step()

    # --- /info ----------------------------------------------------------------------------

    def all_mids(self) -> dict[str, str]:
        return {c: wire_px(self.market.mid(c)) for c in self.market.names}

    def meta(self) -> dict[str, Any]:
        return {
            "universe": [
                {
                    "name": c,
                    "szDecimals": self.market.spec(c).sz_decimals,
                    "maxLeverage": self.market.spec(c).max_leverage,
                }
                for c in self.market.names
            ]
        }

    def spot_meta(self) -> dict[str, Any]:
        # No spot markets are simulated; USDC exists as the collateral token.
        return {
            "universe": [],
            "tokens": [
                {
                    "name": "USDC",
                    "szDecimals": 8,
                    "weiDecimals": 8,
                    "index": 0,
                    "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054",
                    "isCanonical": True,
                    "evmContract": None,
                    "fullName": None,
                }
            ],
        }

    def asset_ctxs(self) -> list[dict[str, Any]]:
        oi: dict[str, Decimal] = {c: Decimal(0) for c in self.market.names}
        for acct in self.house.accounts.values():
            for coin, pos in acct.positions.items():
                if pos.szi > 0:
                    oi[coin] += pos.szi
        out = []
        for c in self.market.names:
            mark = self.market.mark(c)
            vlm = self.market.coins[c].day_volume
            out.append(
                {
                    "funding": wire(self.market.funding_rate(c)),
                    "openInterest": wire(oi[c]),
                    "prevDayPx": wire_px(self.market.prev_day_px(c)),
                    "dayNtlVlm": wire(vlm.quantize(Decimal("0.01"))),
                    "premium": "0.0",
                    "oraclePx": wire_px(mark),
                    "markPx": wire_px(mark),
                    "midPx": wire_px(self.market.mid(c)),
                    "impactPxs": list(self.market.impact_prices(c)),
                    "dayBaseVlm": wire((vlm / mark).quantize(Decimal("0.01"))),
                }
            )
        return out

    def l2_book(self, coin: str, now_ms: int) -> dict[str, Any]:
        sides = []
        for side in ("bid", "ask"):
            levels: dict[Decimal, list[Any]] = {}
            for lvl in self.market.levels(coin, side):
                levels[lvl.px] = [lvl.sz, lvl.n]
            for o in self.house.resting[coin]:
                if o.is_buy == (side == "bid"):
                    agg = levels.setdefault(o.limit_px, [Decimal(0), 0])
                    agg[0] += o.sz
                    agg[1] += 1
            prices = sorted(levels, reverse=side == "bid")[:BOOK_DEPTH]
            sides.append(
                [
                    {"px": wire_px(px), "sz": wire(levels[px][0]), "n": levels[px][1]}
                    for px in prices
                ]
            )
        return {"coin": coin, "time": now_ms, "levels": sides}

    def info(self, body: Any) -> Any:  # noqa: C901
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise BadRequest(DESERIALIZE_ERROR)
        kind = body["type"]
        now = self.now_ms()
        if kind == "meta":
            return self.meta()
        if kind == "spotMeta":
            return self.spot_meta()
        if kind == "metaAndAssetCtxs":
            return [self.meta(), self.asset_ctxs()]
        if kind == "allMids":
            return self.all_mids()
        if kind == "perpDexs":
            return [None]
        if kind == "l2Book":
            coin = body.get("coin")
            if coin not in self.house.asset_of:
                return None  # mainnet answers null for an unknown coin
            return self.l2_book(coin, now)
        user = _user(body)
        if kind == "clearinghouseState":
            return self.house.clearinghouse_state(user, now)
        if kind in ("openOrders", "frontendOpenOrders"):
            return self.house.open_orders(user)
        if kind == "orderStatus":
            if "oid" not in body:
                raise BadRequest(DESERIALIZE_ERROR)
            return self.house.order_status(user, body["oid"])
        if kind == "userFills":
            return self.house.user_fills(user)
        if kind == "userFillsByTime":
            start, end = body.get("startTime"), body.get("endTime")
            if not _is_int(start) or not (end is None or _is_int(end)):
                raise BadRequest(DESERIALIZE_ERROR)
            return self.house.user_fills_by_time(user, start, end)
        raise BadRequest(DESERIALIZE_ERROR)

    # --- /exchange ------------------------------------------------------------------------

    def exchange(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest(DESERIALIZE_ERROR)
        action, nonce, sig = body.get("action"), body.get("nonce"), body.get("signature")
        if (
            not isinstance(action, dict)
            or not isinstance(action.get("type"), str)
            or not _is_int(nonce)
            or not isinstance(sig, dict)
            or not {"r", "s", "v"} <= sig.keys()
        ):
            raise BadRequest(DESERIALIZE_ERROR)
        vault = body.get("vaultAddress")
        expires = body.get("expiresAfter")
        now = self.now_ms()
        try:
            signer = str(
                recover_agent_or_user_from_l1_action(action, sig, vault, nonce, expires, False)
            ).lower()
        except Exception as e:  # eth_account raises several types for a bad signature
            return _err(f"Invalid signature: {type(e).__name__}")
        if vault is not None:
            return _err(f"Vault not registered: {vault}")
        if expires is not None and not _is_int(expires):
            raise BadRequest(DESERIALIZE_ERROR)
        if expires is not None and expires < now:
            return _err(EXPIRED_ERROR)
        acct = self.house.account(signer, create=self.auto_fund)
        if acct is None:
            return _err(f"User or API Wallet {signer} does not exist.")
        try:
            self.house.check_nonce(acct, nonce, now)
            result = self._apply(acct.address, action, now)
        except ActionError as e:
            return _err(str(e))
        finally:
            self.hub.flush()
        return result

    def _apply(self, user: str, action: dict[str, Any], now: int) -> dict[str, Any]:
        kind = action["type"]
        if kind == "order":
            orders = action.get("orders")
            if not isinstance(orders, list) or not orders:
                raise ActionError("Order action must have a non-empty list of orders")
            statuses = self.house.place(user, orders, now)
            return _ok("order", {"statuses": statuses})
        if kind in ("cancel", "cancelByCloid"):
            cancels = action.get("cancels")
            if not isinstance(cancels, list) or not cancels:
                raise ActionError("Cancel action must have a non-empty list of cancels")
            statuses = self.house.cancel(user, cancels, now, by_cloid=kind == "cancelByCloid")
            return _ok("cancel", {"statuses": statuses})
        if kind == "updateLeverage":
            asset, lev = action.get("asset"), action.get("leverage")
            if not _is_int(asset) or not 0 <= asset < len(self.house.coins) or not _is_int(lev):
                raise ActionError("Invalid leverage update")
            coin = self.house.coins[asset]
            if not 1 <= lev <= self.market.spec(coin).max_leverage:
                raise ActionError(f"Invalid leverage value {lev} for {coin}")
            acct = self.house.accounts[user]
            acct.leverage[coin] = lev
            return {"status": "ok", "response": {"type": "default"}}
        raise ActionError(f"Action type {kind!r} is not simulated")

    # --- /ws ------------------------------------------------------------------------------

    def on_ws_text(self, conn: Conn, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
            self._ws_error(conn, f"Error parsing JSON into valid websocket request: {text}")
            return
        method = msg["method"]
        if method == "ping":
            self.hub.send_json(conn, "pong", {"channel": "pong"})
            return
        if method not in ("subscribe", "unsubscribe"):
            self._ws_error(conn, f"Error parsing JSON into valid websocket request: {text}")
            return
        sub = msg.get("subscription")
        key = self._sub_key(sub)
        if key is None:
            self._ws_error(conn, f"Invalid subscription {json.dumps(sub, separators=(',', ':'))}")
            return
        assert isinstance(sub, dict)
        if method == "unsubscribe":
            if not self.hub.unsubscribe(conn, key):
                self._ws_error(
                    conn, f"Already unsubscribed: {json.dumps(sub, separators=(',', ':'))}"
                )
                return
            self._ack(conn, method, sub)
            return
        error = self.hub.subscribe(conn, key, sub)
        if error is not None:
            self._ws_error(conn, error)
            return
        self._ack(conn, method, sub)
        self._snapshot(conn, key)

    def _sub_key(self, sub: Any) -> SubKey | None:
        if not isinstance(sub, dict) or not isinstance(sub.get("type"), str):
            return None
        kind = sub["type"]
        if kind == "allMids":
            return ("allMids", "")
        if kind in COIN_TYPES:
            coin = sub.get("coin")
            return (kind, coin) if coin in self.house.asset_of else None
        if kind in USER_TYPES:
            user = sub.get("user")
            return (kind, user.lower()) if isinstance(user, str) and ADDRESS.match(user) else None
        return None

    def _ack(self, conn: Conn, method: str, sub: dict[str, Any]) -> None:
        self.hub.send_json(
            conn,
            "subscriptionResponse",
            {"channel": "subscriptionResponse", "data": {"method": method, "subscription": sub}},
        )

    def _ws_error(self, conn: Conn, text: str) -> None:
        self.hub.send_json(conn, "error", {"channel": "error", "data": text})

    def _snapshot(self, conn: Conn, key: SubKey) -> None:
        kind, k = key
        if kind == "userFills":
            acct = self.house.account(k, create=False)
            fills = acct.fills[-USER_FILLS_LIMIT:] if acct is not None else []
            self.hub.send_json(
                conn,
                "userFills",
                {"channel": "userFills", "data": {"isSnapshot": True, "user": k, "fills": fills}},
            )
        elif kind == "allMids":
            self.hub.send_json(
                conn, "allMids", {"channel": "allMids", "data": {"mids": self.all_mids()}}
            )
        elif kind == "l2Book":
            self.hub.send_json(
                conn, "l2Book", {"channel": "l2Book", "data": self.l2_book(k, self.now_ms())}
            )


def _user(body: dict[str, Any]) -> str:
    user = body.get("user")
    if not isinstance(user, str) or not ADDRESS.match(user):
        raise BadRequest(DESERIALIZE_ERROR)
    return user.lower()


def _is_int(x: object) -> TypeGuard[int]:
    return isinstance(x, int) and not isinstance(x, bool)


def _ok(kind: str, data: Any) -> dict[str, Any]:
    return {"status": "ok", "response": {"type": kind, "data": data}}


def _err(message: str) -> dict[str, Any]:
    return {"status": "err", "response": message}


# --- aiohttp wiring ---------------------------------------------------------------------------

HL_SIM_KEY = web.AppKey("arenad_hyperliquid_sim", HyperliquidSim)


async def _read_json(request: web.Request) -> Any:
    try:
        return await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(DESERIALIZE_ERROR) from None


def _unprocessable(message: str) -> web.Response:
    return web.Response(status=422, text=message, content_type="text/plain")


def build_hyperliquid_app(  # noqa: C901
    settings: SimSettings, *, seed: int, faults: Faults, clock: Clock | None = None
) -> web.Application:
    sim = HyperliquidSim(settings, seed=seed, faults=faults, clock=clock)
    app = web.Application(client_max_size=1 << 20)
    app[HL_SIM_KEY] = sim

    def hl_error(status: int, request: web.Request) -> web.StreamResponse:
        # Mainnet's 429 and 5xx bodies are plain text (the SDK only needs the status).
        return web.Response(status=status, text="simulated error", content_type="text/plain")

    mount_control(app, faults, error_response=hl_error)

    async def info(request: web.Request) -> web.StreamResponse:
        try:
            return web.json_response(sim.info(await _read_json(request)))
        except BadRequest as e:
            return _unprocessable(str(e))

    async def exchange(request: web.Request) -> web.StreamResponse:
        try:
            body = await _read_json(request)
            late = faults.late_action_s()
            if late is not None:
                return _late_action(request, body, late)
            return web.json_response(sim.exchange(body))
        except BadRequest as e:
            return _unprocessable(str(e))

    def _late_action(request: web.Request, body: Any, delay_s: float) -> web.StreamResponse:
        """The answer is lost (the connection cut) and the action applied ``delay_s`` later."""

        async def apply_later() -> None:
            await faults.sleep(delay_s)
            with contextlib.suppress(BadRequest):
                result = sim.exchange(body)
                refused = result.get("status") == "err" and result.get("response") == (
                    EXPIRED_ERROR
                )
                sim.late["expired" if refused else "applied"] += 1

        task = asyncio.create_task(apply_later(), name="hl-sim-late-action")
        sim.late_tasks.add(task)
        task.add_done_callback(sim.late_tasks.discard)
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=504, text="answer lost", content_type="text/plain")

    async def ws_handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = Conn(ws)
        sim.hub.conns.add(conn)
        writer = asyncio.create_task(sim.hub.writer(conn), name="hl-sim-ws-writer")
        try:
            with faults.track(ws, request):
                while not conn.closed:
                    try:
                        msg = await ws.receive(timeout=settings.ws_idle_timeout_s)
                    except TimeoutError:
                        # Mainnet closes a connection that has sent nothing for 60 s.
                        break
                    if msg.type == WSMsgType.TEXT:
                        sim.on_ws_text(conn, msg.data)
                    elif msg.type == WSMsgType.BINARY:
                        sim._ws_error(conn, "Error parsing JSON into valid websocket request")
                    else:  # close, closing, closed, error
                        break
        finally:
            sim.hub.remove(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws

    async def bots(request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"name": b.name, "address": b.address, "strategy": b.strategy, "trades": b.trades}
                for b in sim.bots.bots
            ]
        )

    async def step(request: web.Request) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            body = None
        n = body.get("n", 1) if isinstance(body, dict) else None
        if not _is_int(n) or not 1 <= n <= 100_000:
            return web.json_response({"error": "n must be an integer 1..100000"}, status=400)
        sim.step(n)
        return web.json_response({"steps": sim.market.steps})

    async def fund(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            user, usdc = body["user"], Decimal(str(body["usdc"]))
        except (ValueError, KeyError, TypeError, InvalidOperation):
            return web.json_response({"error": "body must be {user, usdc}"}, status=400)
        if not isinstance(user, str) or not ADDRESS.match(user) or not usdc.is_finite():
            return web.json_response({"error": "user must be 0x + 40 hex"}, status=400)
        acct = sim.house.fund(user, usdc)
        return web.json_response({"user": acct.address, "balance": wire(acct.balance)})

    async def inject_fill(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            user, coin, side = body["user"], body["coin"], body["side"]
            sz = Decimal(str(body["sz"]))
            px = Decimal(str(body["px"])) if body.get("px") is not None else None
        except (ValueError, KeyError, TypeError, InvalidOperation):
            return web.json_response(
                {"error": "body must be {user, coin, side: B|A, sz, px?}"}, status=400
            )
        if not isinstance(user, str) or not ADDRESS.match(user):
            return web.json_response({"error": "user must be 0x + 40 hex"}, status=400)
        if coin not in sim.house.asset_of:
            return web.json_response({"error": f"coin {coin!r} is not listed"}, status=400)
        if side not in ("B", "A"):
            return web.json_response({"error": "side must be B (buy) or A (sell)"}, status=400)
        if not sz.is_finite() or sz <= 0 or (px is not None and (not px.is_finite() or px <= 0)):
            return web.json_response({"error": "sz and px must be positive numbers"}, status=400)
        now = sim.now_ms()
        sim.house.inject_fill(user.lower(), coin, side == "B", px or sim.market.mid(coin), sz, now)
        sim.hub.flush()
        state = sim.house.clearinghouse_state(user.lower(), now)
        return web.json_response(state)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "steps": sim.market.steps,
                "fills": sim.house.fill_count,
                "ws_connections": len(sim.hub.conns),
                "ws_messages_sent": sim.hub.sent,
                "ws_fills_sent": sim.hub.fills_sent,
                "ws_shed": sim.hub.shed,
                "replay_fed": sim.replay.fed if sim.replay else 0,
                "late_actions_pending": len(sim.late_tasks),
                "late_actions_applied": sim.late["applied"],
                "late_actions_expired": sim.late["expired"],
            }
        )

    async def ticker(app: web.Application) -> AsyncIterator[None]:
        task = None
        if not settings.manual_ticks:
            task = asyncio.create_task(sim.run(), name="hl-sim-ticker")
        yield
        if task is not None:
            task.cancel()
        for late in list(sim.late_tasks):
            late.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await sim.hub.close_all()

    app.router.add_post("/info", info)
    app.router.add_post("/exchange", exchange)
    app.router.add_get("/ws", ws_handler)
    app.router.add_get("/_sim/bots", bots)
    app.router.add_post("/_sim/step", step)
    app.router.add_post("/_sim/fund", fund)
    app.router.add_post("/_sim/inject_fill", inject_fill)
    app.router.add_get("/_sim/stats", stats)
    app.cleanup_ctx.append(ticker)
    return app
