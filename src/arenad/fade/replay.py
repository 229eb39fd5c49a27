"""Replay recorded Alpha Arena round trips through the fade engine (``arenad replay nof1``).

Each recorded trade (nof1 ``/api/trades``) becomes two bot fills — the entry and the exit, at
their recorded prices, sizes, times and commissions — fed in time order through the same
``FadeEngine`` the daemon runs, with every guard that limits size switched off (the point is
the strategy's P&L, not the risk limits). The fade's orders fill at the bot's recorded price
moved against us by ``slippage_bps``, paying ``fee_bps`` on their notional. With no slippage,
no fee and a multiplier of 1, each fade book's realized P&L is exactly the negative of its
bot's recorded gross P&L; with fees, lower by exactly the fees charged.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from arenad.fade.accounting import ZERO
from arenad.fade.engine import FadeEngine, FillResult
from arenad.fade.settings import FadeBotSettings, FadeSettings
from arenad.guards.trading import TradingState
from arenad.venues.hyperliquid.wire import BotFill

BPS = Decimal(10_000)


class ReplayError(ValueError):
    pass


@dataclass
class BotResult:
    bot: str
    trades: int = 0
    bot_realized_pnl: Decimal = ZERO  # recorded gross
    bot_realized_net_pnl: Decimal = ZERO  # recorded, after the bot's commissions
    fade_gross_pnl: Decimal = ZERO
    fade_fees: Decimal = ZERO
    fade_orders: int = 0
    skipped: list[str] = field(default_factory=list)
    trip_net: dict[str, Decimal] = field(default_factory=dict)
    """The fade's P&L net of its fees per recorded round trip of the bot (both legs)."""
    trip_exit_ms: dict[str, int] = field(default_factory=dict)
    fadeability: dict[str, Any] | None = None
    """Set by ``fadeability``: the fade's net return and whether it is luck."""

    def trip_series(self) -> list[Decimal]:
        """``trip_net`` in the order the bot's trips closed."""
        order = sorted(self.trip_net, key=lambda k: (self.trip_exit_ms.get(k, 0), k))
        return [self.trip_net[k] for k in order]

    @property
    def fade_realized_pnl(self) -> Decimal:
        return self.fade_gross_pnl - self.fade_fees

    def as_json(self) -> dict[str, Any]:
        return {
            "bot": self.bot,
            "trades": self.trades,
            "bot_realized_pnl": float(self.bot_realized_pnl),
            "bot_realized_net_pnl": float(self.bot_realized_net_pnl),
            "fade_realized_pnl": float(self.fade_realized_pnl),
            "fade_gross_pnl": float(self.fade_gross_pnl),
            "fade_fees": float(self.fade_fees),
            "fade_orders": self.fade_orders,
            "fadeability": self.fadeability,
        }


def _dec(row: dict[str, Any], key: str, what: str) -> Decimal:
    v = row.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise ReplayError(f"{what}: field {key!r} must be a number, got {v!r}")
    try:
        d = Decimal(str(v))
    except InvalidOperation as e:
        raise ReplayError(f"{what}: field {key!r} is not a number: {v!r}") from e
    if not d.is_finite():
        raise ReplayError(f"{what}: field {key!r} is not finite: {v!r}")
    return d


def load_trades(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ReplayError(f"{path}: cannot read: {e.strerror}") from e
    except ValueError as e:
        raise ReplayError(f"{path}: not JSON: {e}") from e
    trades = doc.get("trades") if isinstance(doc, dict) else doc
    if not isinstance(trades, list):
        raise ReplayError(f"{path}: expected a list of trades or an object with 'trades'")
    return trades


def wallet_of(model_id: str) -> str:
    return "0x" + hashlib.sha256(f"nof1:{model_id}".encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class _Leg:
    model: str
    coin: str
    time_ms: int
    signed: Decimal
    px: Decimal
    fee: Decimal
    tid: int
    oid: int
    trade_id: str
    is_exit: bool


def legs(trades: Iterable[Any]) -> tuple[list[_Leg], dict[str, BotResult], list[str]]:
    """Entry and exit legs of every closed trade, and each model's recorded P&L. Trades that
    cannot be read are listed (with why), not guessed at."""
    out: list[_Leg] = []
    results: dict[str, BotResult] = {}
    errors: list[str] = []
    for i, t in enumerate(trades):
        what = f"trade {i}"
        try:
            if not isinstance(t, dict):
                raise ReplayError(f"{what}: not an object")
            what = f"trade {t.get('trade_id') or t.get('id') or i}"
            model, coin = t.get("model_id"), t.get("symbol")
            if not isinstance(model, str) or not model or not isinstance(coin, str) or not coin:
                raise ReplayError(f"{what}: needs 'model_id' and 'symbol'")
            side = t.get("side") or t.get("trade_type")
            if side not in ("long", "short"):
                raise ReplayError(f"{what}: field 'side' must be long or short, got {side!r}")
            if t.get("exit_time") is None:
                continue  # still open: nothing realized to compare
            sign = Decimal(1) if side == "long" else Decimal(-1)
            entry_sz = _dec(t, "entry_sz" if "entry_sz" in t else "quantity", what)
            exit_sz = _dec(t, "exit_sz" if "exit_sz" in t else "quantity", what)
            gross = _dec(t, "realized_gross_pnl", what)
            net = _dec(t, "realized_net_pnl", what) if "realized_net_pnl" in t else gross
            e_ms = int(_dec(t, "entry_time", what) * 1000)
            x_ms = int(_dec(t, "exit_time", what) * 1000)
            new = [
                _Leg(
                    model,
                    coin,
                    e_ms,
                    sign * entry_sz,
                    _dec(t, "entry_price", what),
                    _dec(t, "entry_commission_dollars", what)
                    if t.get("entry_commission_dollars") is not None
                    else ZERO,
                    int(t.get("entry_tid") or 0),
                    int(t.get("entry_oid") or 0),
                    what,
                    False,
                ),
                _Leg(
                    model,
                    coin,
                    x_ms,
                    -sign * exit_sz,
                    _dec(t, "exit_price", what),
                    _dec(t, "exit_commission_dollars", what)
                    if t.get("exit_commission_dollars") is not None
                    else ZERO,
                    int(t.get("exit_tid") or 0),
                    int(t.get("exit_oid") or 0),
                    what,
                    True,
                ),
            ]
        except ReplayError as e:
            errors.append(str(e))
            continue
        out += new
        r = results.setdefault(model, BotResult(model))
        r.trades += 1
        r.bot_realized_pnl += gross
        r.bot_realized_net_pnl += net
    # Time order; at the same instant an exit before an entry (a flip is close-then-open).
    out.sort(key=lambda g: (g.time_ms, not g.is_exit, g.trade_id))
    return out, results, errors


def replay(
    trades: Iterable[Any],
    *,
    slippage_bps: Decimal = ZERO,
    fee_bps: Decimal = ZERO,
    multiplier: Decimal = Decimal(1),
) -> tuple[list[BotResult], list[str], int]:
    """Run the recorded trades through the engine; per-bot results, unreadable trades, and
    the number of fills processed."""
    leg_list, results, errors = legs(trades)
    bots = [
        FadeBotSettings(id=_bot_id(m), name=m, wallet=wallet_of(m), leverage_multiplier=multiplier)
        for m in sorted(results)
    ]
    settings = FadeSettings(
        bots=bots,
        global_exposure_cap_usd=None,
        default_asset_cap_usd=None,
        max_order_notional_usd=None,
        max_orders_per_minute=10_000,
        min_order_notional_usd=ZERO,
        taker_fee_bps=fee_bps,
        slippage_bps=slippage_bps,
    )
    engine = FadeEngine(settings, default_sz_decimals=8)
    by_id = {_bot_id(m): m for m in results}
    position: dict[tuple[str, str], Decimal] = {}
    slip = slippage_bps / BPS
    for n, g in enumerate(leg_list):
        bot_id = _bot_id(g.model)
        start = position.get((bot_id, g.coin), ZERO)
        position[(bot_id, g.coin)] = start + g.signed
        fill = BotFill(
            wallet=wallet_of(g.model),
            coin=g.coin,
            px=g.px,
            sz=abs(g.signed),
            side="B" if g.signed > 0 else "A",
            dir="",
            start_position=start,
            closed_pnl=ZERO,
            fee=g.fee,
            fee_token="USDC",  # noqa: S106 - a coin
            hash=f"replay:{g.trade_id}",
            tid=g.tid or n,
            oid=g.oid,
            time_ms=g.time_ms,
            crossed=True,
            raw={},
        )
        marks = {g.coin: g.px}
        res = results[g.model]
        res.trip_net.setdefault(g.trade_id, ZERO)
        if g.is_exit:
            res.trip_exit_ms[g.trade_id] = g.time_ms
        decisions, plans = engine.on_bot_fills(
            bot_id,
            [fill],
            marks=marks,
            state=TradingState.ACTIVE,
            day_pnl=None,
            now_s=g.time_ms / 1000,
        )
        for d in decisions:
            if not d.execute and d.skip_reason != "fade book already at its target":
                results[by_id[d.bot_id]].skipped.append(f"{d.coin}@{d.time_ms}: {d.reason}")
        for plan in plans:
            if not plan.size:
                engine.apply_fill(plan, FillResult("filled"), g.time_ms, g.px)
                continue
            px = g.px * (1 + slip) if plan.is_buy else g.px * (1 - slip)
            size = abs(plan.size)
            fee = size * px * fee_bps / BPS
            out = engine.apply_fill(plan, FillResult("filled", size, px, fee), g.time_ms)
            for book_id, realized in out.realized.items():
                r = results[by_id[book_id.split(":", 1)[1]]]
                r.fade_gross_pnl += realized
                r.fade_fees += out.fees[book_id]
                r.fade_orders += 1
                if r is res:
                    res.trip_net[g.trade_id] += realized - out.fees[book_id]
    return [results[m] for m in sorted(results)], errors, len(leg_list)


@functools.lru_cache(maxsize=1024)
def _bot_id(model: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in model.lower())
    return cleaned[:40] or "bot"


def fadeability(results: list[BotResult], capital: Decimal, min_points: int) -> list[BotResult]:
    """Per bot: the fade's return net of fees and slippage (its realized P&L over
    ``capital``), and — on its per-round-trip net returns — PSR, DSR among the bots
    replayed (N = bots with a Sharpe, V[SR] their variance), minimum track record and the
    verdict (arenad.metrics.significance). Sets ``fadeability`` on each result."""
    import numpy as np

    from arenad.metrics import significance as sig

    cap = float(capital)
    series = [np.asarray([float(x) / cap for x in r.trip_series()], np.float64) for r in results]
    mom = [sig.moments(x) if len(x) >= min_points else None for x in series]
    n_trials, var_sr = sig.cross_section([m.sr if m else None for m in mom])
    for r, x, m in zip(results, series, mom, strict=True):
        s = sig.significance(
            x, n_trials=max(n_trials, 1), var_sr=var_sr, min_points=min_points, m=m
        )
        r.fadeability = {
            "capital_usd": cap,
            "net_pnl": float(r.fade_realized_pnl),
            "net_return": float(r.fade_realized_pnl) / cap,
            "trips": len(x),
            "psr": s.psr,
            "dsr": s.dsr,
            "dsr_trials": s.dsr_trials,
            "min_track_record_length": s.min_track_record_length,
            "sharpe_ci": s.sharpe_ci,
            "verdict": s.verdict,
            "flags": {k: v for k, v in s.flags.items() if k != "psr_vs_benchmark"},
        }
    return results
