"""Own-account reconciliation: the fade account book against the venue (live mode only).

At every upkeep pass, and at start-up once the intents left by the previous process are
resolved, the account's positions from ``clearinghouseState`` for our own address are compared
with the account book. The comparison is made only when it means something: no order in
flight (nothing pending in the engine) and no order result booked between the venue's answer
and the comparison (``FadeComponent.results`` unchanged), so an order racing the read is never
taken for a drift.

Any difference is a drift: an event naming the coin, our size, the venue's, and the cause when
one is found — a recent order booked ``not_sent``/``cancelled``/``rejected`` that the venue
reports filled. A drift worth more than ``account_drift_tolerance_usd`` at the mark moves
trading to ``account_drift_state`` (REDUCING, or HALTED: the kill switch by ``account_drift``).
Drifts are kept in ``fade_account_drift`` (0007) until the operator acknowledges them
(``fade.ack_drift``), so a restart does not forget one. A drift is its difference (venue −
ours) in a coin — orders move both sides alike — so the same difference found again is the
same drift, not a new event; a difference acknowledged without a resync is accepted and only
a change of it is a new drift.

Resync policy (explicit, only on the operator's word): ``fade.ack_drift {resync: true}``
first re-books each order the venue filled but the books called unfilled, from our own fills
(exactly as a lost answer is resolved: the order's books get their shares); whatever still
differs is booked at the mark on the fade book the operator names (``book_id``), on it and on
the account together, so the books keep summing to the account. Every correction is a
``decision_log`` row (source ``fade``, decision ``resync``) and is listed in the drift row's
``details``. Without ``resync`` the books are left as they are and trading resumes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import aiosqlite
import structlog

from arenad.control.protocol import InvalidArgs, ProtocolError
from arenad.errors import ArenadError
from arenad.fade.accounting import ZERO
from arenad.fade.engine import FillResult
from arenad.fade.store import _save_book, record_trips
from arenad.guards.trading import TradingState
from arenad.store.db import open_reader, utc_iso

if TYPE_CHECKING:
    from arenad.fade.component import FadeComponent

log = structlog.get_logger("arenad.fade.reconcile")
BY = "account_drift"
CAUSE_LOOKBACK = 10  # recent unfilled orders of the coin asked about when looking for a cause


@dataclass(slots=True)
class Drift:
    coin: str
    ours: Decimal
    venue: Decimal
    notional_usd: float | None
    cause: str | None
    trading_state: str | None
    detected_at: str
    id: int | None = None
    cleared_at: str | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "coin": self.coin,
            "ours": str(self.ours),
            "venue": str(self.venue),
            "difference": str(self.venue - self.ours),
            "notional_usd": self.notional_usd,
            "cause": self.cause,
            "trading_state": self.trading_state,
            "detected_at": self.detected_at,
            "cleared_at": self.cleared_at,
        }


def venue_positions(state: Mapping[str, Any]) -> dict[str, Decimal]:
    """Non-zero positions by coin from a ``clearinghouseState`` reply; ValueError naming what
    is malformed (a reply we cannot read is never taken for "no positions")."""
    aps = state.get("assetPositions")
    if not isinstance(aps, list):
        raise ValueError("clearinghouseState: assetPositions missing or not a list")
    out: dict[str, Decimal] = {}
    for ap in aps:
        try:
            p = ap["position"]
            size = Decimal(str(p["szi"]))
            coin = p["coin"]
        except (KeyError, TypeError, InvalidOperation) as e:
            raise ValueError(f"clearinghouseState: bad position {ap!r}: {e!r}") from None
        if not isinstance(coin, str) or not size.is_finite():
            raise ValueError(f"clearinghouseState: bad position {ap!r}")
        if size:
            out[coin] = out.get(coin, ZERO) + size
    return out


def differences(
    ours: Mapping[str, Decimal], venue: Mapping[str, Decimal]
) -> dict[str, tuple[Decimal, Decimal]]:
    """(ours, venue) for every coin where they differ."""
    return {
        c: (ours.get(c, ZERO), venue.get(c, ZERO))
        for c in sorted(set(ours) | set(venue))
        if ours.get(c, ZERO) != venue.get(c, ZERO)
    }


class AccountReconciler:
    def __init__(self, comp: FadeComponent) -> None:
        self.comp = comp
        self.open: dict[str, Drift] = {}  # unacknowledged drifts by coin (newest per coin)
        # Differences (venue - ours) the operator acknowledged without a resync, by coin: the
        # same difference is not a new drift (orders move both sides alike, not it).
        self.accepted: dict[str, Decimal] = {}
        self.last_check: str | None = None  # when a comparison was last made
        self.checks = 0

    @property
    def enabled(self) -> bool:
        return self.comp.live and self.comp.account_address is not None

    async def load(self) -> None:
        """The drifts not acknowledged before a restart."""
        async with open_reader(self.comp.ctx.db_path) as conn:
            cur = await conn.execute(
                "SELECT * FROM fade_account_drift WHERE acknowledged_at IS NULL ORDER BY id"
            )
            for r in await cur.fetchall():
                self.open[r["coin"]] = Drift(
                    r["coin"],
                    Decimal(r["ours"]),
                    Decimal(r["venue"]),
                    r["notional_usd"],
                    r["cause"],
                    r["trading_state"],
                    r["detected_at"],
                    r["id"],
                    r["cleared_at"],
                )
            cur = await conn.execute(
                "SELECT coin, ours, venue, resolution, cleared_at FROM fade_account_drift"
                " WHERE acknowledged_at IS NOT NULL ORDER BY id"
            )
            for r in await cur.fetchall():
                if r["resolution"] == "ack" and r["cleared_at"] is None:
                    self.accepted[r["coin"]] = Decimal(r["venue"]) - Decimal(r["ours"])
                else:
                    self.accepted.pop(r["coin"], None)

    def snapshot(self) -> dict[str, Any]:
        st = self.comp.settings
        return {
            "checked": self.enabled,
            "last_check": self.last_check,
            "tolerance_usd": float(st.account_drift_tolerance_usd),
            "state_on_drift": st.account_drift_state,
            "open": [d.wire() for d in self.open.values()],
        }

    # --- the comparison -------------------------------------------------------------------

    async def _read(self) -> dict[str, tuple[Decimal, Decimal]] | None:
        """The differences now, or None when no meaningful comparison can be made."""
        comp = self.comp
        assert comp.account_address is not None
        if comp.engine.pending:
            return None
        gen = comp.results
        try:
            state = await comp.info.clearinghouse_state(comp.account_address)
            venue = venue_positions(state)
        except ArenadError as e:
            log.warning("fade: own clearinghouseState failed", error=str(e))
            return None
        except ValueError as e:
            await comp.ctx.events.emit("warning", "trading", f"fade: reconciliation skipped: {e}")
            return None
        async with comp.lock:
            if comp.results != gen or comp.engine.pending:
                return None  # an order moved the books meanwhile: next pass
            ours = {c: p.size for c, p in comp.engine.account.positions.items() if p.size}
        self.last_check = utc_iso(comp.ctx.clock.now())
        self.checks += 1
        return differences(ours, venue)

    async def check(self) -> list[Drift] | None:
        """Compare once; the new drifts found (None: no comparison was possible)."""
        if not self.enabled:
            return None
        diffs = await self._read()
        if diffs is None:
            return None
        comp = self.comp
        now = utc_iso(comp.ctx.clock.now())
        for coin in [c for c in self.accepted if c not in diffs]:
            del self.accepted[coin]  # the books and the venue agree again
        diffs = {c: (o, v) for c, (o, v) in diffs.items() if self.accepted.get(c) != v - o}
        for coin, d in self.open.items():
            if coin not in diffs and d.cleared_at is None:
                d.cleared_at = now
                await comp.ctx.writer.execute(
                    "UPDATE fade_account_drift SET cleared_at = ? WHERE id = ?", (now, d.id)
                )
                await comp.ctx.events.emit(
                    "info",
                    "trading",
                    f"fade: the account book and the venue agree again in {coin} (the drift "
                    "stays open until acknowledged: fade.ack_drift)",
                    {"coin": coin, "drift_id": d.id},
                )
        found = []
        for coin, (ours, venue) in diffs.items():
            known = self.open.get(coin)
            if known is not None and known.venue - known.ours == venue - ours:
                known.cleared_at = None
                continue
            found.append(await self._record(coin, ours, venue, now))
        return found

    async def _record(self, coin: str, ours: Decimal, venue: Decimal, now: str) -> Drift:
        comp = self.comp
        st = comp.settings
        mark = comp.marks.get(coin)
        usd = float(abs(venue - ours) * mark) if mark else None
        cause, _ = await self.cause(coin)
        over = usd is None or Decimal(str(usd)) > st.account_drift_tolerance_usd
        moved: str | None = None
        reason = f"account drift in {coin}: the books hold {ours}, the venue {venue}"
        if over:
            guard = comp.ctx.guard
            if st.account_drift_state == "HALTED":
                if not guard.kill_switch.engaged:
                    await guard.engage(BY, reason)
                if guard.kill_switch.by == BY:
                    moved = "HALTED"
            elif guard.state is TradingState.ACTIVE:
                await guard.set_state(TradingState.REDUCING, BY, reason)
                moved = "REDUCING"
            elif any(d.trading_state == "REDUCING" for d in self.open.values()):
                moved = "REDUCING"  # reducing already for an earlier drift: still ours to lift
        drift = Drift(coin, ours, venue, usd, cause, moved, now)

        async def fn(conn: aiosqlite.Connection) -> int:
            cur = await conn.execute(
                "INSERT INTO fade_account_drift (coin, ours, venue, notional_usd, cause,"
                " trading_state, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (coin, str(ours), str(venue), usd, cause, moved, now),
            )
            return int(cur.lastrowid or 0)

        drift.id = await comp.ctx.writer.transaction(fn)
        self.open[coin] = drift
        usd_text = f"{usd:,.2f} USD" if usd is not None else "no mark"
        await comp.ctx.events.emit(
            "error" if over else "warning",
            "trading",
            f"fade: {reason} ({usd_text}); cause: {cause or 'unknown'}"
            + (f"; trading {moved} until acknowledged (fade.ack_drift)" if moved else ""),
            {
                "coin": coin,
                "ours": str(ours),
                "venue": str(venue),
                "notional_usd": usd,
                "cause": cause,
                "trading_state": moved,
                "drift_id": drift.id,
            },
            durable=True,
        )
        return drift

    async def cause(self, coin: str) -> tuple[str | None, list[tuple[dict[str, Any], FillResult]]]:
        """Recent orders in ``coin`` booked unfilled that the venue reports filled (from our
        own fills), with what the venue did: the explanation and what a resync re-books."""
        comp = self.comp
        async with open_reader(comp.ctx.db_path) as conn:
            cur = await conn.execute(
                "SELECT * FROM fade_orders WHERE coin = ? AND network IS NOT NULL"
                " AND network != 'paper' AND status IN ('not_sent', 'cancelled', 'rejected')"
                " ORDER BY id DESC LIMIT ?",
                (coin, CAUSE_LOOKBACK),
            )
            rows = [dict(r) for r in await cur.fetchall()]
        found: list[tuple[dict[str, Any], FillResult]] = []
        for r in rows:
            result = await comp._resolve(r)
            if result is not None and result.filled > 0:
                found.append((r, result))
        if not found:
            return None, []
        text = "; ".join(
            f"order {r['cloid']} was booked {r['status']} but the venue filled {res.filled}"
            f" at {res.avg_price}"
            for r, res in found
        )
        return text, found

    # --- the operator's acknowledgement ---------------------------------------------------

    async def ack(self, args: dict[str, Any]) -> dict[str, Any]:
        resync = args.get("resync", False)
        if not isinstance(resync, bool):
            raise InvalidArgs("resync must be true or false")
        book_id = args.get("book_id")
        comp = self.comp
        if book_id is not None and (
            not isinstance(book_id, str)
            or not any(b.fade_book_id == book_id for b in comp.settings.bots)
        ):
            known = ", ".join(b.fade_book_id for b in comp.settings.bots) or "none"
            raise InvalidArgs(f"book_id must name a fade book (known: {known})")
        if not self.open:
            raise InvalidArgs("there is no account drift to acknowledge")
        corrections: list[dict[str, Any]] = []
        if resync:
            corrections = await self.resync(book_id)
        now = utc_iso(comp.ctx.clock.now())
        drifts = list(self.open.values())
        details = json.dumps({"corrections": corrections})
        await comp.ctx.writer.transaction(
            lambda conn: conn.executemany(
                "UPDATE fade_account_drift SET acknowledged_at = ?, acknowledged_by = 'operator',"
                " resolution = ?, details = ? WHERE id = ?",
                [(now, "resync" if resync else "ack", details, d.id) for d in drifts],
            )
        )
        self.open.clear()
        for d in drifts:
            if resync:
                self.accepted.pop(d.coin, None)
            elif d.cleared_at is None:
                self.accepted[d.coin] = d.venue - d.ours
        guard = comp.ctx.guard
        states = {d.trading_state for d in drifts}
        if "HALTED" in states and guard.kill_switch.engaged and guard.kill_switch.by == BY:
            await guard.release("operator")
        if "REDUCING" in states and guard.state is TradingState.REDUCING:
            await guard.set_state(TradingState.ACTIVE, "operator", "account drift acknowledged")
        await comp.ctx.events.emit(
            "warning",
            "trading",
            f"fade: account drift in {', '.join(d.coin for d in drifts)} acknowledged by the "
            f"operator ({'resynced' if resync else 'books unchanged'})",
            {"drift_ids": [d.id for d in drifts], "resync": resync, "corrections": corrections},
            durable=True,
        )
        return {
            "acknowledged": [d.wire() for d in drifts],
            "resync": resync,
            "corrections": corrections,
            "trading_state": guard.state.value,
        }

    async def resync(self, book_id: str | None) -> list[dict[str, Any]]:
        """Make the account book equal the venue (see the module doc); the corrections."""
        comp = self.comp
        diffs = await self._read()
        if diffs is None:
            raise ProtocolError(
                "unavailable", "orders are in flight or the venue did not answer; try again"
            )
        out: list[dict[str, Any]] = []
        causes = {coin: (await self.cause(coin))[1] for coin in diffs}
        unexplained = [c for c, found in causes.items() if not found]
        if unexplained and book_id is None:
            raise InvalidArgs(
                f"{', '.join(unexplained)} differ with no order to explain it: give book_id, "
                "the fade book that takes the difference"
            )
        for coin, found in causes.items():
            for row, result in found:
                plan = await comp.store.plan_of(row)
                async with comp.lock:
                    comp.engine.restore_pending(plan)
                    await comp.apply(plan, result)
                out.append(
                    {
                        "ts": utc_iso(comp.ctx.clock.now()),
                        "books": ",".join(sorted(plan.asks)) or "account",
                        "coin": coin,
                        "kind": "rebooked_order",
                        "cloid": row["cloid"],
                        "was": row["status"],
                        "filled": str(result.filled),
                        "avg_price": None if result.avg_price is None else str(result.avg_price),
                    }
                )
        if any(causes.values()):
            diffs = await self._read()
            if diffs is None:
                raise ProtocolError(
                    "unavailable", "orders re-booked; the venue did not answer again: retry"
                )
        if diffs and book_id is None:
            raise InvalidArgs(
                f"{', '.join(diffs)} still differ with no order to explain it: give book_id, "
                "the fade book that takes the difference"
            )
        if diffs:
            assert book_id is not None
            out += await self._book_difference(diffs, book_id)
        await comp.ctx.writer.transaction(lambda conn: _audit(conn, out))
        return out

    async def _book_difference(
        self, diffs: dict[str, tuple[Decimal, Decimal]], book_id: str
    ) -> list[dict[str, Any]]:
        comp = self.comp
        now = comp.ctx.clock.now()
        ts, ms = utc_iso(now), int(now.timestamp() * 1000)
        out: list[dict[str, Any]] = []
        async with comp.lock:
            book = comp.engine.fade_book(book_id)
            trips = []
            for coin, (ours, venue) in diffs.items():
                qty = venue - ours
                price = comp.marks.get(coin) or comp.engine.account.pos(coin).entry
                comp.engine.account.apply(coin, qty, price, ZERO, ms)
                _, t = book.apply(coin, qty, price, ZERO, ms)
                trips += t
                out.append(
                    {
                        "ts": ts,
                        "coin": coin,
                        "kind": "booked_difference",
                        "book_id": book_id,
                        "size": str(qty),
                        "price": str(price),
                        "ours": str(ours),
                        "venue": str(venue),
                    }
                )

            async def fn(conn: aiosqlite.Connection) -> None:
                await _save_book(conn, comp.engine.account, ts)
                await _save_book(conn, book, ts)
                await record_trips(conn, trips, f"resync:{ts}")

            await comp.ctx.writer.transaction(fn)
        return out


async def _audit(conn: aiosqlite.Connection, corrections: list[dict[str, Any]]) -> None:
    """One ``decision_log`` row per correction of a resync (source ``fade``, ``resync``)."""
    for i, c in enumerate(corrections):
        ts = c["ts"]
        if c["kind"] == "rebooked_order":
            book = c["books"].split(",")[0]
            why = (
                f"operator resync: order {c['cloid']} was booked {c['was']}, the venue filled "
                f"{c['filled']} at {c['avg_price']}; re-booked from our fills"
            )
            size, price = c["filled"], c["avg_price"]
        else:
            book = c["book_id"]
            why = (
                f"operator resync: the account book held {c['ours']}, the venue {c['venue']}; "
                f"{c['size']} booked on {book} at the mark"
            )
            size, price = c["size"], c["price"]
        await conn.execute(
            "INSERT INTO decision_log (book_id, model_id, symbol, ts, decision, reasoning,"
            " current_price, position_size, executed, execution_price, execution_time,"
            " execution_status, source, source_id, details) VALUES (?, ?, ?, ?, 'resync', ?,"
            " ?, ?, 1, ?, ?, ?, 'fade', ?, ?)",
            (
                book,
                book.partition(":")[2] or None,
                c["coin"],
                ts,
                why,
                price,
                size,
                price,
                ts,
                c["kind"],
                f"resync:{ts}:{i}:{c['coin']}",
                json.dumps(c),
            ),
        )
