"""Which system events become notifications, and how they read (pure code).

The daemon already records every condition the operator must hear about as a system event
(``arenad.daemon.events``); this module recognises them by category, the leading words of the
message and the keys of the details, as written by their one emitter each:

- ``arenad.guards.trading``: kill switch engaged (``by`` names the guard: ``daily_loss_limit``,
  ``ingest_gap``, ``crash_loop``, ``account_drift`` or the operator) and released, and
  trading state changes;
- ``arenad.fade.reconcile`` and ``arenad.fade.component``: fade account drift, its clearing and
  its acknowledgement; ``arenad.arena.component``: arena ledger drift and finished runs;
- ``arenad.daemon.app``: the daemon started; ``arenad.daemon.supervisor``: a task crashed
  (counted by the notifier into a crash loop);
- ``arenad.strategies.active``: a strategy order the venue rejected.

A change of one of those messages must keep ``tests/notify/test_notifier.py`` green, which
drives the real guard and supervisor and records the other events in their emitters' shapes.
Conditions without an event of their own (storage failures, fade and arena orders the venue
rejected, the daily summary) are watched by the notifier itself.
"""

from __future__ import annotations

import re
from typing import Any

from arenad.notify.notice import Level, Notice

KILL_BY_CATEGORY = {
    "daily_loss_limit": "daily_loss",
    "ingest_gap": "ingest_gap",
    "crash_loop": "crash_loop",
    "account_drift": "drift",
}
_KILL_TITLE = {
    "daily_loss": "DAILY LOSS LIMIT: kill switch engaged",
    "ingest_gap": "INGEST GAP: kill switch engaged",
    "crash_loop": "CRASH LOOP: kill switch engaged",
    "drift": "ACCOUNT DRIFT: kill switch engaged",
    "kill_switch": "KILL SWITCH ENGAGED",
}
_STATE = re.compile(r"^trading state (\w+) by ")
_STARTED = re.compile(r"^arenad (\S+) started$")
_CRASH = re.compile(r"^task (\S+) crashed")
_ARENA_RUN = re.compile(r"^arena run (\S+) (\w+):")
_ACKED = re.compile(r"account drift in (.+) acknowledged by the operator")


def _level(ev: dict[str, Any], floor: Level = "info") -> Level:
    lv = ev.get("level")
    return lv if lv in ("info", "warning", "error") else floor  # type: ignore[return-value]


def crashed_task(ev: dict[str, Any]) -> str | None:
    """The task a supervisor crash event is about, or None."""
    if ev.get("category") != "system":
        return None
    m = _CRASH.match(str(ev.get("message", "")))
    return m.group(1) if m else None


def classify(ev: dict[str, Any]) -> list[Notice]:
    """The notifications a system event stands for (most stand for none)."""
    category = ev.get("category")
    msg = str(ev.get("message", ""))
    d: dict[str, Any] = ev.get("details") or {}
    ts = str(ev.get("ts", ""))
    if category == "trading":
        return _trading(msg, d, ts, ev)
    if category == "system":
        m = _STARTED.match(msg)
        if m:
            body = f"version {m.group(1)}, mode {d.get('mode', '?')}, pid {d.get('pid', '?')}"
            if d.get("kill_switch"):
                body += "\nthe kill switch is engaged (restored from the last run)"
            return [Notice("daemon", "info", "arenad started", body, ts=ts)]
        return []
    if category == "arena":
        return _arena(msg, d, ts, ev)
    return []


def _trading(msg: str, d: dict[str, Any], ts: str, ev: dict[str, Any]) -> list[Notice]:
    if msg.startswith(("kill switch engaged by ", "kill switch already engaged")):
        by = str(d.get("by", "?"))
        cat = KILL_BY_CATEGORY.get(by, "kill_switch")
        body = (
            f"by {by}: {d.get('reason', '?')}\n"
            "No new orders until the operator releases it (arenad resume)."
        )
        return [Notice(cat, "error", _KILL_TITLE[cat], body, key="kill_switch", ts=ts)]
    if msg.startswith("kill switch released by "):
        body = f"released by the operator (engaged by {d.get('was_by')}: {d.get('was_reason')})"
        return [
            Notice("kill_switch", "info", "kill switch released", body, "kill_switch", True, ts)
        ]
    m = _STATE.match(msg)
    if m:
        state = m.group(1)
        if state == "ACTIVE":
            body = f"trading ACTIVE again, by {d.get('by')}: {d.get('reason')}"
            return [
                Notice("trading_state", "info", "trading ACTIVE", body, "trading_state", True, ts)
            ]
        body = f"by {d.get('by')}: {d.get('reason')}"
        if state == "REDUCING":
            body += "\nOnly exposure-reducing orders go out."
        return [
            Notice("trading_state", "warning", f"trading {state}", body, "trading_state", ts=ts)
        ]
    if msg.startswith("fade: account drift in ") and "drift_id" in d and "ours" in d:
        coin = str(d.get("coin"))
        usd = d.get("notional_usd")
        lines = [
            f"{coin}: books {d.get('ours')}, venue {d.get('venue')}"
            + (f" ({usd:,.2f} USD)" if isinstance(usd, int | float) else " (no mark)"),
            f"cause: {d.get('cause') or 'unknown'}",
        ]
        if d.get("trading_state"):
            lines.append(f"trading {d['trading_state']} until acknowledged (arenad ack-drift)")
        return [
            Notice(
                "drift",
                _level(ev, "warning"),
                f"ACCOUNT DRIFT in {coin}",
                "\n".join(lines),
                key=f"drift:{coin}",
                ts=ts,
            )
        ]
    if msg.startswith("fade: books and account differ in ") and "drift" in d:
        coin = str(d.get("coin"))
        body = f"{coin}: the fade books and the account differ by {d.get('drift')}"
        return [Notice("drift", "error", f"BOOKS DRIFT in {coin}", body, f"drift:{coin}", ts=ts)]
    if "agree again" in msg and "drift_id" in d and "ours" not in d:
        coin = str(d.get("coin"))
        body = (
            f"the account book and the venue agree again in {coin} (acknowledge: arenad ack-drift)"
        )
        return [Notice("drift", "info", f"drift in {coin}", body, f"drift:{coin}", True, ts)]
    m = _ACKED.search(msg)
    if m and "drift_ids" in d:
        how = "resynced" if d.get("resync") else "books unchanged"
        return [
            Notice(
                "drift",
                "info",
                f"drift in {c}",
                f"acknowledged by the operator ({how})",
                f"drift:{c}",
                True,
                ts,
            )
            for c in m.group(1).split(", ")
        ]
    if msg.startswith("strategies: order rejected"):
        body = msg.removeprefix("strategies: ")
        return [Notice("orders", "warning", "strategy order rejected", body, ts=ts)]
    return []


def _arena(msg: str, d: dict[str, Any], ts: str, ev: dict[str, Any]) -> list[Notice]:
    m = _ARENA_RUN.match(msg)
    if m and m.group(2) == "failed":
        errors = [str(e) for e in (d.get("errors") or [])[:3]]
        body = "\n".join([msg.partition(": ")[2], *errors])
        return [Notice("arena", "error", f"arena run FAILED ({m.group(1)})", body, ts=ts)]
    if msg.startswith("arena ledgers do not match") and isinstance(d.get("drift"), dict):
        lines = [f"{sym}: {diff}" for sym, diff in sorted(d["drift"].items())]
        return [
            Notice(
                "drift",
                _level(ev, "warning"),
                "ARENA LEDGER DRIFT",
                "ledgers vs account:\n" + "\n".join(lines),
                ts=ts,
            )
        ]
    return []
