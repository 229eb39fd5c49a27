"""Decision parsing: tolerant of wrapping, strict about meaning, never raising."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from arena_fakes import decision_json
from hypothesis import given, settings
from hypothesis import strategies as st

from arenad.arena.decision import DECISION_JSON_SCHEMA, Decision, parse_decision
from arenad.arena.prompt import BookStats, system_prompt, user_prompt
from arenad.arena.settings import RailsSettings

ALLOWED = ["AAPL", "NVDA", "TSLA"]


def parse(text: str, symbol: str = "AAPL", ref: Decimal | None = Decimal(100)) -> Any:
    return parse_decision(text, symbol, ALLOWED, ref)


def test_valid_fenced_wrapped_and_lenient_forms() -> None:
    d = decision_json("AAPL")
    for text in (
        json.dumps(d),
        "```json\n" + json.dumps(d) + "\n```",
        "```\n" + json.dumps(d, indent=2) + "\n```",
        "Sure! My decision: " + json.dumps(d) + " — hope that helps.",
        json.dumps({"decisions": [decision_json("NVDA"), d]}),
        json.dumps([d]),
        json.dumps(
            {**d, "action": "buy", "timeframe": "Long Term", "quantity": "10", "extra_field": 1}
        ),
    ):
        out = parse(text)
        assert out.error is None, (text, out.error)
        assert out.decision.symbol == "AAPL" and out.decision.action == "BUY"
    lt = parse(json.dumps({**d, "timeframe": "long_term"})).decision
    assert lt.timeframe == "long-term" and lt.stop_loss == Decimal("80.0")
    r = parse(json.dumps({**d, "reasoning": "just vibes"})).decision
    assert r.reasoning.summary == "just vibes"
    hold = parse(
        json.dumps(
            {
                "symbol": "AAPL",
                "action": "HOLD",
                "quantity": None,
                "confidence": 0.2,
                "timeframe": "day",
                "reasoning": {},
            }
        )
    )
    assert hold.decision.action == "HOLD"


def test_invalid_answers_name_what_was_wrong() -> None:
    d = decision_json("AAPL")
    cases = {
        "": "empty",
        "I would hold for now.": "prose only",
        json.dumps(d)[:60]: "truncated",
        "{not json at all}": "no valid JSON",
        json.dumps({"ticker": "AAPL", "verdict": "buy"}): "schema: action",
        json.dumps({**d, "action": "SHORT"}): "schema: action",
        json.dumps({**d, "confidence": 1.5}): "schema: confidence",
        json.dumps({**d, "quantity": 2.5}): "schema: quantity",
        json.dumps({**d, "quantity": 0}): "at least 1 share",
        json.dumps({**d, "quantity": -3}): "schema: quantity",
        json.dumps({**d, "timeframe": "forever"}): "schema: timeframe",
        json.dumps({**d, "symbol": "AMZN"}): "unknown symbol 'AMZN'",
        json.dumps({**d, "symbol": "NVDA"}): "asked about AAPL, answered about NVDA",
        json.dumps({**d, "stop_loss": 120}): "stop_loss 120 is not below the entry 100",
        json.dumps({**d, "take_profit": 90}): "take_profit 90 is not above",
        json.dumps({**d, "action": "SELL", "stop_loss": 90, "take_profit": 110}): "not above",
        json.dumps("just a string"): "expected a JSON object",
        json.dumps({"decisions": [decision_json("NVDA"), decision_json("TSLA")]}): "none is for",
    }
    for text, reason in cases.items():
        out = parse(text)
        assert out.decision is None, text
        assert reason in (out.error or ""), (text, out.error)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=400),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
            lambda c: (
                st.lists(c, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "symbol",
                            "action",
                            "quantity",
                            "stop_loss",
                            "decisions",
                            "reasoning",
                            "confidence",
                            "timeframe",
                            "x",
                        ]
                    ),
                    c,
                    max_size=6,
                )
            ),
            max_leaves=20,
        ).map(json.dumps),
    )
)
def test_parse_never_raises(text: str) -> None:
    out = parse(text)
    assert (out.decision is None) != (out.error is None)
    if out.decision is not None:
        assert isinstance(out.decision, Decision) and out.decision.symbol == "AAPL"


def test_schema_is_strict_mode_compatible_and_prompt_carries_it() -> None:
    def walk(node: dict[str, Any]) -> None:
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
            assert set(node["required"]) == set(node["properties"])
            for child in node["properties"].values():
                walk(child)

    walk(DECISION_JSON_SCHEMA)
    rails = RailsSettings()
    sys_text = system_prompt("Claude", rails)
    assert '"additionalProperties":false' in sys_text and "10000" in sys_text
    assert "No short selling" in sys_text and "AAPL, NVDA, TSLA, MSFT, GOOGL" in sys_text
    assert "last price plus 0.5% for spread and slippage" in sys_text
    from arena_fakes import make_bars

    from arenad.arena.ledger import Ledger
    from arenad.arena.market import indicators

    bars = {"AAPL": make_bars("AAPL", 30)}
    led = Ledger.new("arena:c", Decimal(100000))
    led.apply_fill(
        "AAPL",
        "buy",
        Decimal(5),
        Decimal(100),
        bars["AAPL"][-1].t,
        stop_loss=Decimal(90),
        take_profit=Decimal(120),
    )
    text = user_prompt(
        symbol="AAPL",
        now=bars["AAPL"][-1].t,
        bars=bars,
        indicators={"AAPL": indicators(bars["AAPL"])},
        ledger=led,
        marks={"AAPL": bars["AAPL"][-1].close},
        stats=BookStats(sharpe=1.25),
        prompt_bars=10,
    )
    assert "Decide for: AAPL" in text and "Sharpe so far: 1.25" in text
    assert "AAPL 5 @ 100.00" in text and "stop 90" in text and "target 120" in text
    assert text.count("\n2025-") == 10  # ten bar rows
