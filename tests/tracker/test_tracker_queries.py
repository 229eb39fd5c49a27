"""`arenad tracker import` of the recorded snapshot, then seed 002's example queries on our
tables, each answer computed independently from the JSON; and the chat lookup the fade
decisions use."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tracker_fixtures import SNAP, load

from arenad.cli import main
from arenad.store.db import open_reader
from arenad.tracker.parse import epoch_iso
from arenad.tracker.store import latest_chat_before, list_models

WALLET = "0x" + "ab12" * 10

NAMES = {  # what seed 002's queries call the models
    "claude-sonnet-4-5": ("Claude Sonnet 4.5", "Anthropic"),
    "deepseek-chat-v3.1": ("DeepSeek V3.1", "DeepSeek"),
    "gemini-2.5-pro": ("Gemini 2.5 Pro", "Google"),
    "gpt-5": ("GPT-5", "OpenAI"),
    "grok-4": ("Grok 4", "xAI"),
    "qwen3-max": ("Qwen3 Max", "Alibaba"),
}


@pytest.fixture
def imported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> sqlite3.Connection:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[daemon]\ndb_path = "arenad.db"\n'
        f'[[tracker.models]]\nmodel_id = "gpt-5"\nwallet = "{WALLET.upper().replace("0X", "0x")}"\n'
    )
    # a second, later snapshot: the same data but the leaderboard an hour on
    later = tmp_path / "2025-10-28T075103Z"
    shutil.copytree(SNAP, later)
    (later / "index.json").unlink()
    lb = json.loads((SNAP / "leaderboard.json").read_text())
    for r in lb["leaderboard"]:
        if r["id"] == "claude-sonnet-4-5":
            r["equity"], r["return_pct"] = 9000.5, -9.995
    (later / "leaderboard.json").write_text(json.dumps(lb))
    assert main(["tracker", "import", str(SNAP), "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "trades: 253 rows: nof1_trades +253, trade_log +253" in out
    assert "account-totals: no file" in out
    assert main(["tracker", "import", str(later), "--config", str(cfg), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["snapshot_time"] == "2025-10-28T07:51:03.000000Z"
    # the second import repeats everything but the leaderboard: nothing new
    assert {ep: r["inserted"] for ep, r in summary["endpoints"].items() if ep != "leaderboard"} == {
        "trades": {},
        "since-inception-values": {},
        "conversations": {},
        "analytics": {},
        "crypto-prices": {},
    }
    conn = sqlite3.connect(tmp_path / "arenad.db")
    conn.row_factory = None
    return conn


def test_current_leaderboard(imported: sqlite3.Connection) -> None:
    rows = imported.execute(
        "SELECT m.name, m.provider, ls.rank, ls.total_assets, ls.pnl_percent, ls.win_rate,"
        " ls.total_trades FROM nof1_leaderboard_snapshots ls"
        " JOIN nof1_models m ON ls.model_id = m.model_id"
        " WHERE ls.ts = (SELECT MAX(ts) FROM nof1_leaderboard_snapshots) ORDER BY ls.rank"
    ).fetchall()
    lb = json.loads((SNAP / "leaderboard.json").read_text())["leaderboard"]
    for r in lb:
        if r["id"] == "claude-sonnet-4-5":
            r["equity"], r["return_pct"] = 9000.5, -9.995
    lb.sort(key=lambda r: -r["equity"])
    assert rows == [
        (
            *NAMES[r["id"]],
            i,
            str(r["equity"]),
            r["return_pct"],
            100.0 * r["num_wins"] / r["num_trades"],
            r["num_trades"],
        )
        for i, r in enumerate(lb, start=1)
    ]
    assert rows[0][0] == "Qwen3 Max" and rows[-1][0] == "GPT-5"


def test_model_performance_over_time(imported: sqlite3.Connection) -> None:
    rows = imported.execute(
        "SELECT DATE(ts) AS date, rank, total_assets, pnl_percent FROM nof1_leaderboard_snapshots"
        " WHERE model_id = (SELECT model_id FROM nof1_models WHERE name = 'Claude Sonnet 4.5')"
        " ORDER BY ts"
    ).fetchall()
    assert rows == [
        ("2025-10-28", 4, "8552.7", -14.469999999999999),
        ("2025-10-28", 3, "9000.5", -9.995),
    ]
    # the same curve on the common books tables: inception NAV, then each leaderboard point
    curve = imported.execute(
        "SELECT ts, equity FROM equity_snapshots WHERE book_id = 'bot:nof1-claude-sonnet-4-5'"
        " ORDER BY ts"
    ).fetchall()
    assert curve == [
        ("2025-10-17T22:11:14.149193Z", 10000.0),
        ("2025-10-28T06:51:03.000000Z", 8552.7),
        ("2025-10-28T07:51:03.000000Z", 9000.5),
    ]


def test_recent_trades_for_a_model(imported: sqlite3.Connection) -> None:
    rows = imported.execute(
        "SELECT symbol, side, entry_price, exit_price, pnl, pnl_percent, status, opened_at,"
        " closed_at FROM nof1_trades"
        " WHERE model_id = (SELECT model_id FROM nof1_models WHERE name = 'GPT-5')"
        " ORDER BY opened_at DESC LIMIT 20"
    ).fetchall()
    trades = [t for t in load("trades")["trades"] if t["model_id"] == "gpt-5"]
    trades.sort(key=lambda t: -t["entry_time"])
    assert len(rows) == 20
    for row, t in zip(rows, trades[:20], strict=True):
        assert row[:4] == (t["symbol"], t["side"], str(t["entry_price"]), str(t["exit_price"]))
        assert row[4] == float(t["realized_net_pnl"])
        gross_pct = t["realized_gross_pnl"] / (t["entry_price"] * abs(t["quantity"])) * 100
        assert row[5] == pytest.approx(float(gross_pct))
        assert row[6] == "closed"
        assert row[7] == epoch_iso(t["entry_time"]) and row[8] == epoch_iso(t["exit_time"])


def test_trading_statistics_by_model(imported: sqlite3.Connection) -> None:
    rows = imported.execute(
        "SELECT m.name, m.provider, COUNT(*) AS total_trades,"
        " SUM(CASE WHEN t.pnl > 0 THEN 1 ELSE 0 END) AS winning_trades,"
        " ROUND(100.0 * SUM(CASE WHEN t.pnl > 0 THEN 1 ELSE 0 END) / COUNT(*), 2) AS win_rate,"
        " SUM(t.pnl) AS total_pnl FROM nof1_trades t JOIN nof1_models m ON t.model_id = m.model_id"
        " WHERE t.status = 'closed' GROUP BY m.model_id, m.name, m.provider"
        " ORDER BY total_pnl DESC"
    ).fetchall()
    stats: dict[str, list[Any]] = defaultdict(lambda: [0, 0, Decimal(0)])
    for t in load("trades")["trades"]:
        s = stats[t["model_id"]]
        s[0] += 1
        s[1] += t["realized_net_pnl"] > 0
        s[2] += t["realized_net_pnl"]
    expected = sorted(stats.items(), key=lambda kv: -kv[1][2])
    assert [r[0] for r in rows] == [NAMES[m][0] for m, _ in expected]
    for r, (m, (n, wins, pnl)) in zip(rows, expected, strict=True):
        assert r[1:4] == (NAMES[m][1], n, wins)
        assert r[4] == round(100.0 * wins / n, 2)
        assert r[5] == pytest.approx(float(pnl), abs=1e-6)
    assert rows[0][0] == "DeepSeek V3.1" and rows[0][5] == pytest.approx(10049.005192)


def test_recent_chats(imported: sqlite3.Connection) -> None:
    rows = imported.execute(
        "SELECT m.name AS model_name, mc.ts, mc.decision, mc.symbol, mc.confidence,"
        " SUBSTR(mc.content, 1, 200) AS content_preview FROM nof1_chats mc"
        " JOIN nof1_models m ON mc.model_id = m.model_id ORDER BY mc.ts DESC LIMIT 50"
    ).fetchall()
    convs = sorted(load("conversations")["conversations"], key=lambda c: -c["timestamp"])
    seed_enum = {
        "buy_to_enter": "buy",
        "sell_to_enter": "sell",
        "hold": "hold",
        "close_position": "none",
    }
    assert len(rows) == len(convs) == 25
    for row, c in zip(rows, convs, strict=True):
        coins = [v for v in c["llm_response"].values() if isinstance(v, dict)]
        head = next((v for v in coins if v["signal"] != "hold"), coins[0] if coins else None)
        cot = c["cot_trace"]
        text = (
            cot
            if isinstance(cot, str)
            else json.dumps(cot, separators=(",", ":"), default=float, ensure_ascii=False)
        )
        assert row[0] == NAMES[c["model_id"]][0]
        assert row[1] == epoch_iso(c["timestamp"])
        if head is None:  # the model's answer was not JSON: no decision
            assert "failed_json_response_raw_text" in c["llm_response"]
            assert row[2:5] == (None, None, None)
        else:
            assert row[2:4] == (seed_enum[head["signal"]], head["coin"])
            assert row[4] == pytest.approx(float(head["confidence"]) * 100)
        assert row[5] == text[:200]
    decisions = {r[0] for r in rows}
    assert decisions  # every model appears
    assert {r[2] for r in rows} >= {"buy", "none", "hold", None}


def test_snapshot_count_by_day(imported: sqlite3.Connection) -> None:
    rows = imported.execute(
        "SELECT DATE(ts) AS date, COUNT(*) AS snapshots, COUNT(DISTINCT model_id) AS models_tracked"
        " FROM nof1_leaderboard_snapshots GROUP BY DATE(ts) ORDER BY date DESC"
    ).fetchall()
    assert rows == [("2025-10-28", 12, 6)]


async def test_latest_chat_before_links_a_fill_to_the_bots_reasoning(
    imported: sqlite3.Connection, tmp_path: Path
) -> None:
    convs = [c for c in load("conversations")["conversations"] if c["model_id"] == "gpt-5"]
    convs.sort(key=lambda c: c["timestamp"])
    first, second = convs[0], convs[1]
    between = epoch_iso((first["timestamp"] + second["timestamp"]) / 2)
    async with open_reader(tmp_path / "arenad.db") as conn:
        # by wallet (configured in [[tracker.models]], any case), model id and book id
        for who in (WALLET, WALLET.upper().replace("0X", "0x"), "gpt-5", "bot:nof1-gpt-5"):
            chat = await latest_chat_before(conn, who, between)
            assert chat is not None, who
            assert chat["chat_id"] == first["id"] and chat["model"] == "gpt-5"
            assert chat["ts"] == epoch_iso(first["timestamp"])
            assert chat["summary"] == first["cot_trace_summary"]
            assert chat["text"] == first["cot_trace"]
        # exactly at a chat's time: that chat
        chat = await latest_chat_before(conn, "gpt-5", epoch_iso(second["timestamp"]))
        assert chat is not None and chat["chat_id"] == second["id"]
        # no time: the newest; before the first: none; unknown model: none
        chat = await latest_chat_before(conn, "gpt-5")
        assert chat is not None and chat["chat_id"] == convs[-1]["id"]
        assert await latest_chat_before(conn, "gpt-5", "2025-10-01T00:00:00.000000Z") is None
        assert await latest_chat_before(conn, "no-such-bot", between) is None
        # the decisions of the chat, narrowed to the fill's coin
        chat = await latest_chat_before(conn, "gpt-5", between, symbol="BTC")
        assert chat is not None
        assert [d["coin"] for d in chat["decisions"]] == (
            ["BTC"] if "BTC" in first["llm_response"] else []
        )
        models = await list_models(conn)
    gpt5 = next(m for m in models if m["model_id"] == "gpt-5")
    assert gpt5["wallet"] == WALLET and gpt5["book_id"] == "bot:nof1-gpt-5"
    assert gpt5["trades"] == 66 and gpt5["rank"] == 6 and gpt5["equity"] == "3656.88"
    assert len(models) == 7


def test_import_refuses_a_directory_without_endpoint_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tracker", "import", str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["tracker", "import", str(tmp_path)]) == 2
    assert "no nof1 endpoint file" in capsys.readouterr().err


def test_import_reports_a_broken_file_and_keeps_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = tmp_path / "snap"
    snap.mkdir()
    shutil.copy(SNAP / "leaderboard.json", snap)
    (snap / "trades.json").write_text("<html>502 Bad Gateway</html>")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[daemon]\ndb_path = "arenad.db"\n')
    assert main(["tracker", "import", str(snap), "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "trades: FAILED: body is not JSON" in err
    conn = sqlite3.connect(tmp_path / "arenad.db")
    assert conn.execute("SELECT count(*) FROM nof1_leaderboard_snapshots").fetchone() == (6,)
    (msg,) = conn.execute(
        "SELECT message FROM system_events WHERE category = 'tracker' AND level = 'error'"
    ).fetchone()
    assert "trades.json" in msg and "not JSON" in msg
