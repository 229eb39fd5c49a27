"""`arenad backtest` and `arenad batch`: output, saving, and exit 2 with a reason on bad input."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from arenad.cli import main
from arenad.strategies.prices import load_prices_csv

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "strategies"
PRICES = EXAMPLES / "prices.csv"
SIXTY = EXAMPLES / "sixty_forty.json"
ROTATION = EXAMPLES / "momentum_rotation.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def write(tmp_path: Path, name: str, data: Any) -> Path:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return p


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Defaults must not depend on a config.toml in the working directory.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARENAD_CONFIG", raising=False)


def test_backtest_json_buy_and_hold_is_the_price_ratio(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    strat = write(tmp_path, "spy.json", [{"type": "ticker", "ticker": "SPY", "weight": "1"}])
    rc, out, err = run(
        capsys, "backtest", str(strat), "--prices", str(PRICES), "--slippage-bps", "0", "--json"
    )
    assert rc == 0, err
    doc = json.loads(out)
    spy = load_prices_csv(PRICES).select(["SPY"]).closes[:, 0]
    assert doc["metrics"]["total_return"] == pytest.approx(spy[-1] / spy[0] - 1, rel=1e-12)
    assert doc["metrics"]["excess_return"] == pytest.approx(0, abs=1e-12)  # vs itself
    assert doc["config"]["benchmark"] == "SPY" and doc["config"]["rebalance"] == "monthly"
    assert doc["equity_curve"][0]["value"] == 100_000.0
    assert doc["positions"][0]["ticker"] == "SPY" and doc["saved"] is None


def test_backtest_human_output_and_flags(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(
        capsys,
        "backtest",
        str(SIXTY),
        "--prices",
        str(PRICES),
        "--start",
        "2022-01-01",
        "--end",
        "2022-12-31",
        "--rebalance",
        "weekly",
        "--capital",
        "5000",
        "--fee-bps",
        "1",
    )
    assert rc == 0, err
    assert "period     2022-01-03 to 2022-12-30" in out
    assert "weekly rebalances" in out and "capital    5,000.00 ->" in out
    assert "holdings   SPY 60.0%, TLT 40.0%" in out
    assert "sharpe" in out and "max_drawdown" in out


def test_backtest_variables_from_flags_and_file_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, out, _ = run(capsys, "backtest", str(ROTATION), "--prices", str(PRICES), "--json")
    assert rc == 0
    assert json.loads(out)["variables"] == {"window": "126", "n": "2"}  # first listed values
    rc, out, _ = run(
        capsys,
        "backtest",
        str(ROTATION),
        "--prices",
        str(PRICES),
        "--var",
        "n=1",
        "--var",
        "window=21",
        "--json",
    )
    assert rc == 0
    doc = json.loads(out)
    assert doc["variables"] == {"n": "1", "window": "21"}
    assert doc["summary"]["start"] < "2021-06-29"  # shorter lookback, earlier start


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (
            lambda t: write(
                t, "s.json", {"elements": [{"type": "ticker", "ticker": "SPY", "weight": "-1"}]}
            ),
            [],
            "s.json: elements[0].weight: Input should be greater than or equal to 0",
        ),
        (
            lambda t: write(t, "s.json", {"elements": [{"type": "ticker", "ticker": "XYZ"}]}),
            [],
            "symbol XYZ is not in the price data",
        ),
        (lambda t: write(t, "s.json", "{nope"), [], "s.json: line 1 column 2: invalid JSON"),
        (lambda t: SIXTY, ["--start", "2030-01-01"], "no trading days between 2030-01-01"),
        (lambda t: SIXTY, ["--benchmark", "BTC"], "symbol BTC is not in the price data"),
        (lambda t: ROTATION, ["--var", "n=9"], "elements[0].n: is 9 but there are only 5"),
        (lambda t: ROTATION, ["--var", "n=1,2"], "a backtest takes one value per variable"),
        (lambda t: SIXTY, ["--start", "2021-13-01"], "not a date"),
        (lambda t: SIXTY, ["--fee-bps", "-1"], "between 0 and 1000"),
    ],
)
def test_backtest_bad_input_exits_2_naming_the_problem(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    make: Any,
    extra: list[str],
    message: str,
) -> None:
    rc, out, err = run(capsys, "backtest", str(make(tmp_path)), "--prices", str(PRICES), *extra)
    assert rc == 2
    assert message in err, err
    assert out == ""


def test_bad_price_file_names_line_and_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    prices = write(tmp_path, "p.csv", "date,symbol,close\n2024-01-02,SPY,1\n2024-01-03,SPY,x\n")
    rc, _, err = run(capsys, "backtest", str(SIXTY), "--prices", str(prices))
    assert rc == 2
    assert f"{prices}:3: column close: not a number: 'x'" in err


def test_batch_sweeps_the_file_variables(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(
        capsys, "batch", str(ROTATION), "--prices", str(PRICES), "--workers", "2", "--json"
    )
    assert rc == 0, err
    doc = json.loads(out)
    assert (doc["total"], doc["completed"], doc["combinations"], doc["truncated"]) == (
        9,
        9,
        9,
        False,
    )
    assert [r["run_index"] for r in doc["runs"]] == list(range(9))
    assert doc["runs"][0]["variables"] == {"window": "126", "n": "2"}
    best = max(doc["runs"], key=lambda r: r["metrics"]["total_return"])
    assert doc["summary"]["best"]["vars"] == best["variables"]


def test_batch_flags_override_and_cap(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(
        capsys,
        "batch",
        str(ROTATION),
        "--prices",
        str(PRICES),
        "--var",
        "n=1,2,3,4",
        "--max-runs",
        "5",
        "--workers",
        "1",
    )
    assert rc == 0, err
    assert "runs       5 of 12 combinations (truncated)" in out
    assert "running the first 5" in err
    assert "best       window=" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--var", "colour=red"], "variables.colour: $colour is not used by the strategy"),
        (["--var", "n=1", "--var", "n=2"], "n is given twice"),
        (["--var", "n"], "expected NAME=V1,V2"),
        (
            ["--var", "window=1"],
            "run 0 (window=1, n=2): elements[0].window: Input should be greater than or equal to 2",
        ),
        (["--max-runs", "0"], "must be at least 1"),
    ],
)
def test_batch_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    rc, _, err = run(capsys, "batch", str(ROTATION), "--prices", str(PRICES), *extra)
    assert rc == 2
    assert message in err, err


def test_batch_without_variables_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "batch", str(SIXTY), "--prices", str(PRICES))
    assert rc == 2 and "no variables to sweep" in err


def test_save_records_strategy_backtest_and_batch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write(
        tmp_path,
        "config.toml",
        '[daemon]\ndb_path = "arenad.db"\n\n[strategies]\nslippage_bps = 0.0\nworkers = 1\n',
    )
    rc, out, err = run(
        capsys,
        "backtest",
        str(SIXTY),
        "--prices",
        str(PRICES),
        "--save",
        "--config",
        str(config),
        "--json",
    )
    assert rc == 0, err
    saved = json.loads(out)["saved"]
    rc, out, err = run(
        capsys,
        "batch",
        str(ROTATION),
        "--prices",
        str(PRICES),
        "--save",
        "--config",
        str(config),
        "--json",
    )
    assert rc == 0, err
    job = json.loads(out)["batch_job_id"]
    conn = sqlite3.connect(tmp_path / "arenad.db")
    try:
        assert conn.execute(
            "SELECT name, slippage_bps FROM backtest_results JOIN strategies "
            "ON strategies.id = strategy_id"
        ).fetchall() == [("60/40", 0.0)]
        assert conn.execute(
            "SELECT kind FROM books WHERE book_id = ?", (f"strategy:{saved['strategy_id']}",)
        ).fetchone() == ("strategy",)
        assert conn.execute(
            "SELECT status, kind, total, completed FROM batch_jobs WHERE id = ?", (job,)
        ).fetchone() == ("finished", "local", 9, 9)
        assert conn.execute(
            "SELECT count(*) FROM batch_job_runs WHERE batch_job_id = ?", (job,)
        ).fetchone() == (9,)
        assert (
            json.loads(conn.execute("SELECT config FROM batch_jobs").fetchone()[0])["workers"] == 1
        )  # from [strategies] in the config
    finally:
        conn.close()
    rc, out, err = run(capsys, "backtests", "--config", str(config), "--json")
    assert rc == 0, err
    (saved_bt,) = json.loads(out)
    assert (saved_bt["id"], saved_bt["name"]) == (saved["backtest_id"], "60/40")
    assert saved_bt["total_return"] == pytest.approx(saved_bt["metrics"]["total_return"])
    rc, out, _ = run(capsys, "backtests", "--config", str(config))
    assert "60/40" in out and "sharpe" in out


def test_save_without_a_config_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "backtest", str(SIXTY), "--prices", str(PRICES), "--save")
    assert rc == 2 and "--save needs a config" in err


def test_bad_config_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = write(tmp_path, "config.toml", "[strategies]\nworkers = 0\n")
    rc, _, err = run(
        capsys, "backtest", str(SIXTY), "--prices", str(PRICES), "--config", str(config)
    )
    assert rc == 2 and "strategies.workers" in err


@pytest.mark.slow
def test_readme_commands_as_a_user_runs_them() -> None:
    for cmd in (
        [
            "backtest",
            "examples/strategies/sixty_forty.json",
            "--prices",
            "examples/strategies/prices.csv",
        ],
        [
            "batch",
            "examples/strategies/momentum_rotation.json",
            "--prices",
            "examples/strategies/prices.csv",
            "--var",
            "n=1,2",
        ],
    ):
        r = subprocess.run(
            [sys.executable, "-m", "arenad", *cmd],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        assert "total_return" in r.stdout or "best" in r.stdout


@pytest.mark.slow
def test_daemon_trades_an_activated_strategy_on_the_simulator(
    daemon_proc: Any, sim_thread: Any
) -> None:
    from conftest import MINIMAL_CONFIG, wait_for

    d = daemon_proc(
        MINIMAL_CONFIG
        + (
            "\n[strategies]\n"
            f'alpaca_trading_url = "{sim_thread.alpaca_url}"\n'
            f'alpaca_data_url = "{sim_thread.alpaca_url}"\n'
            "check_interval_s = 1.0\n"
        )
    )
    # Save the strategy into the daemon's database, then start the daemon and activate it.
    r = d.cli("backtest", str(SIXTY), "--prices", str(PRICES), "--save", "--json")
    assert r.returncode == 0, r.stderr
    sid = json.loads(r.stdout)["saved"]["strategy_id"]
    d.start()
    r = d.cli("strategies", "activate", str(sid), "--capital", "10000", "--at", "00:00")
    assert r.returncode == 0, r.stderr
    assert "book strategy:" in r.stdout
    r = d.cli("strategies", "activate", "999", "--capital", "10")
    assert r.returncode == 2 and "no strategy 999" in r.stderr

    def filled() -> list[Any]:
        conn = sqlite3.connect(d.db_path)
        try:
            rows = conn.execute("SELECT symbol, status FROM execution_orders").fetchall()
            snaps = conn.execute("SELECT equity FROM active_strategy_snapshots").fetchall()
        finally:
            conn.close()
        return rows if len(rows) == 2 and {s for _, s in rows} == {"filled"} and snaps else []

    rows = wait_for(filled, timeout=60, what="both orders filled and a snapshot")
    assert sorted(s for s, _ in rows) == ["SPY", "TLT"]
    listed = d.cli("strategies", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert entry["status"] == "active" and entry["last_snapshot"]["equity"]
    st = d.status()
    assert st["tasks"]["strategies-rebalancer"]["state"] == "running"
    assert st["last_order_time"] is not None

    # A sweep queued in the daemon runs in its process pool and is listed with its progress.
    r = d.cli("backtest", str(ROTATION), "--prices", str(PRICES), "--save", "--json")
    rot = json.loads(r.stdout)["saved"]["strategy_id"]
    r = d.cli(
        "strategies",
        "sweep",
        str(rot),
        "--prices",
        str(PRICES),
        "--var",
        "n=1,2",
        "--var",
        "window=21,63,126",
        "--workers",
        "1",
    )
    assert r.returncode == 0 and "runs" in r.stdout, r.stderr + d.log()[-4000:]

    def finished() -> bool:
        jobs = json.loads(d.cli("strategies", "jobs", "--json").stdout)
        return bool(jobs) and jobs[0]["status"] == "finished"

    wait_for(finished, timeout=60, what="the daemon's sweep to finish")
    jobs = d.cli("strategies", "jobs")
    assert "server finished 6/6" in jobs.stdout


def test_saved_variable_lists_feed_a_sweep(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write(tmp_path, "lists.toml", '[daemon]\ndb_path = "arenad.db"\n')
    c = ["--config", str(config)]
    rc, out, err = run(capsys, "vars", "save", "picks", "1,3", "--type", "number", *c)
    assert rc == 0 and "saved variable list picks (number, 2 values" in out, err
    rc, _, err = run(capsys, "vars", "save", "bad", "1,x", "--type", "number", *c)
    assert rc == 2 and "bad[1]: 'x' is not a number" in err
    rc, out, _ = run(capsys, "vars", "list", "--json", *c)
    assert json.loads(out)[0] | {"updated_at": None} == {
        "name": "picks",
        "type": "number",
        "values": ["1", "3"],
        "description": None,
        "updated_at": None,
    }
    rc, out, err = run(
        capsys,
        "batch",
        str(ROTATION),
        "--prices",
        str(PRICES),
        "--var",
        "n=@picks",
        "--var",
        "window=21",
        "--workers",
        "1",
        "--json",
        *c,
    )
    assert rc == 0, err
    assert [r["variables"] for r in json.loads(out)["runs"]] == [
        {"window": "21", "n": "1"},
        {"window": "21", "n": "3"},
    ]
    rc, _, err = run(
        capsys, "batch", str(ROTATION), "--prices", str(PRICES), "--var", "n=@nope", *c
    )
    assert rc == 2 and "no saved variable list 'nope'" in err
    rc, _, err = run(capsys, "batch", str(ROTATION), "--prices", str(PRICES), "--var", "n=@x")
    assert rc == 2 and "a saved list needs a config" in err
