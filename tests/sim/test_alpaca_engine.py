"""Properties of the simulated Alpaca broker and stream parsers: bad input is refused with
Alpaca's errors, never a crash, and the books always reconcile with the fills."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import msgpack
from alpaca_support import MONDAY_10AM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arenad.sim.alpaca.engine import ApiError, Broker
from arenad.sim.alpaca.prices import PriceModel
from arenad.sim.alpaca.streams import (
    DATA_STREAM,
    TRADE_STREAM,
    StreamConn,
    data_stream_message,
    trade_stream_message,
)

SYMBOLS = ["SPY", "AAPL", "TSLA"]


def broker(**kw: Any) -> Broker:
    args: dict[str, Any] = {
        "seed": 5,
        "starting_cash": Decimal(100_000),
        "margin_multiplier": Decimal(2),
        "max_fill_qty": Decimal(40),
        "spread_bps": Decimal(2),
        "always_open": True,
    }
    args.update(kw)
    return Broker(PriceModel(5, SYMBOLS), **args)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8,
)  # fmt: skip
order_fields = st.sampled_from(
    ["symbol", "qty", "notional", "side", "type", "time_in_force", "limit_price", "stop_price",
     "client_order_id", "order_class", "take_profit", "stop_loss", "extended_hours"]
)  # fmt: skip
plausible = {
    "symbol": st.sampled_from(["SPY", "AAPL", "spy", "ZZZ", ""]),
    "qty": st.sampled_from(["1", "0.5", "0", "-3", "1e3", "NaN", 2, 2.5]),
    "side": st.sampled_from(["buy", "sell", "hold"]),
    "type": st.sampled_from(["market", "limit", "stop", "stop_limit", "trailing_stop", "x"]),
    "time_in_force": st.sampled_from(["day", "gtc", "ioc", "fok", "opg", "week"]),
    "limit_price": st.sampled_from(["100", "100.005", "0", "-1", 99999]),
    "stop_price": st.sampled_from(["50", "1000", "abc"]),
    "take_profit": st.sampled_from([{"limit_price": "99999"}, {"limit_price": "1"}, "x", {}]),
    "stop_loss": st.sampled_from([{"stop_price": "1"}, {"stop_price": "99999"}, [], {}]),
}


@st.composite
def order_bodies(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(json_values)
    keys = draw(st.lists(order_fields, max_size=8, unique=True))
    body = {}
    for k in keys:
        body[k] = draw(plausible.get(k, json_values) if draw(st.booleans()) else json_values)
    return body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(order_bodies(), min_size=1, max_size=6))
def test_any_order_body_is_accepted_or_refused_with_an_alpaca_error(bodies: list[Any]) -> None:
    b = broker()
    acct = b.authenticate("k", "s", MONDAY_10AM)
    assert acct is not None
    for body in bodies:
        try:
            order = b.submit(acct, body, MONDAY_10AM)
        except ApiError as e:
            assert e.status in (400, 403, 404, 422)
            assert isinstance(e.code, int) and e.message
            continue
        assert order.wire()["id"] == order.id


trades = st.tuples(
    st.sampled_from(SYMBOLS),
    st.sampled_from(["buy", "sell"]),
    st.integers(1, 120),
    st.sampled_from(["market", "limit", "stop"]),
    st.integers(-30, 30),  # price offset in basis points for limit/stop orders
    st.integers(0, 600),  # seconds until the next order
)


@settings(max_examples=60, deadline=None)
@given(st.lists(trades, min_size=1, max_size=15))
def test_books_reconcile_with_fills(plan: list[tuple[str, str, int, str, int, int]]) -> None:
    b = broker()
    acct = b.authenticate("k", "s", MONDAY_10AM)
    assert acct is not None
    now = MONDAY_10AM
    for sym, side, qty, otype, bps, wait in plan:
        last = b.last(sym, now)
        level = (last * (1 + Decimal(bps) / 10_000)).quantize(Decimal("0.01"))
        body: dict[str, Any] = {"symbol": sym, "side": side, "qty": str(qty), "type": otype,
                                "time_in_force": "gtc"}  # fmt: skip
        if otype == "limit":
            body["limit_price"] = str(level)
        elif otype == "stop":
            body["stop_price"] = str(level)
        try:
            b.submit(acct, body, now)
        except ApiError as e:
            assert e.status in (403, 422)
        for _ in range(wait // 30):
            now += timedelta(seconds=30)
            b.process(now)
    shares: dict[str, Decimal] = defaultdict(Decimal)
    cash = Decimal(100_000)
    for ev in b.events:
        if ev.data["event"] in ("fill", "partial_fill"):
            signed = Decimal(ev.data["qty"]) * (1 if ev.data["order"]["side"] == "buy" else -1)
            shares[ev.data["order"]["symbol"]] += signed
            cash -= signed * Decimal(ev.data["price"])
            assert Decimal(ev.data["position_qty"]) == shares[ev.data["order"]["symbol"]]
    assert {s: q for s, q in shares.items() if q} == {s: p.qty for s, p in acct.positions.items()}
    assert cash == acct.cash
    for order in acct.orders.values():
        assert Decimal(0) <= order.filled_qty <= (order.qty or Decimal(0))
    assert b.buying_power(acct, now) >= 0


def _conn(stream: str, use_msgpack: bool) -> StreamConn:
    return StreamConn(ws=None, stream=stream, use_msgpack=use_msgpack,  # type: ignore[arg-type]
                      binary_json=stream == TRADE_STREAM, outbox_limit=1000)  # fmt: skip


frames = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40),
    json_values.map(json.dumps),
    json_values.map(lambda v: msgpack.packb(v, use_bin_type=True)),
    st.fixed_dictionaries(
        {"action": st.sampled_from(["auth", "authenticate", "listen", "subscribe",
                                    "unsubscribe", "x"])},
        optional={"key": json_values, "secret": json_values, "data": json_values,
                  "trades": json_values, "bars": st.lists(st.text(max_size=6), max_size=3),
                  "news": json_values},
    ).map(json.dumps),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(frames, max_size=8), st.booleans())
def test_stream_parsers_answer_any_frame(raw_frames: list[Any], use_msgpack: bool) -> None:
    b = broker()
    trade = _conn(TRADE_STREAM, use_msgpack)
    data = _conn(DATA_STREAM, use_msgpack)

    def login(conn: StreamConn, key: str, secret: str) -> int | None:
        acct = b.authenticate(key, secret, MONDAY_10AM)
        if acct is None:
            return 402
        conn.account = acct
        return None

    for raw in raw_frames:
        trade_stream_message(trade, raw, lambda k, s: b.authenticate(k, s, MONDAY_10AM))
        data_stream_message(data, raw, login=login, symbol_limit=3)
    for conn in (trade, data):
        while not conn.outbox.empty():
            _, message = conn.outbox.get_nowait()
            if isinstance(message, list):
                assert all(m["T"] in ("success", "error", "subscription") for m in message)
                assert all(m["code"] in range(400, 411) for m in message if m["T"] == "error")
