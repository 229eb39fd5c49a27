"""Fade safety (issue #20), end to end against the simulator with a real `arenad run`:

- a late fill: the daemon is killed with an order inside the venue's slow path, which reaches
  the matching engine after the unknown-intent grace; `expiresAfter` makes the venue refuse
  it, so the order booked `not_sent` is one the venue never filled, and the books equal the
  venue;
- own-account reconciliation: a position changed behind the daemon's back is a drift event
  naming coin, ours and the venue's, trading goes REDUCING and `status --json` shows it, a
  restart keeps it, and `arenad ack-drift --resync` makes the books equal the venue again,
  audited in `decision_log`."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from eth_account import Account
from test_fade_daemon import config, info, q, venue_positions

from arenad.control.client import ControlClient
from arenad.fade.component import sim_key
from conftest import wait_for

LIVE = (
    'mode = "live"\nnetwork = "sim"\n'
    "global_exposure_cap_usd = 1000000\ndefault_asset_cap_usd = 1000000"
)


def ctl(d: Any, cmd: str, **args: Any) -> Any:
    """One control request in-process (cheaper than a CLI subprocess for polling)."""

    async def go() -> Any:
        async with ControlClient(d.socket_path) as c:
            return await c.request(cmd, **args)

    return asyncio.run(go())


def me() -> str:
    return str(Account.from_key(sim_key()).address).lower()


def stats(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/_sim/stats", timeout=10).json()  # type: ignore[no-any-return]


def books_match_venue(url: str, db: Any) -> bool:
    rows = q(db, "SELECT coin, size FROM fade_positions WHERE book_id = 'account'")
    ours = {r["coin"]: Decimal(r["size"]) for r in rows if Decimal(r["size"])}
    return ours == venue_positions(url, me()) and not q(
        db, "SELECT 1 FROM fade_orders WHERE status IN ('intent', 'unknown')"
    )


@pytest.mark.slow
def test_an_order_reaching_the_venue_after_the_grace_cannot_fill_late(  # type: ignore[no-untyped-def]
    sim_thread, daemon_proc
) -> None:
    url = sim_thread.hyperliquid_url
    port = int(url.rsplit(":", 1)[1])
    d = daemon_proc(config(port, fade=LIVE))
    d.start()
    wait_for(
        lambda: q(d.db_path, "SELECT 1 FROM fade_orders WHERE status = 'filled'"),
        30,
        what="a live order filled on the simulator",
    )
    done = {r["cloid"] for r in q(d.db_path, "SELECT cloid FROM fade_orders")}
    # From now on the venue loses each /exchange answer and its slow path acts on the order
    # 7 s later: past the unknown-intent grace (order_expiry_s 3 + clock_margin_s 2).
    httpx.post(f"{url}/_sim/faults", json={"late_action_ms": 7000}, timeout=10).raise_for_status()
    pending = wait_for(
        lambda: [
            r
            for r in q(d.db_path, "SELECT * FROM fade_orders WHERE status IN ('intent', 'unknown')")
            if r["cloid"] not in done
        ],
        30,
        interval=0.01,
        what="an order inside the venue's slow path",
    )
    assert pending
    wait_for(
        lambda: stats(url)["late_actions_pending"] >= 1,
        30,
        interval=0.01,
        what="the venue to have taken an order in (its answer lost)",
    )
    d.stop(signal.SIGKILL)
    httpx.post(f"{url}/_sim/faults", json={"late_action_ms": 0}, timeout=10).raise_for_status()
    d.start()
    wait_for(
        lambda: stats(url)["late_actions_pending"] == 0,
        30,
        interval=0.1,
        what="the venue's slow path to act on every delayed order",
    )
    s = stats(url)
    assert s["late_actions_expired"] >= 1 and s["late_actions_applied"] == 0, s
    wait_for(
        lambda: not q(d.db_path, "SELECT 1 FROM fade_orders WHERE status IN ('intent', 'unknown')"),
        30,
        what="every intent resolved",
    )
    # Every order sent into the slow path is booked as the venue has it: never filled, and
    # no order booked not_sent is one the venue knows (let alone filled).
    rows = [r for r in q(d.db_path, "SELECT * FROM fade_orders") if r["cloid"] not in done]
    late = [r for r in rows if r["status"] == "not_sent"]
    assert late, rows
    for r in rows:
        st = info(url, {"type": "orderStatus", "user": me(), "oid": r["cloid"]})
        if r["status"] == "not_sent":
            assert st["status"] == "unknownOid", (r, st)
        if st["status"] == "unknownOid":
            assert r["status"] in ("not_sent", "rejected"), (r, st)
    d.cli("kill", "--reason", "freeze for the comparison")
    wait_for(lambda: books_match_venue(url, d.db_path), 30, interval=0.2, what="books = venue")
    assert not q(d.db_path, "SELECT 1 FROM fade_account_drift")
    d.stop()


@pytest.mark.slow
def test_a_position_changed_behind_the_daemons_back_is_a_drift_until_acknowledged(  # type: ignore[no-untyped-def]
    sim_thread, daemon_proc
) -> None:
    url = sim_thread.hyperliquid_url
    port = int(url.rsplit(":", 1)[1])
    d = daemon_proc(config(port, fade=LIVE))
    d.start()
    wait_for(
        lambda: (ctl(d, "status").get("account_drift") or {}).get("last_check"),
        30,
        interval=0.2,
        what="a first reconciliation of the account",
    )
    assert d.status()["trading_state"] == "ACTIVE"
    r = httpx.post(
        f"{url}/_sim/inject_fill",
        json={"user": me(), "coin": "XRP", "side": "B", "sz": "285"},
        timeout=10,
    )
    r.raise_for_status()
    t0 = time.monotonic()

    def drift() -> dict[str, Any] | None:
        st = ctl(d, "status")
        found = [x for x in st["account_drift"]["open"] if x["coin"] == "XRP"]
        return st if found else None

    wait_for(drift, 20, interval=0.05, what="an account drift in XRP")
    elapsed = time.monotonic() - t0
    print(f"drift seen in status {elapsed:.2f} s after the injected fill")
    st = d.status()  # what `arenad status --json` shows
    (x,) = [x for x in st["account_drift"]["open"] if x["coin"] == "XRP"]
    assert Decimal(x["venue"]) - Decimal(x["ours"]) == 285
    assert x["cause"] is None and x["trading_state"] == "REDUCING"
    assert st["trading_state"] == "REDUCING"
    ev = q(
        d.db_path,
        "SELECT * FROM system_events WHERE message LIKE 'fade: account drift in XRP%' ORDER BY id",
    )
    assert ev and ev[0]["level"] == "error"
    details = json.loads(ev[0]["details"])
    assert details["coin"] == "XRP" and Decimal(details["venue"]) == Decimal(x["venue"])
    # Acknowledged without a resync: trading resumes and the same difference is accepted.
    r = d.cli("ack-drift", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["trading_state"] == "ACTIVE"
    checked = ctl(d, "status")["account_drift"]["last_check"]

    def later(after: str) -> str | None:
        last: str | None = ctl(d, "status")["account_drift"]["last_check"]
        return last if last and last > after else None

    for _ in range(2):
        checked = wait_for(
            lambda after=checked: later(after),  # type: ignore[misc]
            20,
            interval=0.2,
            what="a later reconciliation",
        )
    st = d.status()
    assert st["account_drift"]["open"] == [] and st["trading_state"] == "ACTIVE"
    # A change of the difference is a new drift.
    httpx.post(
        f"{url}/_sim/inject_fill",
        json={"user": me(), "coin": "XRP", "side": "B", "sz": "100"},
        timeout=10,
    ).raise_for_status()
    st = wait_for(drift, 20, interval=0.05, what="a new account drift in XRP")  # type: ignore[assignment]
    (x,) = [x for x in st["account_drift"]["open"] if x["coin"] == "XRP"]
    assert Decimal(x["difference"]) == 385 and st["trading_state"] == "REDUCING"
    # A restart keeps the drift (and trading reducing) until the operator acknowledges it.
    d.stop(signal.SIGKILL)
    d.start()
    st = d.status()
    assert st["trading_state"] == "REDUCING"
    assert [y["id"] for y in st["account_drift"]["open"]] == [x["id"]]

    # Acknowledged with a resync onto fade:gpt-5; retried while orders are in flight.
    def ack() -> Any:
        r = d.cli("ack-drift", "--resync", "--book-id", "fade:gpt-5", "--json")
        assert r.returncode in (0, 1), r.stderr
        return json.loads(r.stdout) if r.returncode == 0 else None

    out = wait_for(ack, 30, interval=0.2, what="the acknowledgement")
    assert out["trading_state"] == "ACTIVE" and out["resync"]
    (c,) = out["corrections"]
    assert c["kind"] == "booked_difference" and c["coin"] == "XRP" and Decimal(c["size"]) == 385
    assert d.status()["account_drift"]["open"] == []
    (audit,) = q(d.db_path, "SELECT * FROM decision_log WHERE decision = 'resync'")
    assert audit["book_id"] == "fade:gpt-5" and audit["symbol"] == "XRP"
    rows = q(d.db_path, "SELECT * FROM fade_account_drift ORDER BY id")
    assert [r["resolution"] for r in rows] == ["ack", "resync"]
    assert {r["acknowledged_by"] for r in rows} == {"operator"}
    r = d.cli("ack-drift")
    assert r.returncode == 2 and "no account drift" in r.stderr
    d.cli("kill", "--reason", "freeze for the comparison")
    wait_for(lambda: books_match_venue(url, d.db_path), 30, interval=0.2, what="books = venue")
    # And the books still sum to the account.
    pos = q(d.db_path, "SELECT book_id, coin, size FROM fade_positions WHERE coin = 'XRP'")
    acct = sum(Decimal(p["size"]) for p in pos if p["book_id"] == "account")
    assert acct == sum(Decimal(p["size"]) for p in pos if p["book_id"].startswith("fade:"))
    d.stop()


@pytest.mark.slow
def test_a_drift_can_halt_trading_instead(sim_thread, daemon_proc) -> None:  # type: ignore[no-untyped-def]
    """`account_drift_state = "HALTED"`: the kill switch by `account_drift`, released by the
    acknowledgement; a resync with an unexplained difference needs the book to book it on."""
    url = sim_thread.hyperliquid_url
    port = int(url.rsplit(":", 1)[1])
    d = daemon_proc(config(port, fade=LIVE + '\naccount_drift_state = "HALTED"'))
    d.start()
    wait_for(
        lambda: ctl(d, "status")["account_drift"]["last_check"],
        30,
        interval=0.2,
        what="a first reconciliation of the account",
    )
    httpx.post(
        f"{url}/_sim/inject_fill",
        json={"user": me(), "coin": "DOGE", "side": "A", "sz": "5000"},
        timeout=10,
    ).raise_for_status()
    wait_for(
        lambda: ctl(d, "status")["kill_switch"]["by"] == "account_drift",
        20,
        interval=0.05,
        what="the kill switch engaged by the drift",
    )
    st = d.status()
    assert st["trading_state"] == "HALTED" and st["kill_switch"]["engaged"]
    (x,) = st["account_drift"]["open"]
    assert x["coin"] == "DOGE" and Decimal(x["difference"]) == -5000
    assert x["trading_state"] == "HALTED"
    r = d.cli("ack-drift", "--resync")
    assert r.returncode == 2 and "give book_id" in r.stderr, r.stderr
    assert ctl(d, "status")["account_drift"]["open"]  # nothing changed
    r = d.cli("ack-drift")
    assert r.returncode == 0, r.stderr
    st = ctl(d, "status")
    assert not st["kill_switch"]["engaged"] and st["trading_state"] == "ACTIVE"
    assert st["account_drift"]["open"] == []
    d.stop()
