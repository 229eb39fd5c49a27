"""What each arena model's decisions cost and how it behaves (from the LLM call log and the
decision log of migration 0005), how well its stated confidence predicts outcomes, what fading
each watched bot earns, and how crowded each book's positions are.

All figures are all-time. Definitions:

- ``cost_usd``: the sum of ``llm_calls.cost_usd`` (priced at call time from the model's
  ``[[arena.models]] input_price_per_mtok`` / ``output_price_per_mtok``); every HTTP attempt
  counts, retries included. Baselines make no call and cost exactly 0.
- ``cost_per_decision_usd``: ``cost_usd`` over the model's decisions (one per symbol per run,
  valid or not).
- ``parse_failure_rate``: answers that were not a valid decision over answers received
  (decisions whose call failed — no answer at all — are counted in ``call_failure_rate``
  instead).
- ``rail_refusal_rate``: orders the rails blocked over orders proposed.
- ``hold_rate``: HOLD over valid decisions.
- ``return_per_inference_usd``: the book's all-time P&L (USD) per inference dollar.
- Calibration: for every decision that opened a round trip (its order's id is the trip's
  entry order), the stated confidence against the outcome (P&L > 0): Brier score and a
  reliability table over confidence deciles. The tracker's nof1 models likewise, where a
  chat's decision to enter is followed by a closed trip (matched in time: ``NOF1_MATCH_S``).
- Fadeability of ``fade:<bot>``: realized P&L − fees + funding received, over the fade
  book's capital (slippage is in the fill prices), with the board's PSR/DSR/verdict.
- Crowding of a book: the mean, over every other book with an open position, of the share
  of this book's open (symbol, side) pairs the other also holds.

A figure that cannot be a number (no decision yet, no priced call, no position) is None and
named in ``flags``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import aiosqlite
import numpy as np

from arenad.metrics.board import Standing
from arenad.metrics.significance import brier, reliability_table
from arenad.store.db import parse_iso


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass
class ModelBehaviour:
    provider: str | None = None
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    priced_calls: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    decisions: int = 0
    answers: int = 0
    parse_failures: int = 0
    call_failures: int = 0
    proposed_orders: int = 0
    rail_refusals: int = 0
    holds: int = 0
    cost_per_decision_usd: float | None = None
    parse_failure_rate: float | None = None
    call_failure_rate: float | None = None
    rail_refusal_rate: float | None = None
    hold_rate: float | None = None
    return_per_inference_usd: float | None = None
    flags: dict[str, str] = field(default_factory=dict)

    def finish(self) -> ModelBehaviour:
        self.cost_per_decision_usd = (
            0.0 if self.provider == "baseline" else _rate_f(self.cost_usd, self.decisions)
        )
        if self.provider != "baseline" and self.calls and not self.priced_calls:
            self.flags["cost_usd"] = "no_price"  # tokens unknown or the model has no price
        self.parse_failure_rate = _rate(self.parse_failures, self.answers)
        self.call_failure_rate = _rate(self.call_failures, self.decisions)
        self.rail_refusal_rate = _rate(self.rail_refusals, self.proposed_orders)
        self.hold_rate = _rate(self.holds, self.answers - self.parse_failures)
        for k, why in (
            ("cost_per_decision_usd", "no_decision"),
            ("parse_failure_rate", "no_answer"),
            ("call_failure_rate", "no_decision"),
            ("rail_refusal_rate", "no_order_proposed"),
            ("hold_rate", "no_valid_decision"),
            ("latency_p50_ms", "no_call"),
            ("latency_p95_ms", "no_call"),
        ):
            if getattr(self, k) is None:
                self.flags[k] = why
        return self

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate_f(num: float, den: int) -> float | None:
    return num / den if den else None


async def model_behaviour(conn: aiosqlite.Connection) -> dict[str, ModelBehaviour]:
    """Every arena book's cost and behaviour, by book id."""
    out: dict[str, ModelBehaviour] = {}
    cur = await conn.execute("SELECT book_id, provider FROM books WHERE kind = 'arena_model'")
    for book_id, provider in await cur.fetchall():
        out[book_id] = ModelBehaviour(provider=provider)

    def get(book_id: str) -> ModelBehaviour:
        return out.setdefault(book_id, ModelBehaviour())

    cur = await conn.execute(
        "SELECT book_id, count(*), coalesce(sum(input_tokens), 0),"
        " coalesce(sum(output_tokens), 0), coalesce(sum(cost_usd), 0), count(cost_usd)"
        " FROM llm_calls GROUP BY book_id"
    )
    for book_id, n, tin, tout, cost, priced in await cur.fetchall():
        b = get(book_id)
        b.calls, b.input_tokens, b.output_tokens = int(n), int(tin), int(tout)
        b.cost_usd, b.priced_calls = float(cost), int(priced)
    cur = await conn.execute("SELECT book_id, duration_ms FROM llm_calls ORDER BY book_id")
    lat: dict[str, list[float]] = {}
    for book_id, ms in await cur.fetchall():
        lat.setdefault(book_id, []).append(float(ms))
    for book_id, xs in lat.items():
        p50, p95 = np.percentile(np.asarray(xs), [50, 95])
        get(book_id).latency_p50_ms, get(book_id).latency_p95_ms = float(p50), float(p95)
    cur = await conn.execute(
        "SELECT book_id, count(*),"
        " coalesce(sum(valid = 0 AND coalesce(error, '') LIKE 'call failed:%'), 0),"
        " coalesce(sum(valid = 0 AND coalesce(error, '') NOT LIKE 'call failed:%'), 0),"
        " coalesce(sum(valid = 1 AND action = 'HOLD'), 0),"
        " coalesce(sum(rails_allowed IS NOT NULL), 0), coalesce(sum(rails_allowed = 0), 0)"
        " FROM arena_decisions GROUP BY book_id"
    )
    for book_id, n, call_fail, parse_fail, holds, proposed, refused in await cur.fetchall():
        b = get(book_id)
        b.decisions, b.call_failures, b.parse_failures = int(n), int(call_fail), int(parse_fail)
        b.answers = b.decisions - b.call_failures
        b.holds, b.proposed_orders, b.rail_refusals = int(holds), int(proposed), int(refused)
    return {k: v.finish() for k, v in out.items()}


NOF1_MATCH_S = 600.0
"""A nof1 chat decision opened a round trip when the trip (same book, symbol and side)
entered at most this long after it: the chats name no order, so the entry is matched in time
(nof1 decides every few minutes; the trade is placed within the cycle)."""


async def _nof1_pairs(conn: aiosqlite.Connection) -> dict[str, tuple[list[float], list[int]]]:
    """The tracker's nof1 chats where the outcome is known: each closed round trip of a nof1
    book paired with the latest decision to enter it (same symbol and side, stated
    confidence) in the ``NOF1_MATCH_S`` before its entry; each decision opens at most one."""
    cur = await conn.execute(
        "SELECT book_id, symbol, direction, ts, confidence FROM decision_log"
        " WHERE source = 'nof1' AND confidence IS NOT NULL AND direction IS NOT NULL"
        " ORDER BY book_id, symbol, ts"
    )
    decisions: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for book_id, symbol, direction, ts, conf in await cur.fetchall():
        decisions.setdefault((book_id, symbol, direction), []).append(
            (parse_iso(ts).timestamp(), float(conf))
        )
    cur = await conn.execute(
        "SELECT book_id, symbol, direction, entry_time, realized_pnl FROM trade_log"
        " WHERE source = 'nof1' ORDER BY book_id, entry_time, id"
    )
    used: set[tuple[tuple[str, str, str], int]] = set()
    out: dict[str, tuple[list[float], list[int]]] = {}
    for book_id, symbol, direction, entry, pnl in await cur.fetchall():
        key = (book_id, symbol, direction)
        ds = decisions.get(key)
        if not ds:
            continue
        t = parse_iso(entry).timestamp()
        best = None
        for i, (dt, _) in enumerate(ds):
            if dt > t:
                break
            if t - dt <= NOF1_MATCH_S and (key, i) not in used:
                best = i
        if best is None:
            continue
        used.add((key, best))
        c, o = out.setdefault(book_id, ([], []))
        c.append(ds[best][1])
        o.append(int(float(pnl) > 0))
    return out


async def calibration(conn: aiosqlite.Connection) -> dict[str, dict[str, Any]]:
    """Brier score and reliability table of each arena book's round-trip-opening decisions,
    and of the nof1 models' chats whose trades have closed."""
    cur = await conn.execute(
        "SELECT d.book_id, d.confidence, t.pnl FROM arena_trades t"
        " JOIN arena_decisions d ON d.client_order_id = t.entry_client_order_id"
        " WHERE d.confidence IS NOT NULL ORDER BY d.book_id, t.id"
    )
    pairs: dict[str, tuple[list[float], list[int]]] = {}
    for book_id, conf, pnl in await cur.fetchall():
        try:
            won = int(Decimal(str(pnl)) > 0)
        except InvalidOperation:
            continue  # an unreadable P&L is no outcome; the audit reports such rows
        c, o = pairs.setdefault(book_id, ([], []))
        c.append(float(conf))
        o.append(won)
    for book_id, co in (await _nof1_pairs(conn)).items():
        pairs.setdefault(book_id, co)
    return {
        book_id: {
            "brier": brier(c, o),
            "trips": len(c),
            "hit_rate": sum(o) / len(o),
            "mean_confidence": sum(c) / len(c),
            "reliability": reliability_table(c, o),
        }
        for book_id, (c, o) in pairs.items()
    }


def _dec(x: Any) -> Decimal:
    try:
        d = Decimal(str(x))
    except InvalidOperation:
        return Decimal(0)
    return d if d.is_finite() else Decimal(0)


async def fade_costs(conn: aiosqlite.Connection) -> dict[str, dict[str, float]]:
    """Per fade book: realized P&L, fees, funding received, and the net of the three."""
    cur = await conn.execute(
        "SELECT book_id, realized_pnl, fees, funding FROM fade_positions"
        " WHERE book_id LIKE 'fade:%'"
    )
    acc: dict[str, list[Decimal]] = {}
    for book_id, realized, fees, funding in await cur.fetchall():
        a = acc.setdefault(book_id, [Decimal(0)] * 3)
        a[0] += _dec(realized)
        a[1] += _dec(fees)
        a[2] += _dec(funding)
    return {
        b: {
            "realized_pnl": float(r),
            "fees": float(f),
            "funding": float(fu),
            "net_realized_pnl": float(r - f + fu),
        }
        for b, (r, f, fu) in acc.items()
    }


async def open_positions(conn: aiosqlite.Connection) -> dict[str, set[tuple[str, str]]]:
    """Every book's open (symbol, side) pairs: arena positions and fade/bot positions (the
    account's own row excluded)."""
    out: dict[str, set[tuple[str, str]]] = {}
    cur = await conn.execute("SELECT book_id, symbol, qty FROM arena_positions")
    rows = list(await cur.fetchall())
    cur = await conn.execute(
        "SELECT book_id, coin, size FROM fade_positions WHERE book_id <> 'account'"
    )
    rows += list(await cur.fetchall())
    for book_id, symbol, qty in rows:
        q = _dec(qty)
        if q:
            out.setdefault(book_id, set()).add((symbol, "long" if q > 0 else "short"))
    return out


def crowding(positions: Mapping[str, set[tuple[str, str]]]) -> dict[str, float]:
    """Per book with an open position: the mean over every other such book of the share of
    its (symbol, side) pairs the other also holds (0 alone or unshared, 1 all shared by all)."""
    out: dict[str, float] = {}
    held = {b: p for b, p in positions.items() if p}
    for b, mine in held.items():
        others = [p for o, p in held.items() if o != b]
        out[b] = float(np.mean([len(mine & p) / len(mine) for p in others])) if others else 0.0
    return out


@dataclass
class Extras:
    behaviour: dict[str, ModelBehaviour] = field(default_factory=dict)
    calibration: dict[str, dict[str, Any]] = field(default_factory=dict)
    fade_costs: dict[str, dict[str, float]] = field(default_factory=dict)
    crowding: dict[str, float] = field(default_factory=dict)


async def load_extras(conn: aiosqlite.Connection) -> Extras:
    return Extras(
        behaviour=await model_behaviour(conn),
        calibration=await calibration(conn),
        fade_costs=await fade_costs(conn),
        crowding=crowding(await open_positions(conn)),
    )


def attach(boards: Mapping[str, list[Standing]], extras: Extras) -> None:
    """Put the all-time cost, behaviour, calibration, fadeability and crowding figures on
    every standing of every timeframe (one value per book: they are not windowed)."""
    all_time = {s.book_id: s for s in boards.get("all_time", [])}
    for board in boards.values():
        for s in board:
            _attach_one(s, extras, all_time.get(s.book_id, s))


def _attach_one(s: Standing, extras: Extras, whole: Standing) -> None:
    flags = s.significance_flags
    s.crowding = extras.crowding.get(s.book_id)
    if s.crowding is None:
        flags["crowding"] = "no_open_position"
    if s.kind == "arena_model":
        b = extras.behaviour.get(s.book_id) or ModelBehaviour().finish()
        d = b.as_dict()
        d["flags"] = dict(b.flags)
        pnl = whole.total_pnl
        if b.cost_usd > 0 and pnl is not None:
            d["return_per_inference_usd"] = pnl / b.cost_usd
        else:
            d["flags"]["return_per_inference_usd"] = (
                "no_pnl" if pnl is None else "no_inference_cost"
            )
        s.behaviour = d
        s.calibration = extras.calibration.get(s.book_id)
        if s.calibration is None:
            flags["calibration"] = "no_round_trip_with_confidence"
    elif s.kind == "bot":
        s.calibration = extras.calibration.get(s.book_id)  # nof1 chats with known outcomes
    elif s.kind == "fade":
        costs = extras.fade_costs.get(
            s.book_id, {"realized_pnl": 0.0, "fees": 0.0, "funding": 0.0, "net_realized_pnl": 0.0}
        )
        cap = s.initial_capital
        s.fadeability = {
            **costs,
            "net_return": costs["net_realized_pnl"] / cap if cap else None,
            "total_return": whole.total_return,
            "psr": whole.psr,
            "dsr": whole.dsr,
            "verdict": whole.verdict,
            "trades": whole.trades,
        }
        if not cap:
            flags["fadeability.net_return"] = "no_initial_capital"
