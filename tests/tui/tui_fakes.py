"""A fake daemon for TUI tests: answers control commands from canned, deterministic data,
records every request, and streams events the test pushes. It speaks exactly the
``arenad.tui.client.Client`` protocol that ``ControlClient`` implements."""

from __future__ import annotations

import asyncio
import copy
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from arenad.control.client import ControlError, DaemonNotRunning

SOCKET = Path("/run/arenad/arenad.sock")
TS = "2025-01-02T14:30:00.000000Z"


def ts(minute: int, second: int = 0) -> str:
    return f"2025-01-02T{14 + minute // 60:02d}:{minute % 60:02d}:{second:02d}.000000Z"


STATUS: dict[str, Any] = {
    "version": "0.1.0",
    "pid": 4242,
    "mode": "simulation",
    "network": "simulator",
    "config_path": "/etc/arenad/config.toml",
    "db_path": "/var/lib/arenad/arenad.db",
    "uptime_s": 3723.0,
    "trading_state": "ACTIVE",
    "kill_switch": {
        "engaged": False,
        "by": None,
        "reason": None,
        "activated_at": None,
        "deactivated_at": None,
    },
    "daily_pnl": -12.5,
    "daily_loss_limit_usd": 500.0,
    "connections": {"hyperliquid": {"connected": True, "checked_at": TS, "mode": "ws"}},
    "last_event_time": TS,
    "last_order_time": TS,
    "loop_lag_ms": 0.8,
    "writer": {"pending": 0, "committed_items": 10, "failed_items": 0},
    "tasks": {"heartbeat": {"state": "running", "restarts": 0, "last_error": None}},
    "last_reload": None,
}

EVENTS: list[dict[str, Any]] = [
    {
        "id": 1,
        "ts": ts(0, 1),
        "level": "info",
        "category": "system",
        "message": "arenad 0.1.0 started",
        "details": {"pid": 4242},
    },
    {
        "id": 2,
        "ts": ts(1, 2),
        "level": "info",
        "category": "ingest",
        "message": "hyperliquid ws connected (4 wallets)",
        "details": {},
    },
    {
        "id": 3,
        "ts": ts(2, 3),
        "level": "warning",
        "category": "api",
        "message": "nof1 /api/trades answered 429; retrying in 2.0s",
        "details": {"status": 429},
    },
    {
        "id": 4,
        "ts": ts(3, 4),
        "level": "info",
        "category": "trading",
        "message": "fade order filled: sell 0.5 BTC for gemini-3-pro",
        "details": {},
    },
    {
        "id": 5,
        "ts": ts(4, 5),
        "level": "error",
        "category": "arena",
        "message": "model gpt-4o returned invalid JSON; recorded as HOLD",
        "details": {},
    },
    {
        "id": 6,
        "ts": ts(5, 6),
        "level": "info",
        "category": "config",
        "message": "config reloaded: 1 key(s) changed",
        "details": {},
    },
]

CONFIG: dict[str, Any] = {
    "path": "/etc/arenad/config.toml",
    "settings": {
        "mode": "simulation",
        "daemon": {
            "db_path": "/var/lib/arenad/arenad.db",
            "socket_path": "/run/arenad/arenad.sock",
            "log_level": "info",
            "event_queue_size": 1000,
            "watch_config": True,
        },
        "risk": {"day_boundary_tz": "UTC", "daily_loss_limit_usd": 500.0},
        "fade": {"global_exposure_cap_usd": 20000.0},
    },
    "last_reload": {
        "ok": True,
        "ts": ts(5, 6),
        "source": "file",
        "problems": [],
        "changes": {"risk.daily_loss_limit_usd": {"old": 400.0, "new": 500.0}},
        "restart_required": {},
    },
}

POSITIONS: list[dict[str, Any]] = [
    {
        "book_id": "fade:gemini-3-pro",
        "kind": "fade",
        "venue": "hyperliquid",
        "symbol": "BTC",
        "size": "-0.5",
        "entry_price": "96500",
        "mark_price": "97000",
        "notional": 48500.0,
        "unrealized_pnl": -250.0,
        "opened_at": ts(3),
    },
    {
        "book_id": "fade:qwen3-max",
        "kind": "fade",
        "venue": "hyperliquid",
        "symbol": "ETH",
        "size": "4.2",
        "entry_price": "3401.5",
        "mark_price": "3420.25",
        "notional": 14365.05,
        "unrealized_pnl": 78.75,
        "opened_at": ts(2),
    },
    {
        "book_id": "arena:momentum",
        "kind": "arena_model",
        "venue": "alpaca",
        "symbol": "NVDA",
        "size": "10",
        "entry_price": "120.50",
        "mark_price": "121.10",
        "notional": 1211.0,
        "unrealized_pnl": 6.0,
        "opened_at": ts(1),
    },
]


def _curve(start: float, step: float, n: int = 60) -> list[dict[str, Any]]:
    out, v = [], start
    for i in range(n):
        v += step * (1 if (i * 7) % 5 < 3 else -1.3)
        out.append({"ts": ts(i), "equity": round(v, 2)})
    return out


EQUITY = {
    "series": {"fade_aggregate": _curve(10_000, 12.0), "bots_aggregate": _curve(10_000, -10.0)}
}

FADE_BOTS: list[dict[str, Any]] = [
    {
        "bot_id": "gemini-3-pro",
        "name": "Gemini 3 Pro",
        "wallet": "0x1b7a",
        "book_id": "bot:gemini-3-pro",
        "fade_book_id": "fade:gemini-3-pro",
        "enabled": True,
        "paused": False,
        "multiplier": 1.0,
        "positions": [
            {
                "symbol": "BTC",
                "bot_size": "0.5",
                "fade_size": "-0.5",
                "mark_price": "97000",
                "fade_entry_price": "96500",
                "fade_unrealized_pnl": -250.0,
            }
        ],
        "fade_realized_pnl": 120.0,
        "fade_unrealized_pnl": -250.0,
        "fade_equity": 9870.0,
        "last_fill_time": ts(3),
        "ingest": "ws",
    },
    {
        "bot_id": "qwen3-max",
        "name": "Qwen3 Max",
        "wallet": "0x2c8b",
        "book_id": "bot:qwen3-max",
        "fade_book_id": "fade:qwen3-max",
        "enabled": True,
        "paused": True,
        "multiplier": 0.5,
        "positions": [
            {
                "symbol": "ETH",
                "bot_size": "-8.4",
                "fade_size": "4.2",
                "mark_price": "3420.25",
                "fade_entry_price": "3401.5",
                "fade_unrealized_pnl": 78.75,
            }
        ],
        "fade_realized_pnl": -40.5,
        "fade_unrealized_pnl": 78.75,
        "fade_equity": 10038.25,
        "last_fill_time": ts(2),
        "ingest": "ws",
    },
]

FADE_DECISIONS: list[dict[str, Any]] = [
    {
        "id": 2,
        "ts": ts(4),
        "bot_id": "qwen3-max",
        "event": {
            "event_type": "fill",
            "symbol": "SOL",
            "side": "buy",
            "size": "30",
            "price": "180.2",
            "hash": "0xabc",
        },
        "decision": "skip",
        "reason": "bot paused",
        "skip_reason": "bot paused by operator",
        "guards": [
            {"name": "kill_switch", "allowed": True, "reason": "trading active"},
            {"name": "bot_enabled", "allowed": False, "reason": "paused by operator"},
        ],
        "order": None,
        "chat": None,
    },
    {
        "id": 1,
        "ts": ts(3),
        "bot_id": "gemini-3-pro",
        "event": {
            "event_type": "fill",
            "symbol": "BTC",
            "side": "buy",
            "size": "0.5",
            "price": "96500",
            "hash": "0xdef",
        },
        "decision": "execute",
        "reason": "fade 0.5 BTC x1.0",
        "skip_reason": None,
        "guards": [
            {"name": "kill_switch", "allowed": True, "reason": "trading active"},
            {"name": "asset_cap", "allowed": True, "reason": "BTC 4,100 / 10,000 USD"},
            {"name": "daily_loss", "allowed": True, "reason": "-12.50 / -500.00 USD"},
        ],
        "order": {
            "client_order_id": "0x01",
            "side": "sell",
            "size": "0.5",
            "price": "96490",
            "status": "filled",
        },
        "chat": {
            "ts": ts(2, 50),
            "model": "gemini-3-pro",
            "summary": "BTC broke resistance at 96k; going long with a tight stop.",
            "text": "Momentum is strong and funding is neutral.",
        },
    },
]

LEADERBOARD: list[dict[str, Any]] = [
    {
        "rank": 1,
        "rank_change": 2,
        "book_id": "fade:qwen3-max",
        "kind": "fade",
        "name": "Fade Qwen3 Max",
        "return_pct": 12.3,
        "sharpe": 1.4,
        "max_drawdown_pct": -8.2,
        "win_rate": 0.55,
        "profit_factor": 1.7,
        "trades": 42,
        "equity": 11230.0,
        "insufficient": False,
    },
    {
        "rank": 2,
        "rank_change": -1,
        "book_id": "arena:momentum",
        "kind": "arena_model",
        "name": "Momentum",
        "return_pct": 4.1,
        "sharpe": None,
        "max_drawdown_pct": -3.0,
        "win_rate": None,
        "profit_factor": None,
        "trades": 5,
        "equity": 10410.0,
        "insufficient": True,
        "insufficient_figures": ["sharpe", "sortino", "win_rate", "profit_factor"],
    },
    {
        "rank": 3,
        "rank_change": None,
        "book_id": "bot:qwen3-max",
        "kind": "bot",
        "name": "Qwen3 Max",
        "return_pct": -9.8,
        "sharpe": -1.1,
        "max_drawdown_pct": -15.5,
        "win_rate": 0.41,
        "profit_factor": 0.7,
        "trades": 40,
        "equity": 9020.0,
        "insufficient": False,
    },
]

ARENA_RUNS = [
    {
        "run_id": "r-1430",
        "started_at": ts(0),
        "finished_at": ts(1),
        "status": "partial",
        "trigger": "schedule",
        "models": 3,
        "decisions": 2,
        "errors": [{"model_id": "gpt-4o", "error": "invalid JSON"}],
    },
]
ARENA_MODELS = [
    {
        "model_id": "momentum",
        "book_id": "arena:momentum",
        "name": "Momentum",
        "provider": "baseline",
        "enabled": True,
        "paused": False,
    },
    {
        "model_id": "gpt-4o",
        "book_id": "arena:gpt-4o",
        "name": "GPT-4o",
        "provider": "openai",
        "enabled": True,
        "paused": True,
    },
]
ARENA_DECISIONS = [
    {
        "id": 9,
        "ts": ts(0, 30),
        "run_id": "r-1430",
        "book_id": "arena:momentum",
        "model_id": "momentum",
        "symbol": "NVDA",
        "action": "BUY",
        "quantity": "10",
        "entry_price": "120.5",
        "stop_loss": "115",
        "take_profit": "130",
        "confidence": 0.72,
        "timeframe": "swing",
        "reasoning": {"summary": "20-day momentum positive", "technical": "above 50-day MA"},
        "valid": True,
        "error": None,
        "raw": None,
        "order_status": "filled",
    },
]
COMPARISON = [
    {
        "symbol": "NVDA",
        "ts": ts(0, 30),
        "window_s": 300,
        "agreement": 0.5,
        "decisions": [
            {
                "book_id": "arena:momentum",
                "model_id": "momentum",
                "ts": ts(0, 30),
                "action": "BUY",
                "confidence": 0.72,
            },
            {
                "book_id": "arena:gpt-4o",
                "model_id": "gpt-4o",
                "ts": ts(0, 31),
                "action": "HOLD",
                "confidence": 0.4,
            },
        ],
    },
]
TRADES = [
    {
        "book_id": "fade:gemini-3-pro",
        "symbol": "ETH",
        "side": "short",
        "size": "2",
        "entry_price": "3450",
        "exit_price": "3400",
        "opened_at": ts(0),
        "closed_at": ts(2),
        "pnl": 100.0,
        "pnl_pct": 1.45,
        "exit_reason": "signal",
    },
]
ORDERS = [
    {
        "ts": ts(3),
        "book_id": "fade:gemini-3-pro",
        "symbol": "BTC",
        "side": "sell",
        "size": "0.5",
        "price": "96490",
        "type": "limit",
        "reduce_only": False,
        "status": "filled",
        "client_order_id": "0x01",
        "venue_order_id": "77",
        "error": None,
    },
]

# What today's daemon serves; planned commands answer unknown_command.
SERVED = ("status", "kill", "resume", "reload", "config", "events", "help")


class FakeDaemon:
    def __init__(self, *, engines: bool = True) -> None:
        self.up = True
        self.status = copy.deepcopy(STATUS)
        self.bots = copy.deepcopy(FADE_BOTS)
        self.models = copy.deepcopy(ARENA_MODELS)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.clients: list[FakeClient] = []
        self.connects = 0
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "status": lambda a: self.status,
            "kill": self._kill,
            "resume": self._resume,
            "reload": lambda a: CONFIG["last_reload"],
            "config": lambda a: CONFIG,
            "events": lambda a: EVENTS,
            "help": lambda a: {},
            "subscribe": lambda a: {"subscribed": a.get("topics", "all")},
        }
        if engines:
            self.handlers |= {
                "positions": lambda a: POSITIONS,
                "equity": lambda a: EQUITY,
                "fade.bots": lambda a: self.bots,
                "fade.decisions": lambda a: FADE_DECISIONS,
                "fade.pause": lambda a: self._set(self.bots, "bot_id", a, True),
                "fade.resume": lambda a: self._set(self.bots, "bot_id", a, False),
                "leaderboard": lambda a: [
                    r for r in LEADERBOARD if not a.get("kind") or r["kind"] == a["kind"]
                ],
                "arena.runs": lambda a: ARENA_RUNS,
                "arena.models": lambda a: self.models,
                "arena.run_now": lambda a: {"run_id": "r-1500", "status": "running"},
                "arena.decisions": lambda a: ARENA_DECISIONS,
                "arena.pause": lambda a: self._set(self.models, "model_id", a, True),
                "arena.resume": lambda a: self._set(self.models, "model_id", a, False),
                "decision_comparison": lambda a: COMPARISON,
                "trades": lambda a: [
                    t for t in TRADES if not a.get("symbol") or t["symbol"] == a["symbol"]
                ],
                "orders": lambda a: ORDERS,
                "position.close": lambda a: {**a, "client_order_id": "0x99", "status": "submitted"},
            }

    def _kill(self, args: dict[str, Any]) -> dict[str, Any]:
        self.status["kill_switch"] = {
            "engaged": True,
            "by": "operator",
            "reason": args.get("reason"),
            "activated_at": ts(6),
            "deactivated_at": None,
        }
        self.status["trading_state"] = "HALTED"
        return self._guard()

    def _resume(self, _args: dict[str, Any]) -> dict[str, Any]:
        self.status["kill_switch"] = {
            **self.status["kill_switch"],
            "engaged": False,
            "deactivated_at": ts(7),
        }
        self.status["trading_state"] = "ACTIVE"
        return self._guard()

    def _guard(self) -> dict[str, Any]:
        return {
            k: self.status[k]
            for k in ("trading_state", "kill_switch", "daily_pnl", "daily_loss_limit_usd")
        }

    @staticmethod
    def _set(rows: list[dict[str, Any]], key: str, args: dict[str, Any], paused: bool) -> Any:
        for r in rows:
            if r[key] == args.get(key):
                r["paused"] = paused
                return r
        raise ControlError("invalid_args", f"unknown {key} {args.get(key)!r}")

    def commands(self, name: str) -> list[dict[str, Any]]:
        return [a for c, a in self.requests if c == name]

    # --- the client side ---
    def factory(self) -> FakeClient:
        return FakeClient(self)

    def push(self, topic: str, data: dict[str, Any], at: str = TS) -> None:
        for c in self.clients:
            if c.subscribed:
                c.queue.put_nowait({"event": topic, "ts": at, "data": data})

    def go_down(self) -> None:
        self.up = False
        for c in self.clients:
            c.queue.put_nowait(None)
        self.clients.clear()

    def come_up(self) -> None:
        self.up = True


class FakeClient:
    def __init__(self, daemon: FakeDaemon) -> None:
        self.daemon = daemon
        self.socket_path = SOCKET
        self.dropped_events = 0
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.subscribed = False
        self.closed = False

    async def connect(self, timeout: float = 5.0) -> FakeClient:
        if not self.daemon.up:
            raise DaemonNotRunning(SOCKET)
        self.daemon.connects += 1
        self.daemon.clients.append(self)
        return self

    async def close(self) -> None:
        self.closed = True

    async def request(self, cmd: str, timeout: float = 30.0, **args: Any) -> Any:
        if not self.daemon.up or self.closed:
            raise DaemonNotRunning(SOCKET)
        self.daemon.requests.append((cmd, args))
        handler = self.daemon.handlers.get(cmd)
        if handler is None:
            raise ControlError("unknown_command", f"unknown command {cmd!r}; try `help`")
        await asyncio.sleep(0)
        return copy.deepcopy(handler(args))

    async def subscribe(self, topics: list[str] | None = None) -> None:
        await self.request("subscribe", **({"topics": topics} if topics else {}))
        self.subscribed = True

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            yield item


def screen_text(app: Any) -> str:
    """The current screen as plain text (what the operator would read)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


async def wait_until(
    pilot: Any, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition"
) -> Any:
    """Let the app run until ``predicate()`` holds; fail at the deadline (never a bare sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.01)
