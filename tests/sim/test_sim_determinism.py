"""Same seed, same fills; bots and replay put their trades on their wallets; funding is paid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arenad.clock import FakeClock
from arenad.sim.faults import Faults
from arenad.sim.hyperliquid.app import HyperliquidSim
from arenad.sim.hyperliquid.bots import bot_address, replay_events
from arenad.sim.settings import DEFAULT_BOT_NAMES, SimSettings
from conftest import TEST_DATA

REPLAY = TEST_DATA / "sim" / "nof1_trades.json"


def run(seed: int, steps: int = 300, run_nonce: int | None = 7, **overrides: Any) -> HyperliquidSim:
    settings = SimSettings.model_validate(
        {"seed": seed, "tick_interval_s": 1.0, "bot_interval_s": 5.0} | overrides
    )
    clock = FakeClock()
    sim = HyperliquidSim(
        settings, seed=seed, faults=Faults(seed=seed), clock=clock, run_nonce=run_nonce
    )
    for _ in range(steps):
        clock.advance(settings.tick_interval_s)
        sim.step()
    return sim


def all_fills(sim: HyperliquidSim) -> dict[str, list[dict[str, Any]]]:
    return {a: list(acct.fills) for a, acct in sorted(sim.house.accounts.items())}


def test_same_seed_gives_the_same_fills() -> None:
    a, b = run(11), run(11)
    fa = all_fills(a)
    assert sum(len(v) for v in fa.values()) > 100  # the bots did trade
    assert fa == all_fills(b)
    assert a.all_mids() == b.all_mids()


def test_a_restarted_simulator_replays_the_trades_under_new_fill_ids() -> None:
    """Each start draws its own nonce: the same seeded trades, but a venue never reuses a
    fill's hash:tid (the fade deduplicates by it; old ids from a previous start must not
    come back)."""
    a, b = run(11, steps=100, run_nonce=None), run(11, steps=100, run_nonce=None)
    assert a.house.run_nonce != b.house.run_nonce
    fa, fb = all_fills(a), all_fills(b)
    ids = ("hash", "tid", "oid")

    def trades(fills: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        return {
            w: [{k: v for k, v in f.items() if k not in ids} for f in fs] for w, fs in fills.items()
        }

    assert trades(fa) == trades(fb)
    keys_a = {(f["hash"], f["tid"]) for fs in fa.values() for f in fs}
    keys_b = {(f["hash"], f["tid"]) for fs in fb.values() for f in fs}
    assert keys_a and not keys_a & keys_b


def test_another_seed_gives_other_fills_and_other_wallets() -> None:
    a, c = run(11, steps=100), run(12, steps=100)
    assert all_fills(a) != all_fills(c)
    assert set(a.house.accounts) != set(c.house.accounts)


def test_bot_wallets_are_derived_from_seed_and_name() -> None:
    sim = run(5, steps=1)
    assert [b.name for b in sim.bots.bots] == list(DEFAULT_BOT_NAMES)
    assert [b.address for b in sim.bots.bots] == [bot_address(5, n) for n in DEFAULT_BOT_NAMES]
    assert len({b.address for b in sim.bots.bots}) == 6


def test_bots_positions_show_in_clearinghouse_state() -> None:
    sim = run(3, steps=200)
    with_positions = 0
    for bot in sim.bots.bots:
        state = sim.house.clearinghouse_state(bot.address, sim.now_ms())
        fills = sim.house.user_fills(bot.address)
        assert fills, bot.name
        net: dict[str, Decimal] = {}
        for f in fills:
            signed = Decimal(f["sz"]) if f["side"] == "B" else -Decimal(f["sz"])
            net[f["coin"]] = net.get(f["coin"], Decimal(0)) + signed
        shown = {
            p["position"]["coin"]: Decimal(p["position"]["szi"]) for p in state["assetPositions"]
        }
        assert shown == {c: s for c, s in net.items() if s != 0}
        with_positions += bool(shown)
    assert with_positions >= 1


def test_funding_is_paid_on_open_positions() -> None:
    sim = run(3, steps=120, funding_interval_s=60.0)
    paid = [
        p["position"]["cumFunding"]["allTime"]
        for bot in sim.bots.bots
        for p in sim.house.clearinghouse_state(bot.address, sim.now_ms())["assetPositions"]
    ]
    assert any(Decimal(x) != 0 for x in paid)


def test_replay_feeds_recorded_round_trips_as_fills() -> None:
    import json

    trades = json.loads(REPLAY.read_text())["trades"]
    events, skipped = replay_events(trades, set(DEFAULT_BOT_NAMES))
    assert skipped == 0 and len(events) == 2 * len(trades)
    span = events[-1].at_s
    # Compress the whole recording into about 100 one-second steps.
    sim = run(
        1,
        steps=110,
        bots_enabled=False,  # the wallets exist, the strategies are idle
        replay={
            "enabled": True,
            "trades_path": str(REPLAY),
            "time_compression": span / 100,
            "loop": False,
        },
    )
    assert sim.replay is not None and sim.replay.fed == len(events)
    by_name = {b.name: b.address for b in sim.bots.bots}
    first = min(trades, key=lambda t: t["entry_time"])
    model = {"claude-sonnet-4-5": "claude-sonnet-4.5", "deepseek-chat-v3.1": "deepseek-v3.1"}.get(
        first["model_id"], first["model_id"]
    )
    fills = sim.house.user_fills(by_name[model])
    entry = [
        f
        for f in fills
        if f["coin"] == first["symbol"] and Decimal(f["px"]) == Decimal(str(first["entry_price"]))
    ]
    assert entry, "the first recorded entry is a fill on its model's wallet"
    assert entry[0]["side"] == ("B" if first["side"] == "long" else "A")
    # Every replayed round trip is closed again: no position is left over.
    for address in by_name.values():
        state = sim.house.clearinghouse_state(address, sim.now_ms())
        assert state["assetPositions"] == [], address
