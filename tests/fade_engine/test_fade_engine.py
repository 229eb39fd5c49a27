"""The pure fade engine: targets, every guard's verdict, healing, netting, crediting, and the
properties that must hold whatever the bots do (hypothesis)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from fade_fakes import fill, settings
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from arenad.fade.accounting import Position
from arenad.fade.engine import FadeEngine, FillResult, clip_exposure
from arenad.fade.paper import paper_fill
from arenad.guards.trading import TradingState

D = Decimal
ACTIVE = TradingState.ACTIVE
BTC = {"BTC": D(100)}


def engine(**over: object) -> FadeEngine:
    return FadeEngine(settings(**over), sz_decimals={"BTC": 3, "ETH": 2}, daily_loss_limit=500.0)


def run(
    e: FadeEngine,
    bot: str,
    f: object,
    *,
    state: TradingState = ACTIVE,
    day_pnl: float | None = 0.0,
    marks: dict[str, Decimal] = BTC,
    now: float = 0.0,
) -> tuple[list, list]:  # type: ignore[type-arg]
    return e.on_bot_fills(bot, [f], marks=marks, state=state, day_pnl=day_pnl, now_s=now)  # type: ignore[list-item]


def fill_all(e: FadeEngine, plans: list, px: str = "100") -> None:  # type: ignore[type-arg]
    for p in plans:
        e.apply_fill(p, FillResult("filled", abs(p.size), D(px)), 1)


def test_target_is_minus_k_times_the_bot_and_every_guard_is_recorded() -> None:
    e = engine()
    (d,), (p,) = run(e, "b1", fill("b1", "BTC", "0.5", "100", "0"))
    assert d.execute and d.target == D("-0.5") and d.order_size == D("-0.5")
    assert p.size == D("-0.5") and not p.is_buy and p.asks == {"fade:b1": D("-0.5")}
    names = [c.name for c in d.checks]
    assert names == [
        "kill_switch",
        "bot_enabled",
        "bot_paused",
        "daily_loss",
        "max_order_notional",
        "asset_cap",
        "global_exposure_cap",
        "min_order_notional",
        "order_rate",
        "netted_order",  # the caps again on the account order the decisions net into
    ]
    assert all(c.allowed for c in d.checks)
    assert d.settings["bot"]["leverage_multiplier"] == "1"
    fill_all(e, [p])
    assert e.fades["b1"].size("BTC") == D("-0.5") and e.account.size("BTC") == D("-0.5")


def test_a_missed_or_partial_fill_heals_at_the_next_event() -> None:
    e = engine()
    _, (p,) = run(e, "b1", fill("b1", "BTC", "1", "100", "0"))
    e.apply_fill(p, FillResult("partially_filled", D("0.4"), D(100)), 1)  # 0.4 of 1
    assert e.fades["b1"].size("BTC") == D("-0.4") and not e.pending
    (d,), (p2,) = run(e, "b1", fill("b1", "BTC", "0.5", "101", "1"))
    assert d.target == D("-1.5") and d.order_size == D("-1.1")  # the missed 0.6 + the new 0.5
    fill_all(e, [p2])
    assert e.fades["b1"].size("BTC") == D("-1.5")


def test_kill_switch_halted_blocks_and_reducing_allows_only_exits() -> None:
    e = engine()
    (d,), plans = run(e, "b1", fill("b1", "BTC", "1", "100", "0"), state=TradingState.HALTED)
    assert not d.execute and not plans and d.checks[0].name == "kill_switch"
    assert not d.checks[0].allowed and d.skip_reason == d.checks[0].reason
    e2 = engine()
    _, (p,) = run(e2, "b1", fill("b1", "BTC", "1", "100", "0"))
    fill_all(e2, [p])
    (grow,), _ = run(e2, "b1", fill("b1", "BTC", "1", "100", "1"), state=TradingState.REDUCING)
    assert not grow.execute
    (cut,), (p3,) = run(e2, "b1", fill("b1", "BTC", "-2", "100", "2"), state=TradingState.REDUCING)
    # The bot is flat again, so the fade book closes: exposure-reducing, allowed.
    assert cut.execute and cut.order_size == D(1) and p3.reduce_only


def test_fills_held_by_a_venue_outage_are_retargeted_when_it_ends() -> None:
    """Fills decided while trading was held (venue outage) leave the fade books off target;
    ``retarget`` puts every book back on target from its bot's position, netted like fills,
    and leaves books on target (or a paused bot's) alone."""
    e = engine()
    hold = "waiting for venue hyperliquid (fills: 503)"
    _, (p,) = run(e, "b1", fill("b1", "BTC", "1", "100", "0"))
    fill_all(e, [p])
    held = [("b1", fill("b1", "BTC", "2", "100", "1")), ("b2", fill("b2", "ETH", "-3", "10", "0"))]
    for bot, f in held:
        (d,), plans = e.on_bot_fills(
            bot,
            [f],
            marks={"BTC": D(100), "ETH": D(10)},
            state=TradingState.HALTED,
            day_pnl=0.0,
            now_s=0.0,
            halted_by=hold,
        )
        assert not d.execute and not plans and d.skip_reason == f"halted: {hold}"
    assert e.fades["b1"].size("BTC") == D(-1) and e.fades["b2"].size("ETH") == 0
    marks = {"BTC": D(100), "ETH": D(10)}
    ds, plans = e.retarget(
        marks=marks, state=ACTIVE, day_pnl=0.0, now_s=1.0, now_ms=2, why="re-target"
    )
    assert {(d.bot_id, d.coin, d.order_size) for d in ds} == {
        ("b1", "BTC", D(-2)),
        ("b2", "ETH", D(3)),
    }
    assert all(d.execute and d.reason.startswith("re-target: ") for d in ds)
    assert {p.coin: p.size for p in plans} == {"BTC": D(-2), "ETH": D(3)}
    again, _ = e.retarget(marks=marks, state=ACTIVE, day_pnl=0.0, now_s=1.0, now_ms=3, why="x")
    assert again == []  # the asks are pending: nothing asked twice
    fill_all(e, plans)
    assert e.fades["b1"].size("BTC") == D(-3) and e.fades["b2"].size("ETH") == D(3)
    assert e.retarget(marks=marks, state=ACTIVE, day_pnl=0.0, now_s=2, now_ms=4, why="x") == (
        [],
        [],
    )
    run(e, "b1", fill("b1", "BTC", "1", "100", "3"), state=TradingState.HALTED)
    e.paused.add("b1")
    assert e.retarget(marks=marks, state=ACTIVE, day_pnl=0.0, now_s=3, now_ms=5, why="x") == (
        [],
        [],
    )


def test_disabled_paused_and_daily_loss_skip_with_their_reason() -> None:
    e = FadeEngine(
        settings(
            bots=[*settings().bots[:1], settings().bots[1].model_copy(update={"enabled": False})]
        ),
        sz_decimals={"BTC": 3},
        daily_loss_limit=500.0,
    )
    (d,), _ = run(e, "b2", fill("b2", "BTC", "1", "100", "0"))
    assert d.skip_reason == "bot disabled in config"
    e.paused.add("b1")
    (d,), _ = run(e, "b1", fill("b1", "BTC", "1", "100", "0"))
    assert d.skip_reason == "bot paused by operator"
    e.paused.clear()
    (d,), _ = run(e, "b1", fill("b1", "BTC", "1", "100", "1"), day_pnl=-600.0)
    assert not d.execute and "past the -500.00 USD limit" in (d.skip_reason or "")


def test_caps_clip_or_skip_with_the_verdict() -> None:
    e = engine(
        max_order_notional_usd=D(30),
        default_asset_cap_usd=D(50),
        global_exposure_cap_usd=D(70),
        min_order_notional_usd=D(10),
    )
    (d,), (p,) = run(e, "b1", fill("b1", "BTC", "1", "100", "0"))
    assert d.order_size == D("-0.3")  # clipped to 30 USD
    assert "clipped to 30.00 USD" in next(
        c.reason for c in d.checks if c.name == "max_order_notional"
    )
    fill_all(e, [p])
    (d,), (p,) = run(e, "b1", fill("b1", "BTC", "0.001", "100", "1"))
    assert d.order_size == D("-0.2")  # the asset cap (50 USD) leaves 0.2 of the 0.701 asked
    fill_all(e, [p])
    (d,), plans = run(e, "b1", fill("b1", "BTC", "1", "100", "1.001"))
    asset = next(c for c in d.checks if c.name == "asset_cap")
    assert not d.execute and not plans and not asset.allowed
    # Another coin: the global cap (70 USD) leaves 20 USD beside BTC's 50.
    (d,), (p,) = run(
        e, "b2", fill("b2", "ETH", "5", "10", "0"), marks={"BTC": D(100), "ETH": D(10)}
    )
    assert d.order_size == D("-2")  # 20 USD of ETH at 10
    assert "(clipped)" in next(c.reason for c in d.checks if c.name == "global_exposure_cap")


def test_bot_cap_min_notional_lot_and_rate_limit() -> None:
    bots = settings().bots
    e = FadeEngine(
        settings(
            bots=[bots[0].model_copy(update={"max_notional_usd": D(40)}), bots[1]],
            min_order_notional_usd=D(10),
            max_orders_per_minute=2,
        ),
        sz_decimals={"BTC": 3},
    )
    (d,), _ = run(e, "b1", fill("b1", "BTC", "1", "100", "0"))
    assert d.order_size == D("-0.4")
    (d,), _ = run(e, "b2", fill("b2", "BTC", "0.05", "100", "0"))
    assert not d.execute and "under the 10.00 USD minimum" in (d.skip_reason or "")
    (d,), _ = run(e, "b2", fill("b2", "BTC", "1", "100", "0.05"), now=1.0)
    assert d.execute  # the second order of the minute
    (d,), _ = run(e, "b2", fill("b2", "BTC", "1", "100", "1.05"), now=2.0)
    assert not d.execute and "2 / 2 orders" in (d.skip_reason or "")
    (d,), _ = run(e, "b2", fill("b2", "BTC", "1", "100", "2.05"), now=70.0)
    assert d.execute  # the window moved on
    (d,), _ = run(e, "b2", fill("b2", "DOGE", "1", "1", "0"), marks={"DOGE": D(1)}, now=71.0)
    assert not d.execute and "not a listed perp" in (d.skip_reason or "")


def test_opposite_books_net_into_one_order_and_are_credited_their_share() -> None:
    e = engine()
    # b1 buys 1 BTC, b2 sells 0.25 in the same batch: the fades want -1 and +0.25.
    d1, _ = run(e, "b1", fill("b1", "BTC", "1", "100", "0"))
    d2, _ = run(e, "b2", fill("b2", "BTC", "-0.25", "100", "0"))
    plans = e.plan([*d1, *d2], 0.0)
    # (on_bot_fills already planned each; re-planning the pair shows the netting)
    (p,) = plans
    assert p.size == D("-0.75") and p.asks == {"fade:b1": D(-1), "fade:b2": D("0.25")}
    e.pending.clear()
    for d in (*d1, *d2):
        e.pending[(d.book_id, d.coin)] = d.order_size
    out = e.apply_fill(p, FillResult("partially_filled", D("0.5"), D(100)), 1)
    # Half the external 0.75 filled: b2 crosses its full 0.25 internally, b1 gets the rest.
    assert out.credited == {"fade:b2": D("0.25"), "fade:b1": D("-0.75")}
    assert out.drift == 0 and e.account.size("BTC") == D("-0.5") and not e.pending


def test_paper_fill_walks_the_book_and_charges_the_taker_fee() -> None:
    book = {
        "levels": [
            [{"px": "99", "sz": "1", "n": 1}, {"px": "98", "sz": "5", "n": 1}],
            [
                {"px": "101", "sz": "0.5", "n": 1},
                {"px": "102", "sz": "1", "n": 1},
                {"px": "bad", "sz": "1"},
            ],
        ]
    }
    r = paper_fill(book, True, D(1), D("4.5"))
    assert r.status == "filled" and r.avg_price == D("101.5")
    assert r.fee == D("101.5") * D("4.5") / 10_000
    r = paper_fill(book, False, D(10), D(0))
    assert r.status == "partially_filled" and r.filled == D(6)
    assert paper_fill(book, True, D(1), D(0), limit=D(100)).status == "cancelled"
    assert paper_fill({"levels": "junk"}, True, D(1), D(0)).status == "cancelled"


def test_accounting_round_trips_with_flip_and_fees() -> None:
    p = Position()
    assert p.apply("fade:x", "BTC", D(2), D(100), D("0.2"), 1) == (0, [])
    assert p.apply("fade:x", "BTC", D(2), D(110), D("0.2"), 2) == (0, [])
    assert p.entry == D(105)
    realized, trips = p.apply("fade:x", "BTC", D(-5), D(120), D("0.5"), 3)
    assert realized == D(60)  # 4 closed at +15
    (t,) = trips
    assert (t.direction, t.quantity, t.entry_price, t.exit_price) == ("long", 4, 105, 120)
    assert t.gross_pnl == D(60) and t.fees == D("0.2") + D("0.2") + D("0.4")  # 4/5 of the fee
    assert p.size == D(-1) and p.entry == D(120) and p.fees == D("0.9")
    _, (t2,) = p.apply("fade:x", "BTC", D(1), D(100), D(0), 4)
    assert t2.direction == "short" and t2.gross_pnl == D(20) and t2.fees == D("0.1")


def test_clip_exposure() -> None:
    assert clip_exposure(D(0), D(5), D(3)) == D(3)
    assert clip_exposure(D(4), D(1), D(3)) == D(0)  # over the limit: no growth
    assert clip_exposure(D(4), D(-2), D(3)) == D(-2)  # reducing is never clipped
    assert clip_exposure(D(2), D(-6), D(3)) == D(-5)  # a flip stops at the limit


# --- properties ---------------------------------------------------------------------------

events = st.lists(
    st.tuples(
        st.sampled_from(["b1", "b2", "b3"]),
        st.sampled_from(["BTC", "ETH"]),
        st.decimals(min_value=-3, max_value=3, places=2).filter(lambda x: x != 0),
        st.decimals(min_value=50, max_value=150, places=1),
        st.sampled_from(
            [TradingState.ACTIVE, TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED]
        ),
        st.decimals(min_value=0, max_value=1, places=2),
    ),
    min_size=1,
    max_size=40,
)


@hsettings(max_examples=150, deadline=None)
@given(events)
def test_properties_halted_caps_and_books_sum_to_the_account(evs: list) -> None:  # type: ignore[type-arg]
    caps = dict(
        max_order_notional_usd=D(150),
        default_asset_cap_usd=D(250),
        global_exposure_cap_usd=D(400),
        min_order_notional_usd=D(10),
    )
    e = FadeEngine(settings(3, **caps), sz_decimals={"BTC": 3, "ETH": 2})
    bot_pos: dict[tuple[str, str], Decimal] = {}
    for i, (bot, coin, qty, px, state, fill_frac) in enumerate(evs):
        start = bot_pos.get((bot, coin), D(0))
        bot_pos[(bot, coin)] = start + qty
        marks = {"BTC": px, "ETH": px}
        acct_before = {c: e.account.size(c) for c in ("BTC", "ETH")}
        _, plans = e.on_bot_fills(
            bot,
            [fill(bot, coin, qty, px, start, ms=i)],
            marks=marks,
            state=state,
            day_pnl=None,
            now_s=i * 10.0,
        )
        for p in plans:
            # No order while HALTED; while REDUCING only exposure-reducing ones.
            assert state is not TradingState.HALTED
            cur = acct_before[p.coin]
            if state is TradingState.REDUCING:
                assert abs(cur + p.size) < abs(cur)
            # No order exceeds a cap.
            assert abs(p.size) * px <= caps["max_order_notional_usd"]
            after = abs(cur + p.size) * px
            assert after <= caps["default_asset_cap_usd"] or abs(cur + p.size) <= abs(cur)
            # The venue fills whole lots (szDecimals: BTC 3, ETH 2); a sub-lot fill cannot
            # happen and would let a book sit a fraction of a lot past its cap.
            lot = D("0.001") if p.coin == "BTC" else D("0.01")
            filled = (abs(p.size) * fill_frac).quantize(lot, rounding=ROUND_DOWN)
            e.apply_fill(p, FillResult("filled", filled, px), i)
        # The fade books always sum to the account's position, in every coin.
        assert e.drift() == {}
        assert not e.pending
        total = sum(abs(e.account.size(c)) * px for c in ("BTC", "ETH"))
        grew = any(abs(e.account.size(c)) > abs(acct_before[c]) for c in ("BTC", "ETH"))
        assert not grew or total <= caps["global_exposure_cap_usd"] + 1


def test_funding_is_charged_on_each_open_position_and_moves_equity() -> None:
    e = engine()
    _, (p,) = run(e, "b1", fill("b1", "BTC", "2", "100", "0"))  # the fade goes short 2 BTC
    fill_all(e, [p])
    before = e.fades["b1"].equity({"BTC": D(100)})
    paid = e.apply_funding({"BTC": D("0.0001"), "ETH": D("0.5")}, {"BTC": D(100)})
    # A short receives positive funding: 2 × 100 × 0.0001 = 0.02, and so does the account.
    assert paid == {"fade:b1": D("0.02"), "account": D("0.02")}
    assert e.fades["b1"].equity({"BTC": D(100)}) - before == D("0.02")
    assert e.fades["b1"].funding == D("0.02")


def test_the_netted_order_is_clipped_to_the_max_order_and_credited_pro_rata() -> None:
    """Three fills of one bot in one batch, each clipped to the 30 USD max order on its own,
    would net into one 90 USD order: the account order is clipped to 30 USD, each decision
    keeps its share (verdict recorded), and the books still sum to the account."""
    e = engine(max_order_notional_usd=D(30))
    fs = [
        fill("b1", "BTC", "1", "100", "0"),
        fill("b1", "BTC", "1", "100", "1"),
        fill("b1", "BTC", "1", "100", "2"),
    ]
    ds, (p,) = e.on_bot_fills("b1", fs, marks=BTC, state=ACTIVE, day_pnl=0.0, now_s=0.0)
    assert p.size == D("-0.3") and abs(p.size) * 100 <= 30
    assert sum(d.order_size for d in ds) == p.size == p.asks["fade:b1"]
    assert e.pending == {("fade:b1", "BTC"): D("-0.3")}
    for d in ds:
        net = next(c for c in d.checks if c.name == "netted_order")
        assert "0.900 (90.00 USD) clipped to 0.300 (30.00 USD): max order 30.00" in net.reason
        assert d.order_size == D("-0.1") and "of 0.300 asked" in d.reason
    fill_all(e, [p])
    assert e.drift() == {} and not e.pending and e.fades["b1"].size("BTC") == D("-0.3")


def test_books_netted_across_bots_share_the_clipped_order() -> None:
    """b1 and b2 both sell BTC, b3 buys, in one batch; the net is clipped to the max order:
    the opposite book keeps its ask (crossed inside), the same-side books share the rest."""
    e = FadeEngine(
        settings(3, max_order_notional_usd=D(50)), sz_decimals={"BTC": 3}, daily_loss_limit=None
    )
    batch = [
        ("b1", fill("b1", "BTC", "0.4", "100", "0")),  # the fade sells 0.4 (40 USD)
        ("b2", fill("b2", "BTC", "0.4", "100", "0")),  # and 0.4 more
        ("b3", fill("b3", "BTC", "-0.2", "100", "0")),  # the fade buys 0.2
    ]
    ds, (p,) = e.on_fills(batch, marks=BTC, state=ACTIVE, day_pnl=None, now_s=0.0)
    assert p.size == D("-0.5")  # 0.6 net clipped to 50 USD
    assert p.asks == {"fade:b1": D("-0.35"), "fade:b2": D("-0.35"), "fade:b3": D("0.2")}
    out = e.apply_fill(p, FillResult("filled", D("0.5"), D(100)), 1)
    assert out.drift == 0 and e.drift() == {} and not e.pending
    assert [d.order_size for d in ds] == [D("-0.35"), D("-0.35"), D("0.2")]


BATCH_BOTS = ["b1", "b2", "b3"]
batches = st.lists(
    st.tuples(
        st.lists(
            st.tuples(
                st.sampled_from(BATCH_BOTS),
                st.sampled_from(["BTC", "ETH"]),
                st.decimals(min_value=-3, max_value=3, places=2).filter(lambda x: x != 0),
            ),
            min_size=1,
            max_size=8,
        ),
        st.decimals(min_value=50, max_value=150, places=1),
        st.sampled_from([TradingState.ACTIVE, TradingState.ACTIVE, TradingState.REDUCING]),
        st.decimals(min_value=0, max_value=1, places=2),
    ),
    min_size=1,
    max_size=15,
)


@hsettings(max_examples=200, deadline=None)
@given(batches)
def test_properties_no_netted_order_passes_a_cap_and_books_sum_to_the_account(bs: list) -> None:  # type: ignore[type-arg]
    """Batches of several bots with several fills per coin, both signs: no account order over
    the max order, the per-asset, the global or a bot's cap; the books always sum to the
    account; each decision's share adds up to its plan."""
    caps = dict(
        max_order_notional_usd=D(150),
        default_asset_cap_usd=D(250),
        global_exposure_cap_usd=D(400),
        min_order_notional_usd=D(10),
    )
    base = settings(3)
    capped = [base.bots[0].model_copy(update={"max_notional_usd": D(120)}), *base.bots[1:]]
    e = FadeEngine(settings(3, bots=capped, **caps), sz_decimals={"BTC": 3, "ETH": 2})
    bot_pos: dict[tuple[str, str], Decimal] = {}
    for i, (items, px, state, fill_frac) in enumerate(bs):
        batch = []
        for bot, coin, qty in items:
            start = bot_pos.get((bot, coin), D(0))
            bot_pos[(bot, coin)] = start + qty
            batch.append((bot, fill(bot, coin, qty, px, start, ms=i)))
        marks = {"BTC": px, "ETH": px}
        acct_before = {c: e.account.size(c) for c in ("BTC", "ETH")}
        fade_before = {c: e.fades["b1"].size(c) for c in ("BTC", "ETH")}
        ds, plans = e.on_fills(batch, marks=marks, state=state, day_pnl=None, now_s=i * 100.0)
        for p in plans:
            cur = acct_before[p.coin]
            assert abs(p.size) * px <= caps["max_order_notional_usd"]
            after = abs(cur + p.size) * px
            assert after <= caps["default_asset_cap_usd"] or abs(cur + p.size) <= abs(cur)
            mine = [d for d in ds if d.execute and d.coin == p.coin]
            assert sum((d.order_size for d in mine), D(0)) == p.size
            assert all(any(c.name == "netted_order" for c in d.checks) for d in mine)
        for p in plans:
            # The venue fills whole lots (szDecimals: BTC 3, ETH 2); a sub-lot fill cannot
            # happen and would let a book sit a fraction of a lot past its cap.
            lot = D("0.001") if p.coin == "BTC" else D("0.01")
            filled = (abs(p.size) * fill_frac).quantize(lot, rounding=ROUND_DOWN)
            e.apply_fill(p, FillResult("filled", filled, px), i)
        assert e.drift() == {} and not e.pending
        total = sum(abs(e.account.size(c)) * px for c in ("BTC", "ETH"))
        grew = any(abs(e.account.size(c)) > abs(acct_before[c]) for c in ("BTC", "ETH"))
        assert not grew or total <= caps["global_exposure_cap_usd"]
        for c in ("BTC", "ETH"):
            size = e.fades["b1"].size(c)
            assert abs(size) * px <= 120 or abs(size) <= abs(fade_before[c])


def test_rate_guard_pressure_is_counted_and_raised_once_a_minute() -> None:
    e = engine(max_orders_per_minute=2, rate_guard_warn_share=0.25)
    for i in range(4):  # four fills in four batches: two orders, then two rate skips
        (d,), _ = run(e, "b1", fill("b1", "BTC", "1", "100", str(i)), now=float(i))
        assert d.execute == (i < 2)
    assert e.rate_pressure(4.0) == (4, 2)
    assert e.rate_alarm(4.0) == (4, 2)  # 50 % > 25 %
    assert e.rate_alarm(5.0) is None  # at most once a minute
    assert e.rate_pressure(70.0) == (0, 0)  # the minute moved on
    # A skip for another reason (below the minimum) is not rate pressure.
    e2 = engine(max_orders_per_minute=1, min_order_notional_usd=D(10))
    run(e2, "b1", fill("b1", "BTC", "1", "100", "0"))
    (d,), _ = run(e2, "b1", fill("b1", "BTC", "0.01", "100", "1"), now=1.0)
    assert not d.execute and e2.rate_pressure(1.0) == (2, 0)


@hsettings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.decimals(min_value=-5, max_value=5, places=3).filter(lambda x: x != 0),
        min_size=1,
        max_size=6,
    ),
    st.decimals(min_value=0, max_value=1, places=3),
)
def test_pro_rata_shares_never_sum_past_the_total(asks: list, frac: Decimal) -> None:  # type: ignore[type-arg]
    from arenad.fade.engine import _pro_rata

    whole = sum(asks, D(0))
    total = (whole * frac).quantize(D("0.001"), rounding="ROUND_DOWN")
    out = _pro_rata(dict(enumerate(asks)), total, D("0.001"))
    got = sum(out.values(), D(0))
    assert abs(got) <= abs(total) and (got == 0 or (got > 0) == (total > 0))
    assert all(v == v.quantize(D("0.001")) for v in out.values())
    for i, a in enumerate(asks):  # never more than asked, never the other way
        assert abs(out[i]) <= abs(a) and (out[i] == 0 or (out[i] > 0) == (a > 0))
