"""Strategy definitions: the seed's elements, the tree on top, variables, and error paths."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arenad.strategies.definition import (
    GroupNode,
    InverseVolatility,
    SelectTopNode,
    Specified,
    StrategyError,
    TickerNode,
    compile_root,
    effective_weighting,
    load_strategy,
    parse_strategy,
    substitute,
    variable_refs,
)

REPO = Path(__file__).resolve().parents[2]


def t(sym: str, **kw: Any) -> dict[str, Any]:
    return {"type": "ticker", "ticker": sym, **kw}


def test_seed_elements_array_is_a_strategy() -> None:
    sf = parse_strategy([{"type": "ticker", "ticker": "SPY", "weight": "1"}])
    root = compile_root(sf.template())
    assert root.elements == [TickerNode(type="ticker", ticker="SPY", weight=Decimal("1"))]
    assert root.symbols() == ["SPY"] and root.lookback() == 0
    assert isinstance(effective_weighting(root.weighting, root.elements), Specified)


def test_tree_with_every_node_type() -> None:
    root = compile_root(
        {
            "elements": [
                {
                    "type": "group",
                    "weight": 2,
                    "weighting": {"method": "inverse_volatility", "window": 63},
                    "children": [t("tlt"), t("IEF")],
                },
                {
                    "type": "select_top",
                    "weight": "1",
                    "metric": "momentum",
                    "window": 126,
                    "n": 2,
                    "weighting": "equal",
                    "children": [
                        t("SPY"),
                        t("QQQ"),
                        {"type": "group", "children": [t("EFA"), t("EEM")]},
                    ],
                },
            ]
        }
    )
    g, s = root.elements
    assert isinstance(g, GroupNode) and isinstance(g.weighting, InverseVolatility)
    assert isinstance(s, SelectTopNode) and s.n == 2
    assert root.symbols() == ["TLT", "IEF", "SPY", "QQQ", "EFA", "EEM"]  # upper-cased
    assert root.lookback() == 126


@pytest.mark.parametrize(
    ("template", "path", "reason"),
    [
        ({"elements": []}, "elements", "at least 1 item"),
        ({"elements": [t("SPY", weight="x")]}, "elements[0].weight", "valid decimal"),
        ({"elements": [t("SPY", weight="-1")]}, "elements[0].weight", "greater than or equal"),
        ({"elements": [t("S P Y")]}, "elements[0].ticker", "not a ticker symbol"),
        (
            {"elements": [{"type": "tikcer", "ticker": "SPY"}]},
            "elements[0].type",
            "unknown element type 'tikcer'",
        ),
        ({"elements": [{"ticker": "SPY"}]}, "elements[0].type", "missing"),
        (
            {"elements": [{"type": "group", "children": [t("A"), t("B", colour=1)]}]},
            "elements[0].children[1].colour",
            "Extra inputs",
        ),
        (
            {"elements": [{"type": "group", "weighting": "bogus", "children": [t("A")]}]},
            "elements[0].weighting",
            "'bogus'",
        ),
        (
            {
                "elements": [
                    {
                        "type": "group",
                        "weighting": {"method": "inverse_volatility"},
                        "children": [t("A")],
                    }
                ]
            },
            "elements[0].weighting.window",
            "Field required",
        ),
        (
            {
                "elements": [
                    {
                        "type": "select_top",
                        "metric": "momentum",
                        "window": 1,
                        "n": 1,
                        "children": [t("A")],
                    }
                ]
            },
            "elements[0].window",
            "greater than or equal",
        ),
        (
            {
                "elements": [
                    {
                        "type": "select_top",
                        "metric": "momentum",
                        "window": 5,
                        "n": 3,
                        "children": [t("A"), t("B")],
                    }
                ]
            },
            "elements[0].n",
            "is 3 but there are only 2 children",
        ),
        (
            {
                "elements": [
                    {
                        "type": "select_top",
                        "metric": "sharpe",
                        "window": 5,
                        "n": 1,
                        "children": [t("A")],
                    }
                ]
            },
            "elements[0].metric",
            "'momentum'",
        ),
        (
            {"elements": [t("A", weight="1"), t("B")]},
            "elements[1].weight",
            "some siblings have a weight",
        ),
        (
            {"elements": [t("A", weight="1")], "weighting": "equal"},
            "elements[0].weight",
            "weighting is equal, which ignores it",
        ),
        (
            {"elements": [t("A"), t("B")], "weighting": "specified"},
            "elements[0].weight",
            "required: the weighting is specified",
        ),
        ({"elements": [t("A", weight="0"), t("B", weight="0")]}, "elements[0].weight", "sum to 0"),
        (
            {
                "elements": [
                    {
                        "type": "select_top",
                        "metric": "momentum",
                        "window": 5,
                        "n": 1,
                        "children": [t("A", weight="1")],
                    }
                ]
            },
            "elements[0].children[0].weight",
            "select_top weights its picks itself",
        ),
    ],
)
def test_invalid_definitions_name_the_element_path(
    template: dict[str, Any], path: str, reason: str
) -> None:
    with pytest.raises(StrategyError) as e:
        compile_root(template)
    assert any(p.path == path and reason in p.reason for p in e.value.problems), e.value.problems


def test_variables_can_stand_for_any_value() -> None:
    template = {
        "elements": [
            {
                "type": "select_top",
                "metric": "$metric",
                "window": "$window",
                "n": "$n",
                "children": [t("$a"), t("QQQ")],
            },
        ]
    }
    refs = variable_refs(template)
    assert refs == {
        "metric": ["elements[0].metric"],
        "window": ["elements[0].window"],
        "n": ["elements[0].n"],
        "a": ["elements[0].children[0].ticker"],
    }
    root = compile_root(
        template, {"metric": "low_volatility", "window": "14", "n": "1", "a": "spy"}
    )
    node = root.elements[0]
    assert isinstance(node, SelectTopNode)
    assert (node.metric, node.window, node.n) == ("low_volatility", 14, 1)
    assert root.symbols() == ["SPY", "QQQ"]
    assert "$window" in json.dumps(template)  # the template itself is untouched


def test_variable_errors_name_where_the_value_landed() -> None:
    template = {"elements": [t("SPY", weight="$w"), t("TLT", weight="1")]}
    with pytest.raises(StrategyError, match=r"elements\[0\]\.weight: variable \$w has no value"):
        compile_root(template)
    with pytest.raises(StrategyError, match=r"elements\[0\]\.weight: Input should be a valid"):
        compile_root(template, {"w": "lots"})
    assert substitute(template, {"w": "3"})["elements"][0]["weight"] == "3"


def test_strategy_file_metadata_and_errors(tmp_path: Path) -> None:
    sf = load_strategy(REPO / "examples/strategies/momentum_rotation.json")
    assert sf.benchmark_symbol == "SPY" and sf.rebalance == "monthly"
    assert [v.name for v in sf.variables] == ["window", "n"]

    bad = tmp_path / "bad.json"
    bad.write_text('{"elements": [\n  {"type": "ticker",, }\n]}')
    with pytest.raises(StrategyError, match=r"bad.json: line 2 column 21: invalid JSON"):
        load_strategy(bad)
    bad.write_text(json.dumps({"elements": [t("A")], "start_date": "2020-13-01"}))
    with pytest.raises(StrategyError, match=r"bad.json: start_date: "):
        load_strategy(bad)
    bad.write_text(
        json.dumps({"elements": [t("A")], "start_date": "2021-01-01", "end_date": "2020-01-01"})
    )
    with pytest.raises(StrategyError, match=r"end_date: is before start_date"):
        load_strategy(bad)
    bad.write_text(
        json.dumps({"elements": [t("A")], "variables": [{"name": "x", "values": ["1", "1"]}]})
    )
    with pytest.raises(StrategyError, match=r"variables\[0\]\.values: .*'1' is listed twice"):
        load_strategy(bad)
    bad.write_text("42")
    with pytest.raises(StrategyError, match="a JSON object or an elements array"):
        load_strategy(bad)
    with pytest.raises(StrategyError, match="cannot read"):
        load_strategy(tmp_path / "missing.json")


def test_deep_nesting_is_refused() -> None:
    node: dict[str, Any] = t("A")
    for _ in range(20):
        node = {"type": "group", "children": [node]}
    with pytest.raises(StrategyError, match="nesting deeper than 16"):
        compile_root({"elements": [node]})
