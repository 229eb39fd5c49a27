"""Property: whatever one field of one row turns into, parsing never crashes, never loses
another row, and a skipped row is named with its endpoint, id and the field."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tracker_fixtures import SNAP

from arenad.tracker.parse import parse

TRADES = json.loads((SNAP / "trades.json").read_text())
CHATS = json.loads((SNAP / "conversations.json").read_text())

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, len(TRADES["trades"]) - 1),
    field=st.sampled_from([*sorted(TRADES["trades"][0]), "brand_new"]),
    value=json_values,
)
@example(index=0, field="entry_time", value=10**20)
@example(index=0, field="exit_time", value=-1e300)
@example(index=1, field="trade_id", value=7)
@example(index=1, field="trade_id", value=True)
@example(index=2, field="leverage", value=2.0)
def test_any_drift_of_one_trade_field(index: int, field: str, value: Any) -> None:
    doc = json.loads(json.dumps(TRADES))
    row = doc["trades"][index]
    row[field] = value
    p = parse("trades", json.dumps(doc))
    others = {t["trade_id"] for i, t in enumerate(doc["trades"]) if i != index}
    assert others <= {t.trade_id for t in p.rows}
    if p.errors:
        (e,) = p.errors
        assert e.endpoint == "trades" and e.field == field
        tid = row.get("trade_id")
        named = isinstance(tid, str | int) and not isinstance(tid, bool)
        assert e.row_id == (str(tid) if named else row["id"])
        assert len(p.rows) == len(doc["trades"]) - 1
    else:
        assert len(p.rows) == len(doc["trades"])
        kept = next(t for t in p.rows if json.loads(t.raw).get("id") == row["id"])
        assert json.loads(kept.raw)[field] == value  # an unknown or tolerated value is kept


@settings(max_examples=100, deadline=None)
@given(
    coin_field=st.sampled_from(
        ["signal", "quantity", "confidence", "stop_loss", "justification", "leverage", "surprise"]
    ),
    value=json_values,
)
def test_any_drift_of_one_decision_field(coin_field: str, value: Any) -> None:
    doc = json.loads(json.dumps(CHATS))
    chat = next(c for c in doc["conversations"] if len(c["llm_response"]) == 6)
    chat["llm_response"]["ETH"][coin_field] = value
    p = parse("conversations", json.dumps(doc))
    assert len(p.rows) == len(doc["conversations"])  # the chat is always kept
    parsed = next(c for c in p.rows if c.chat_id == chat["id"])
    if p.errors:
        (e,) = p.errors
        assert e.row_id == f"{chat['id']}:ETH" and e.field == f"llm_response.ETH.{coin_field}"
        assert sorted(d.coin for d in parsed.decisions) == ["BNB", "BTC", "DOGE", "SOL", "XRP"]
    else:
        assert len(parsed.decisions) == 6
