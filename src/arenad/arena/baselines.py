"""Baseline models: deterministic, offline decision rules that every LLM must beat.

Same input (bars, book, slot) → same decision, always: the random baseline seeds its generator
from its seed, the slot key and the symbol (sha256, not ``hash()``, which is salted per
process), so a re-run slot decides exactly as the first time.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from arenad.arena.decision import Decision, Reasoning, hold
from arenad.arena.ledger import Ledger
from arenad.arena.market import Bar, rsi, sma
from arenad.arena.rails import market_entry
from arenad.arena.settings import BaselineSettings, RailsSettings

CENT = Decimal("0.01")


def _qty(
    equity: Decimal, cash: Decimal, price: Decimal, b: BaselineSettings, rails: RailsSettings
) -> int:
    budget = min(equity * b.position_fraction, cash, rails.max_position_size)
    if price <= 0 or budget <= 0:
        return 0
    # Baselines buy at the market: the rails judge that at the allowance-padded price.
    judged = market_entry("buy", price, rails.market_allowance_bps).judged
    return int((budget / judged).to_integral_value(rounding=ROUND_DOWN))


def _buy(
    symbol: str, price: Decimal, qty: int, b: BaselineSettings, why: str, conf: float = 0.6
) -> Decision:
    return Decision(
        symbol=symbol,
        action="BUY",
        quantity=qty,
        entry_price=None,
        stop_loss=(price * (1 - b.stop_loss_pct)).quantize(CENT, ROUND_HALF_UP)
        if b.kind != "buy_and_hold"
        else None,
        take_profit=(price * (1 + b.take_profit_pct)).quantize(CENT, ROUND_HALF_UP)
        if b.kind != "buy_and_hold"
        else None,
        confidence=conf,
        timeframe="long-term" if b.kind == "buy_and_hold" else b.timeframe,
        reasoning=Reasoning(technical=why, summary=f"{b.kind}: {why}"),
    )


def _sell(symbol: str, qty: Decimal, why: str, kind: str) -> Decision:
    return Decision(
        symbol=symbol,
        action="SELL",
        quantity=int(qty),
        confidence=0.6,
        reasoning=Reasoning(technical=why, summary=f"{kind}: {why}"),
    )


def decide(  # noqa: C901
    b: BaselineSettings,
    symbol: str,
    bars: Sequence[Bar],
    ledger: Ledger,
    equity: Decimal,
    rails: RailsSettings,
    slot_key: str,
) -> Decision:
    if not bars:
        return hold(symbol, f"{b.kind}: no bars for {symbol}")
    price = bars[-1].close
    held = ledger.qty(symbol)
    closes = [float(x.close) for x in bars]
    if b.kind == "buy_and_hold":
        if held > 0:
            return hold(symbol, "buy_and_hold: holding")
        q = _qty(equity, ledger.cash, price, b, rails)
        return _buy(symbol, price, q, b, "buy once and keep") if q else hold(symbol, "no cash")
    if b.kind == "momentum":
        fast, slow = sma(closes, b.fast), sma(closes, b.slow)
        if fast is None or slow is None:
            return hold(symbol, f"momentum: {len(bars)} bars, needs {b.slow}")
        if fast > slow and held <= 0:
            q = _qty(equity, ledger.cash, price, b, rails)
            why = f"SMA{b.fast} {fast:.2f} above SMA{b.slow} {slow:.2f}"
            return _buy(symbol, price, q, b, why) if q else hold(symbol, "no cash")
        if fast < slow and held > 0:
            return _sell(
                symbol, held, f"SMA{b.fast} {fast:.2f} below SMA{b.slow} {slow:.2f}", b.kind
            )
        return hold(symbol, f"momentum: SMA{b.fast} {fast:.2f} vs SMA{b.slow} {slow:.2f}")
    if b.kind == "rsi_reversion":
        r = rsi(closes, b.rsi_period)
        if r is None:
            return hold(symbol, f"rsi_reversion: {len(bars)} bars, needs {b.rsi_period + 1}")
        if r < b.oversold and held <= 0:
            q = _qty(equity, ledger.cash, price, b, rails)
            return (
                _buy(symbol, price, q, b, f"RSI {r:.1f} oversold") if q else hold(symbol, "no cash")
            )
        if r > b.overbought and held > 0:
            return _sell(symbol, held, f"RSI {r:.1f} overbought", b.kind)
        return hold(symbol, f"rsi_reversion: RSI {r:.1f}")
    if b.kind == "random":
        seed = hashlib.sha256(f"{b.seed}|{slot_key}|{symbol}".encode()).digest()
        rng = random.Random(int.from_bytes(seed[:8], "big"))
        if rng.random() >= b.trade_probability:
            return hold(symbol, "random: no trade this time")
        if held > 0:
            return _sell(symbol, held, "random: sell", b.kind)
        q = _qty(equity, ledger.cash, price, b, rails)
        return (
            _buy(symbol, price, q, b, "random: buy", conf=rng.random())
            if q
            else hold(symbol, "no cash")
        )
    raise AssertionError(b.kind)
