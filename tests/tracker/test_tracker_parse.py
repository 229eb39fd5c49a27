"""The pure parts: response parsing, the book-id rule, the `[tracker]` settings."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tracker_fixtures import SNAP

from arenad.cli import main
from arenad.config import loader
from arenad.store.db import open_reader
from arenad.tracker.models import FadeBotRef, book_for, fade_bot_refs, identify
from arenad.tracker.parse import ResponseError, epoch_iso, parse
from arenad.tracker.settings import TrackerModelSettings
from arenad.tracker.store import TrackerStore, latest_chat_before
from conftest import REPO

W1 = "0x" + "11" * 20
W2 = "0x" + "22" * 20


def test_every_recorded_response_parses_without_loss() -> None:
    for ep, key in [
        ("leaderboard", "leaderboard"),
        ("trades", "trades"),
        ("since-inception-values", "sinceInceptionValues"),
        ("conversations", "conversations"),
        ("analytics", "analytics"),
    ]:
        body = (SNAP / f"{ep}.json").read_bytes()
        p = parse(ep, body)
        assert p.errors == [], ep
        assert len(p.rows) == len(json.loads(body)[key]), ep
        # raw keeps every field of every row, values unchanged
        originals = json.loads(body)[key]
        by_raw = [json.loads(r.raw) for r in p.rows]
        if ep == "leaderboard":  # ranked by equity, not in API order
            originals = sorted(originals, key=lambda r: -r["equity"])
        if ep == "conversations":  # texts stored verbatim in columns are not repeated in raw
            for raw, row in zip(by_raw, p.rows, strict=True):
                raw["user_prompt"] = row.user_prompt
                if "cot_trace" not in raw:
                    raw["cot_trace"] = row.content
        assert by_raw == originals, ep
    p = parse("crypto-prices", (SNAP / "crypto-prices.json").read_bytes())
    assert {r.symbol: r.price for r in p.rows}["DOGE"] == Decimal("0.200715")


def test_exact_decimals_and_times() -> None:
    p = parse("trades", (SNAP / "trades.json").read_bytes())
    t = p.rows[0]
    assert t.total_commission == Decimal("2.0335900000000002")  # the API's digits, not rounded
    assert t.quantity == Decimal("2.2") and t.leverage == 1
    assert t.opened_at == "2025-10-27T12:13:08.476000Z"  # matches entry_human_time
    assert epoch_iso(Decimal("1761634244.597393")) == "2025-10-28T06:50:44.597393Z"
    assert epoch_iso(1761634261291) == "2025-10-28T06:51:01.291000Z"  # milliseconds
    shorts = [r for r in p.rows if r.side == "short"]
    assert shorts and all(r.quantity < 0 for r in shorts)


def test_chats_with_object_traces_and_non_json_answers() -> None:
    p = parse("conversations", (SNAP / "conversations.json").read_bytes())
    by_id = {c.chat_id: c for c in p.rows}
    failed = by_id["deepseek-chat-v3.1_1761633389.577893"]
    assert failed.decisions == () and failed.headline() is None
    assert "failed_json_response_raw_text" in json.loads(failed.raw)["llm_response"]
    obj = next(c for c in p.rows if c.content.startswith("{"))
    assert json.loads(obj.content)  # an object trace is kept as JSON text
    enter = next(c for c in p.rows if any(d.signal == "buy_to_enter" for d in c.decisions))
    head = enter.headline()
    assert head is not None and head.decision == "buy" and 0 <= (head.confidence01 or 0) <= 1


@pytest.mark.parametrize(
    ("endpoint", "body", "reason"),
    [
        ("trades", b"<html>Just a moment...</html>", "body is not JSON"),
        ("trades", b'{"trades": {"a": 1}}', "expected 'trades' to be an array"),
        ("trades", b"[1, 2]", "expected a JSON object"),
        ("crypto-prices", b'{"prices": []}', "'prices' object"),
        ("positions", b"{}", "unknown endpoint"),
    ],
)
def test_unusable_bodies_fail_the_response(endpoint: str, body: bytes, reason: str) -> None:
    with pytest.raises(ResponseError) as ei:
        parse(endpoint, body)
    assert reason in str(ei.value) and f"/{endpoint}" in str(ei.value)


def test_a_bad_row_names_endpoint_row_and_field() -> None:
    body = json.dumps(
        {
            "sinceInceptionValues": [
                {
                    "id": "a",
                    "model_id": "gpt-5",
                    "nav_since_inception": 10000,
                    "inception_date": 1.5,
                },
                {
                    "id": "b",
                    "model_id": "grok-4",
                    "nav_since_inception": True,
                    "inception_date": 1.5,
                },
                "not an object",
            ],
            "extra_envelope_field": 1,
        }
    )
    p = parse("since-inception-values", body)
    assert [r.model_id for r in p.rows] == ["gpt-5"]
    assert [str(e) for e in p.errors] == [
        "/since-inception-values row b: field 'nav_since_inception': expected a number, got"
        " boolean true",
        "/since-inception-values row #2: field '(row)': expected an object, got string"
        " 'not an object'",
    ]


def test_book_rule_matches_fade_bots_by_wallet_only() -> None:
    bots = [FadeBotRef("gemini-3-pro", W1.upper().replace("0X", "0x")), FadeBotRef("gpt-5", W2)]
    assert book_for("gemini-3-pro", W1, bots) == ("bot:gemini-3-pro", "gemini-3-pro")
    # same id as a fade bot but another (or no) wallet: its own book
    assert book_for("gpt-5", None, bots) == ("bot:nof1-gpt-5", None)
    assert book_for("gpt-5", "0x" + "33" * 20, bots) == ("bot:nof1-gpt-5", None)
    assert book_for("buynhold_btc", None, bots)[0] == "benchmark:nof1-buynhold_btc"
    m = identify("gemini-3-pro", [TrackerModelSettings(model_id="gemini-3-pro", wallet=W1)], bots)
    assert (m.book_id, m.name, m.kind) == ("bot:gemini-3-pro", "gemini-3-pro", "bot")
    known = identify("claude-sonnet-4-5", [], bots)
    assert (known.name, known.provider) == ("Claude Sonnet 4.5", "Anthropic")

    class Bot:
        def __init__(self, **kw: Any) -> None:
            self.__dict__.update(kw)

    fade = Bot(bots=[Bot(bot_id="a", wallet=W1), Bot(id="b", wallet=None), Bot(name="c")])
    assert fade_bot_refs(fade) == [
        FadeBotRef("a", W1),
        FadeBotRef("b", None),
        FadeBotRef("c", None),
    ]
    assert fade_bot_refs(object()) == []


async def test_a_wallet_matched_model_adds_its_decisions_to_the_fade_bots_book(store: Any) -> None:
    from arenad.tracker.settings import TrackerSettings

    st = TrackerSettings(models=[TrackerModelSettings(model_id="gpt-5", wallet=W2)])
    ts = TrackerStore(store.writer, lambda: st, lambda: [FadeBotRef("gpt5-bot", W2)])
    for ep in ("trades", "conversations", "leaderboard"):
        await ts.ingest(
            parse(ep, (SNAP / f"{ep}.json").read_bytes()), "2025-10-28T06:51:03.000000Z"
        )
    async with open_reader(store.path) as conn:
        # the fade engine owns a bot book's curve and round trips: the tracker adds decisions
        for table in ("trade_log", "equity_snapshots"):
            rows = await (
                await conn.execute(f"SELECT count(*) FROM {table} WHERE book_id = 'bot:gpt5-bot'")  # noqa: S608
            ).fetchone()
            assert rows[0] == 0, table
        rows = await (
            await conn.execute("SELECT count(*) FROM nof1_trades WHERE model_id = 'gpt-5'")
        ).fetchone()
        assert rows[0] == 66
        rows = await (
            await conn.execute("SELECT count(*) FROM trade_log WHERE book_id = 'bot:nof1-grok-4'")
        ).fetchone()
        assert rows[0] == 20
        rows = await (
            await conn.execute("SELECT count(*) FROM decision_log WHERE book_id = 'bot:gpt5-bot'")
        ).fetchone()
        assert rows[0] > 0
        rows = await (
            await conn.execute(
                "SELECT kind, json_extract(details, '$.fade_bot_id') FROM books"
                " WHERE book_id = 'bot:gpt5-bot'"
            )
        ).fetchone()
        assert tuple(rows) == ("bot", "gpt5-bot")
        # the fade engine asks by its bot id
        chat = await latest_chat_before(conn, "gpt5-bot")
        assert chat is not None and chat["model"] == "gpt-5" and chat["book_id"] == "bot:gpt5-bot"


def test_shipped_tracker_block_is_offline() -> None:
    st = loader.load_settings(REPO / "config.toml").settings.tracker
    assert st.enabled is False and st.base_url == "https://nof1.ai/api"


@pytest.mark.parametrize(
    ("block", "key", "reason"),
    [
        ("interval_s = 0", "tracker.interval_s", "greater than 0"),
        ('base_url = "nof1.ai/api"', "tracker.base_url", "not an http(s) URL"),
        (
            '[[tracker.models]]\nmodel_id = "x"\nwallet = "0x12"',
            "tracker.models[0].wallet",
            "not a wallet address",
        ),
    ],
)
def test_bad_tracker_settings_name_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], block: str, key: str, reason: str
) -> None:
    f = tmp_path / "config.toml"
    f.write_text(f"[tracker]\n{block}\n")
    assert main(["config", "check", str(f)]) == 2
    err = capsys.readouterr().err
    assert key in err and reason in err, err
