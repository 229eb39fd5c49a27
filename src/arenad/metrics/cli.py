"""`arenad metrics EQUITY.csv`: the metrics of any equity curve (and optional round trips)."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arenad.metrics.curve import RoundTrip, curve_metrics, trade_metrics
from arenad.metrics.settings import MetricsSettings


class CsvError(ValueError):
    pass


def parse_time(text: str) -> datetime:
    """ISO 8601 (a date, or a time; naive means UTC) or epoch seconds/milliseconds."""
    t = text.strip()
    try:
        x = float(t)
    except ValueError:
        when = datetime.fromisoformat(t.replace("Z", "+00:00"))
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return datetime.fromtimestamp(x / 1000 if x > 1e11 else x, tz=UTC)


def _rows(path: Path, need: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str], list[str]]]:
    try:
        f = path.open(newline="", encoding="utf-8")
    except OSError as e:
        raise CsvError(f"{path}: cannot read: {e.strerror}") from e
    with f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in need if c not in header]
        if missing:
            raise CsvError(
                f"{path}:1: missing column(s) {', '.join(missing)} "
                f"(header is: {', '.join(header) or 'empty'})"
            )
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise CsvError(
                    f"{path}:{reader.line_num}: {len(row)} fields, the header has {len(header)}"
                )
            yield reader.line_num, dict(zip(header, row, strict=True)), header


def _cell(
    path: Path, line: int, header: list[str], row: dict[str, str], col: str, kind: str
) -> Any:
    value = row[col]
    try:
        return parse_time(value) if kind == "time" else float(value)
    except (ValueError, OverflowError, OSError) as e:
        raise CsvError(
            f"{path}:{line}:{header.index(col) + 1}: column {col}: "
            f"{value!r} is not a {'timestamp' if kind == 'time' else 'number'}"
        ) from e


def read_equity(path: Path) -> tuple[list[datetime], list[float]]:
    ts: list[datetime] = []
    eq: list[float] = []
    for line, row, header in _rows(path, ("timestamp", "equity")):
        t = _cell(path, line, header, row, "timestamp", "time")
        v = _cell(path, line, header, row, "equity", "number")
        if not v > 0:
            raise CsvError(f"{path}:{line}:{header.index('equity') + 1}: equity must be positive")
        if ts and t <= ts[-1]:
            raise CsvError(
                f"{path}:{line}:{header.index('timestamp') + 1}: timestamps must increase"
            )
        ts.append(t)
        eq.append(v)
    if len(eq) < 2:
        raise CsvError(f"{path}: needs at least two points, found {len(eq)}")
    return ts, eq


def read_trades(path: Path) -> list[RoundTrip]:
    out = []
    for line, row, header in _rows(path, ("entry_time", "exit_time", "pnl")):
        out.append(
            RoundTrip(
                _cell(path, line, header, row, "entry_time", "time"),
                _cell(path, line, header, row, "exit_time", "time"),
                _cell(path, line, header, row, "pnl", "number"),
            )
        )
    return out


def _metrics(args: argparse.Namespace) -> int:
    defaults = MetricsSettings()
    try:
        ts, eq = read_equity(Path(args.equity))
        trips = read_trades(Path(args.trades)) if args.trades else None
    except CsvError as e:
        print(f"arenad: {e}", file=sys.stderr)
        return 2
    m = curve_metrics(
        ts,
        eq,
        periods_per_year_override=args.periods_per_year,
        risk_free=args.risk_free,
        min_points=args.min_points or defaults.min_points,
    )
    out: dict[str, Any] = m.as_dict()
    if trips is not None:
        out["trades"] = trade_metrics(
            trips, min_trades=args.min_trades or defaults.min_trades
        ).as_dict()
    if args.json:
        print(json.dumps(out, indent=2, allow_nan=False))
        return 0
    for k, v in out.items():
        if k == "trades":
            for tk, tv in v.items():
                print(f"  trades.{tk:<18} {_fmt(tv)}")
        else:
            print(f"{k:<26} {_fmt(v)}")
    return 0


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if v is None:
        return "-"
    return str(v)


def _positive(text: str) -> float:
    x = float(text)
    if not x > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return x


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("metrics", help="metrics of an equity curve CSV (timestamp,equity)")
    p.add_argument("equity", metavar="EQUITY.csv", help="columns: timestamp,equity")
    p.add_argument("--trades", metavar="TRADES.csv", help="round trips: entry_time,exit_time,pnl")
    p.add_argument(
        "--periods-per-year",
        type=_positive,
        metavar="N",
        help="annualization factor (default: inferred from the timestamps)",
    )
    p.add_argument(
        "--risk-free",
        type=float,
        default=0.0,
        metavar="R",
        help="annual risk-free rate (0.04 = 4 %%)",
    )
    p.add_argument("--min-points", type=int, metavar="N", help="see [metrics] min_points")
    p.add_argument("--min-trades", type=int, metavar="N", help="see [metrics] min_trades")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_metrics)
    register_leaderboard(sub)
    register_audit(sub)


def _audit(args: argparse.Namespace) -> int:
    from arenad.config.loader import default_config_path
    from arenad.daemon.cli import load_config
    from arenad.metrics.audit import audit_path

    if args.db and not args.config and not default_config_path().is_file():
        m = MetricsSettings()  # a database alone: the default [metrics] thresholds
        path = Path(args.db)
    else:
        loaded = load_config(args)
        if loaded is None:
            return 2
        path = Path(args.db) if args.db else loaded.settings.daemon.db_path
        m = loaded.settings.metrics
    if not path.is_file():
        print(f"arenad: no database at {path}", file=sys.stderr)
        return 2
    try:
        report = audit_path(path, min_points=m.min_points, min_trades=m.min_trades)
    except sqlite3.Error as e:
        print(f"arenad: cannot read {path}: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, allow_nan=False))
    elif report.ok:
        print("ok")
    else:
        for f in report.failures():
            print(f)
    return 0 if report.ok else 1


def register_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "audit",
        help="check the books' invariants on a live or stopped database (exit 1 on a failure)",
        description="Every book with a fill has >= 2 equity points; the fade books sum to the "
        "account per coin; each aggregate is the sum of its members; no non-finite figure in "
        "the standings; every figure on too small a sample is flagged and NULL.",
    )
    p.add_argument("--db", metavar="PATH", help="database (default: the config's db_path)")
    p.add_argument("--json", action="store_true", help="{ok, checks: {name: [failure]}}")
    p.add_argument(
        "--config", metavar="PATH", help="config file (default: $ARENAD_CONFIG or ./config.toml)"
    )
    p.set_defaults(func=_audit)


def _snapshot(args: argparse.Namespace) -> int:
    """`arenad leaderboard snapshot`: the daemon stores the rankings now; with no daemon
    running, the same recompute is run here against the database."""
    import asyncio

    from arenad.control.client import ControlClient, DaemonNotRunning
    from arenad.daemon.cli import client_call, load_config, socket_path
    from arenad.metrics.recompute import Recomputer
    from arenad.store.migrate import migrate
    from arenad.store.writer import StoreWriter

    def show(out: dict[str, Any]) -> None:
        if args.json:
            print(json.dumps(out, indent=2, allow_nan=False))
        else:
            rows = ", ".join(f"{tf} {n}" for tf, n in out.get("rows", {}).items())
            print(f"leaderboard snapshot stored at {out['at']}: {rows or 'no books'}")

    async def probe() -> bool:
        try:
            async with ControlClient(socket_path(args)):
                return True
        except DaemonNotRunning:
            return False

    if asyncio.run(probe()):

        async def fn(c: ControlClient) -> None:
            show(await c.request("leaderboard.snapshot"))

        return client_call(args, fn)
    loaded = load_config(args)
    if loaded is None:
        return 2
    path = loaded.settings.daemon.db_path
    if not path.exists():
        print(f"arenad: no database at {path}", file=sys.stderr)
        return 1

    async def offline() -> dict[str, Any]:
        await migrate(path)
        writer = StoreWriter(path)
        await writer.start()
        try:
            rc = Recomputer(path, loaded.settings.metrics)
            r = await rc.run(writer.transaction, datetime.now(UTC), snapshot=True)
        finally:
            await writer.close()
        return {"at": r.at, "rows": {tf: len(b) for tf, b in r.boards.items()}}

    show(asyncio.run(offline()))
    return 0


def _leaderboard(args: argparse.Namespace) -> int:  # noqa: C901
    import asyncio

    from arenad.daemon.cli import load_config

    if args.action == "snapshot":
        return _snapshot(args)
    from arenad.metrics.queries import leaderboard_json
    from arenad.metrics.recompute import board_once

    loaded = load_config(args)
    if loaded is None:
        return 2
    path = loaded.settings.daemon.db_path
    if not path.exists():
        print(
            f"arenad: no database at {path} (start the daemon once, or set daemon.db_path)",
            file=sys.stderr,
        )
        return 1
    tf = "all_time" if args.timeframe == "all" else args.timeframe
    try:
        board = asyncio.run(board_once(path, loaded.settings.metrics, datetime.now(UTC), tf))
    except sqlite3.Error as e:
        print(
            f"arenad: cannot read {path}: {e} (is it an arenad database at the current "
            "schema? start the daemon once to migrate it)",
            file=sys.stderr,
        )
        return 1
    if args.kind:
        board = [s for s in board if s.kind == args.kind]
    if args.json:
        print(json.dumps([leaderboard_json(s) for s in board], indent=2, allow_nan=False))
        return 0
    if not board:
        print("no books yet")
        return 0
    print(
        f"{'#':>3} {'Δ':>3}  {'book':<28} {'kind':<11} {'equity':>12} {'return':>8} "
        f"{'sharpe':>7} {'max DD':>7} {'win':>5} {'PF':>5} {'trades':>6}"
    )
    for s in board:
        few = frozenset(s.insufficient)

        def fig(
            v: float | None, name: str, spec: str, scale: float = 1.0, few: frozenset[str] = few
        ) -> str:
            if name in few:
                return "–*"
            if v is None or not math.isfinite(v):
                return "–"
            return format(v * scale, spec)

        print(
            f"{s.rank if s.rank is not None else '–':>3} "
            f"{'' if s.rank_change is None else f'{s.rank_change:+d}':>3}  "
            f"{s.book_id[:28]:<28} {s.kind:<11} {fig(s.equity, 'equity', ',.2f'):>12} "
            f"{fig(s.total_return, 'total_return', '+.2f', 100):>7}% "
            f"{fig(s.sharpe, 'sharpe', '.2f'):>7} "
            f"{fig(s.max_drawdown, 'max_drawdown', '.1f', 100):>6}% "
            f"{fig(s.win_rate, 'win_rate', '.0%'):>5} "
            f"{fig(s.profit_factor, 'profit_factor', '.2f'):>5} {s.trades:>6}"
        )
    if any(s.insufficient for s in board):
        print(
            "–* not shown: rests on fewer returns or trades than [metrics] min_points / min_trades"
        )
    return 0


def register_leaderboard(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "leaderboard",
        help="standings of every book (read from the database); `leaderboard snapshot` "
        "stores the rankings now",
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["snapshot"],
        help="snapshot: store the ranking of every timeframe now (through the daemon when it "
        "runs), so rank changes are measured from here",
    )
    p.add_argument(
        "--timeframe",
        choices=["daily", "weekly", "monthly", "all", "all_time"],
        default="all",
        help="window the figures cover (default: all time)",
    )
    p.add_argument(
        "--kind",
        choices=["bot", "fade", "arena_model", "strategy", "benchmark"],
        help="show only books of this kind (ranks stay those of the whole board)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list of objects")
    p.add_argument(
        "--config", metavar="PATH", help="config file (default: $ARENAD_CONFIG or ./config.toml)"
    )
    p.set_defaults(func=_leaderboard)
