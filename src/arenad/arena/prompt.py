"""The prompt a model gets for one symbol: the market, its own book, its rails, the schema.

Pure text building, so the exact prompt of any call can be reproduced and is stored with the
call. Each call is about one symbol (small prompts, one failure costs one symbol), but shows
every allowed symbol's snapshot and the whole book so the model can size against the rest of
its portfolio.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from arenad.arena.decision import DECISION_JSON_SCHEMA
from arenad.arena.ledger import Ledger
from arenad.arena.market import Bar, Indicators
from arenad.arena.settings import RailsSettings

SYSTEM = """You are {name}, a trader competing in an arena of AI models. Each model paper \
trades US stocks on its own virtual account; the leaderboard ranks return, Sharpe ratio and \
drawdown. You decide for ONE symbol per message.

Rules you must respect (orders breaking them are refused and you hold):
- Only these symbols: {symbols}.
- A position may not exceed {max_pos} USD (shares held after the order x price; without \
an entry_price the price is the last price plus {allowance}% for spread and slippage).
- At most {max_open} open positions.
- Losing {max_loss} USD in a day stops your trading for the rest of that day.
- {short_rule}
- Quantities are whole shares. BUY: stop_loss below and take_profit above the entry. \
SELL to open a short: stop_loss above and take_profit below.
- Stops and targets are enforced automatically from live prices; timeframe sets how long \
a position may live (day: closed before the session ends).

Answer with ONE JSON object and nothing else, matching this JSON schema:
{schema}
Use action HOLD (quantity null) when you would not trade."""


@dataclass(frozen=True, slots=True)
class BookStats:
    """Standing figures of the model's book the prompt reports (from the metrics engine)."""

    sharpe: float | None = None
    max_drawdown_pct: float | None = None
    trades: int | None = None
    win_rate: float | None = None


def system_prompt(name: str, rails: RailsSettings) -> str:
    return SYSTEM.format(
        name=name,
        symbols=", ".join(rails.allowed_symbols),
        max_pos=rails.max_position_size,
        allowance=rails.market_allowance_bps / 100,
        max_open=rails.max_open_positions,
        max_loss=rails.max_daily_loss,
        short_rule=(
            "SELL may open a short position."
            if rails.allow_short
            else "No short selling: SELL only sells shares you hold."
        ),
        schema=json.dumps(DECISION_JSON_SCHEMA, separators=(",", ":")),
    )


def _bar_rows(bars: Sequence[Bar], n: int) -> str:
    rows = ["date,open,high,low,close,volume"]
    for b in bars[-n:]:
        rows.append(f"{b.t.date().isoformat()},{b.open},{b.high},{b.low},{b.close},{b.volume}")
    return "\n".join(rows)


def user_prompt(
    *,
    symbol: str,
    now: datetime,
    bars: Mapping[str, Sequence[Bar]],
    indicators: Mapping[str, Indicators],
    ledger: Ledger,
    marks: Mapping[str, Decimal],
    stats: BookStats,
    prompt_bars: int,
    sitting_out: bool = False,
) -> str:
    eq = ledger.equity(marks)
    ret = (eq / ledger.initial_capital - 1) * 100 if ledger.initial_capital else Decimal(0)
    lines = [
        f"Time: {now.isoformat()}",
        f"Decide for: {symbol}",
        "",
        "## Your book",
        f"Cash: {ledger.cash:.2f} USD. Equity: {eq:.2f} USD (start {ledger.initial_capital}, "
        f"return {ret:.2f}%). Realized P&L: {ledger.realized_pnl:.2f}. "
        f"Today's P&L: {ledger.day_pnl(marks):.2f}.",
        "Sharpe so far: "
        + ("n/a (too few observations)" if stats.sharpe is None else f"{stats.sharpe:.2f}")
        + (
            f"; max drawdown {stats.max_drawdown_pct:.2f}%"
            if stats.max_drawdown_pct is not None
            else ""
        )
        + (f"; {stats.trades} closed trades" if stats.trades is not None else "")
        + (f", win rate {stats.win_rate:.0%}" if stats.win_rate is not None else "")
        + ".",
    ]
    if sitting_out:
        lines.append("You hit the daily loss limit: only exits are possible today.")
    if ledger.positions:
        lines.append(
            "Positions (symbol, shares, entry, last, unrealized P&L, stop, target, "
            "timeframe, opened):"
        )
        for p in ledger.positions.values():
            mark = marks.get(p.symbol, p.avg_price)
            lines.append(
                f"- {p.symbol} {p.qty} @ {p.avg_price:.2f}, last {mark}, "
                f"P&L {p.unrealized(mark):.2f}, stop {p.stop_loss or '-'}, "
                f"target {p.take_profit or '-'}, {p.timeframe}, {p.opened_at.date()}"
            )
    else:
        lines.append("Positions: none.")
    lines += ["", "## Market (indicators per symbol)"]
    for sym, ind in indicators.items():
        lines.append(f"{sym}: " + json.dumps(ind.wire(), separators=(",", ":")))
    lines += ["", f"## Recent bars of {symbol}", _bar_rows(bars.get(symbol, ()), prompt_bars)]
    lines += ["", f"Your decision for {symbol} as one JSON object:"]
    return "\n".join(lines)
