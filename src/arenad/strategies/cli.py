"""`arenad backtest` and `arenad batch`: allocation strategies from the shell.

Values come from, in order of precedence: the command line, the strategy file (its
``start_date``, ``end_date``, ``rebalance``, ``benchmark_symbol``, ``variables``), then the
``[strategies]`` section of the config. Exit 0 ok, 1 runtime failure (a worker died, the
database is unusable), 2 bad input — always with a message naming what was wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeAlias

from arenad.config.loader import default_config_path, load_settings
from arenad.config.settings import Settings
from arenad.errors import ConfigError, OperationalError, StoreError
from arenad.strategies.batch import (
    BatchPlan,
    BatchResult,
    parse_var_arg,
    plan_batch,
    run_batch_async,
)
from arenad.strategies.definition import (
    Problem,
    StrategyError,
    StrategyFile,
    VariableSpec,
    compile_root,
    load_strategy,
    substitute,
)
from arenad.strategies.engine import BacktestConfig, BacktestResult, run_backtest
from arenad.strategies.prices import PriceError, PriceTable, load_prices_csv

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class _BadInput(Exception):
    """Bad command-line input; the message is printed and the exit code is 2."""


def register(sub: Sub) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "strategy",
        type=Path,
        metavar="STRATEGY.json",
        help="strategy file: an object with `elements`, or an elements array",
    )
    common.add_argument(
        "--prices",
        type=Path,
        required=True,
        metavar="PRICES.csv",
        help="daily closes: long `date,symbol,close` or wide `date,SPY,QQQ,...`",
    )
    common.add_argument("--start", type=_date, help="first trading day (YYYY-MM-DD)")
    common.add_argument("--end", type=_date, help="last trading day (YYYY-MM-DD)")
    common.add_argument(
        "--rebalance",
        choices=("daily", "weekly", "monthly"),
        help="rebalance schedule (default: the strategy's, else [strategies])",
    )
    common.add_argument("--capital", type=_positive, metavar="N", help="initial capital")
    common.add_argument("--fee-bps", type=_bps, metavar="N", help="fee on traded value, bps")
    common.add_argument(
        "--slippage-bps", type=_bps, metavar="N", help="slippage on traded value, bps"
    )
    common.add_argument("--benchmark", metavar="SYM", help="buy-and-hold benchmark symbol")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument(
        "--save", action="store_true", help="record the result in the database of --config"
    )
    common.add_argument("--config", help="config.toml (for defaults and the database)")

    p = sub.add_parser(
        "backtest",
        parents=[common],
        help="backtest an allocation strategy",
        description="Backtest an allocation strategy over daily closes.",
    )
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a $variable in the strategy (repeatable)",
    )
    p.set_defaults(func=_backtest)

    b = sub.add_parser(
        "batch",
        parents=[common],
        help="sweep a strategy over variable values",
        description="Backtest every combination of the variables' values.",
    )
    b.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="values of a $variable (repeatable; the cartesian product is run)",
    )
    b.add_argument(
        "--max-runs",
        type=_count,
        metavar="N",
        help="run at most N combinations (in order); the job is then truncated",
    )
    b.add_argument("--workers", type=_count, metavar="N", help="worker processes")
    b.set_defaults(func=_batch)

    h = sub.add_parser(
        "backtests",
        help="saved backtests, for comparison",
        description="Backtests saved with `arenad backtest --save`, newest "
        "first, with their headline metrics.",
    )
    h.add_argument("--strategy", type=_count, metavar="ID", help="only this strategy's")
    h.add_argument("--limit", type=_count, default=20, metavar="N", help="most backtests (20)")
    h.add_argument(
        "--json", action="store_true", help="print machine-readable JSON instead of text"
    )
    h.add_argument("--config", help="config.toml (names the database)")
    h.set_defaults(func=_history, save=True)

    v = sub.add_parser(
        "vars",
        help="saved variable lists for sweeps (--var NAME=@LIST)",
        description="Variable lists saved in the database, for `arenad batch --var NAME=@LIST`.",
    )
    vsub = v.add_subparsers(dest="action", metavar="ACTION")
    vsub.required = True
    db_args = argparse.ArgumentParser(add_help=False)
    db_args.add_argument("--config", help="config.toml (names the database)")
    vs = vsub.add_parser("save", parents=[db_args], help="save (or replace) a list")
    vs.add_argument("name", metavar="NAME", help="the list's name (--var X=@NAME uses it)")
    vs.add_argument("values", metavar="V1,V2,...", help="the values, comma-separated")
    vs.add_argument(
        "--type",
        choices=("ticker", "number", "date"),
        required=True,
        help="what the values are (each is checked)",
    )
    vs.add_argument("--description", help="a note shown with the list")
    vs.set_defaults(func=_vars_save, save=True)
    vl = vsub.add_parser("list", parents=[db_args], help="every saved list")
    vl.add_argument(
        "--json", action="store_true", help="print machine-readable JSON instead of text"
    )
    vl.set_defaults(func=_vars_list, save=True)

    a = sub.add_parser(
        "strategies",
        help="active strategies in the running daemon",
        description="Trade saved strategies on Alpaca through the daemon.",
    )
    client = argparse.ArgumentParser(add_help=False)
    client.add_argument("--config", help="config.toml (finds the daemon's socket)")
    client.add_argument("--socket", help="control socket path (overrides the config)")
    asub = a.add_subparsers(dest="action", metavar="ACTION")
    asub.required = True
    ls = asub.add_parser(
        "list", parents=[client], help="active strategies and their latest snapshot"
    )
    ls.add_argument(
        "--json", action="store_true", help="print machine-readable JSON instead of text"
    )
    ls.set_defaults(func=_active_list)
    act = asub.add_parser(
        "activate", parents=[client], help="trade a saved strategy (id from --save)"
    )
    act.add_argument(
        "strategy_id", type=_count, metavar="STRATEGY_ID", help="a saved strategy's id"
    )
    act.add_argument(
        "--capital",
        type=_positive,
        required=True,
        metavar="N",
        help="capital allotted to it (its own ledger on the account)",
    )
    act.add_argument(
        "--mode",
        choices=("paper", "live"),
        default="paper",
        help="paper (default) or live (needs the daemon's live permission)",
    )
    act.add_argument(
        "--rebalance",
        choices=("daily", "weekly", "monthly"),
        help="rebalance schedule (default: the strategy's, else [strategies])",
    )
    act.add_argument("--at", metavar="HH:MM", help="New York time of day to rebalance at")
    act.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a $variable in the strategy (repeatable)",
    )
    act.set_defaults(func=_active_activate)
    sw = asub.add_parser(
        "sweep", parents=[client], help="queue a sweep of a saved strategy in the daemon"
    )
    sw.add_argument("strategy_id", type=_count, metavar="STRATEGY_ID", help="a saved strategy's id")
    sw.add_argument(
        "--prices", required=True, metavar="PRICES.csv", help="price file on the daemon's host"
    )
    sw.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="values of a $variable (repeatable; the cartesian product is run)",
    )
    sw.add_argument(
        "--max-runs", type=_count, metavar="N", help="run at most N combinations (in order)"
    )
    sw.add_argument(
        "--workers", type=_count, metavar="N", help="worker processes (default: [strategies])"
    )
    sw.set_defaults(func=_active_sweep)
    jb = asub.add_parser("jobs", parents=[client], help="recent sweeps and their progress")
    jb.add_argument(
        "--json", action="store_true", help="print machine-readable JSON instead of text"
    )
    jb.set_defaults(func=_active_jobs)
    for status, verb in (("paused", "pause"), ("active", "resume"), ("stopped", "stop")):
        sp = asub.add_parser(verb, parents=[client], help=f"{verb} an active strategy")
        sp.add_argument(
            "id", type=_count, metavar="ACTIVE_ID", help="the active strategy's id (list)"
        )
        sp.set_defaults(func=_active_status, status=status)


# --- argument types ---------------------------------------------------------------------


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return v


def _positive(text: str) -> float:
    v = _number(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return v


def _bps(text: str) -> float:
    v = _number(text)
    if not 0 <= v <= 1_000:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1000 bps: {text!r}")
    return v


def _count(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return v


# --- shared -----------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> tuple[Settings, Path | None]:
    """The config named by --config (or the default one if it exists); else defaults."""
    path = Path(args.config) if args.config else default_config_path()
    if not args.config and not path.exists():
        if args.save:
            raise _BadInput("--save needs a config naming the database (--config PATH)")
        return Settings(), None
    loaded = load_settings(path)
    return loaded.settings, loaded.path


def _config(
    args: argparse.Namespace, sf: StrategyFile, settings: Settings, prices: PriceTable
) -> BacktestConfig:
    s = settings.strategies
    bench = args.benchmark or sf.benchmark_symbol
    if bench is not None:
        bench = bench.strip().upper()
        prices.index_of(bench)  # named explicitly: it must exist
    elif s.benchmark_symbol.upper() in prices.symbols:
        bench = s.benchmark_symbol.upper()
    else:
        print(
            f"note: benchmark {s.benchmark_symbol} is not in {args.prices}; "
            "no benchmark comparison",
            file=sys.stderr,
        )
    try:
        return BacktestConfig(
            start=args.start or sf.start_date,
            end=args.end or sf.end_date,
            rebalance=args.rebalance or sf.rebalance or s.rebalance,
            initial_capital=args.capital if args.capital is not None else s.initial_capital,
            fee_bps=args.fee_bps if args.fee_bps is not None else s.fee_bps,
            slippage_bps=args.slippage_bps if args.slippage_bps is not None else s.slippage_bps,
            benchmark=bench,
        )
    except ValueError as e:
        raise _BadInput(str(e)) from e


def _run_guarded(args: argparse.Namespace, body: Any) -> int:
    """One place that turns each error class into its message and exit code."""
    try:
        return int(body(args))
    except StrategyError as e:
        for line in str(e).splitlines():
            print(f"arenad {args.command}: {line}", file=sys.stderr)
        return 2
    except (PriceError, _BadInput) as e:
        print(f"arenad {args.command}: {e}", file=sys.stderr)
        return 2
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 2
    except (OperationalError, StoreError) as e:
        print(f"arenad {args.command}: {e}", file=sys.stderr)
        return 1


def _pct(v: Any) -> str:
    return "-" if v is None else f"{v * 100:.2f}%"


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


_PCT = (
    "total_return",
    "cagr",
    "volatility",
    "max_drawdown",
    "benchmark_total_return",
    "benchmark_cagr",
    "benchmark_max_drawdown",
    "excess_return",
    "alpha",
)


def _fmt(key: str, v: Any) -> str:
    return _pct(v) if key in _PCT else _num(v) if isinstance(v, float) or v is None else str(v)


# --- backtest ---------------------------------------------------------------------------


def _backtest(args: argparse.Namespace) -> int:
    return _run_guarded(args, _backtest_body)


def _backtest_body(args: argparse.Namespace) -> int:
    settings, _ = _settings(args)
    sf = load_strategy(args.strategy)
    assignment: dict[str, str] = {}
    for text in args.var:
        spec = parse_var_arg(text)
        if len(spec.values) != 1:
            raise _BadInput(
                f"--var {text}: a backtest takes one value per variable "
                "(sweep several with `arenad batch`)"
            )
        assignment[spec.name] = spec.values[0]
    for v in sf.variables:  # the file's first value is the default of a variable
        assignment.setdefault(v.name, v.values[0])
    try:
        root = compile_root(sf.template(), assignment)
    except StrategyError as e:
        raise StrategyError(e.problems, context=str(args.strategy)) from e
    prices = load_prices_csv(args.prices)
    config = _config(args, sf, settings, prices)
    result = run_backtest(root, prices, config)
    saved = None
    if args.save:
        saved = asyncio.run(_save_backtest(settings, sf, result, config, assignment))
    if args.json:
        print(json.dumps(_backtest_json(sf, config, result, assignment, saved)))
    else:
        _print_backtest(sf, config, result, saved)
    return 0


def _backtest_json(
    sf: StrategyFile,
    config: BacktestConfig,
    result: BacktestResult,
    assignment: dict[str, str],
    saved: dict[str, int] | None,
) -> dict[str, Any]:
    return {
        "strategy": sf.name,
        "variables": assignment,
        "config": _config_json(config),
        "summary": result.summary(),
        "metrics": result.metrics,
        "equity_curve": result.equity_curve(),
        "positions": result.positions(),
        "saved": saved,
    }


def _config_json(config: BacktestConfig) -> dict[str, Any]:
    return {
        "start": config.start.isoformat() if config.start else None,
        "end": config.end.isoformat() if config.end else None,
        "rebalance": config.rebalance,
        "initial_capital": config.initial_capital,
        "fee_bps": config.fee_bps,
        "slippage_bps": config.slippage_bps,
        "benchmark": config.benchmark,
    }


def _print_backtest(
    sf: StrategyFile,
    config: BacktestConfig,
    result: BacktestResult,
    saved: dict[str, int] | None,
) -> None:
    s = result.summary()
    print(f"strategy   {sf.name}")
    print(
        f"period     {s['start']} to {s['end']} ({s['days']} trading days, "
        f"{s['rebalances']} {config.rebalance} rebalances)"
    )
    print(
        f"capital    {config.initial_capital:,.2f} -> {s['final_equity']:,.2f} "
        f"(costs {s['costs_paid']:,.2f} at {config.fee_bps + config.slippage_bps:g} bps)"
    )
    print(f"trading    {s['trades']} trades, turnover {s['turnover']:.2f}")
    last = result.weights[-1]
    held = ", ".join(
        f"{sym} {w * 100:.1f}%" for sym, w in zip(result.symbols, last, strict=True) if w > 1e-9
    )
    print(f"holdings   {held} (as of {result.rebalance_dates[-1]})")
    for k, v in result.metrics.items():
        print(f"{k:<24}{_fmt(k, v):>10}")
    if saved:
        print(
            f"saved      strategy {saved['strategy_id']} (book strategy:"
            f"{saved['strategy_id']}), backtest {saved['backtest_id']}"
        )


async def _save_backtest(
    settings: Settings,
    sf: StrategyFile,
    result: BacktestResult,
    config: BacktestConfig,
    assignment: dict[str, str],
) -> dict[str, int]:
    from arenad.strategies import store

    now = datetime.now(UTC)
    async with _writer(settings) as writer:
        sid = await store.save_strategy(writer, sf, now=now)
        elements = substitute(sf.template(), assignment)["elements"]
        bid = await store.save_backtest(
            writer,
            result,
            config,
            elements=elements,
            strategy_id=sid,
            variables=assignment,
            now=now,
        )
    return {"strategy_id": sid, "backtest_id": bid}


class _writer:
    """Migrate the configured database and hold a started writer for the CLI's writes."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.daemon.db_path
        self.synchronous = settings.daemon.sqlite_synchronous

    async def __aenter__(self) -> Any:
        from arenad.store.migrate import migrate
        from arenad.store.writer import StoreWriter

        await migrate(self.path)
        self.writer = StoreWriter(self.path, synchronous=self.synchronous)
        await self.writer.start()
        return self.writer

    async def __aexit__(self, *exc: object) -> None:
        await self.writer.close()


# --- batch ------------------------------------------------------------------------------


def _batch(args: argparse.Namespace) -> int:
    return _run_guarded(args, _batch_body)


def _batch_body(args: argparse.Namespace) -> int:
    settings, _ = _settings(args)
    sf = load_strategy(args.strategy)
    variables: dict[str, VariableSpec] = {v.name: v for v in sf.variables}
    from_cli: set[str] = set()
    for text in args.var:
        spec = _resolve_list(args, settings, text, parse_var_arg(text))
        if spec.name in from_cli:
            raise StrategyError([Problem(f"--var {text}", f"{spec.name} is given twice")])
        from_cli.add(spec.name)
        variables[spec.name] = spec
    if not variables:
        raise _BadInput(
            f"no variables to sweep: give --var NAME=V1,V2,... (or `variables` in {args.strategy})"
        )
    prices = load_prices_csv(args.prices)
    config = _config(args, sf, settings, prices)
    s = settings.strategies
    max_runs = args.max_runs or s.max_runs
    workers = args.workers or s.workers
    try:
        plan = plan_batch(sf.template(), list(variables.values()), prices, config, max_runs)
    except StrategyError as e:
        raise StrategyError(e.problems, context=f"{args.strategy}: {e.context}".rstrip(": ")) from e
    if plan.truncated:
        print(
            f"note: {plan.combinations} combinations; running the first {plan.total} (--max-runs)",
            file=sys.stderr,
        )
    result, job_id = asyncio.run(_run_batch(args, settings, sf, plan, prices, workers))
    if args.json:
        print(json.dumps(_batch_json(sf, plan, result, workers, job_id)))
    else:
        _print_batch(sf, plan, result, job_id)
    return 0 if result.failed < len(result.runs) or not result.runs else 1


async def _run_batch(
    args: argparse.Namespace,
    settings: Settings,
    sf: StrategyFile,
    plan: BatchPlan,
    prices: PriceTable,
    workers: int,
) -> tuple[BatchResult, str | None]:
    from arenad.progress import Progress

    # A bar on a terminal, a line every few seconds when piped; nothing with --json.
    with Progress(f"sweep {sf.name}", "runs", enabled=not args.json) as bar:
        return await _run_batch_progress(args, settings, sf, plan, prices, workers, bar.update)


async def _run_batch_progress(
    args: argparse.Namespace,
    settings: Settings,
    sf: StrategyFile,
    plan: BatchPlan,
    prices: PriceTable,
    workers: int,
    progress: Callable[[int, int], None],
) -> tuple[BatchResult, str | None]:
    if not args.save:
        return await run_batch_async(plan, prices, workers=workers, progress=progress), None
    from arenad.strategies import store

    now = datetime.now(UTC)
    async with _writer(settings) as writer:
        sid = await store.save_strategy(writer, sf, now=now)
        job_id = store.new_batch_id(now)
        await store.create_batch_job(
            writer,
            plan,
            job_id=job_id,
            name=sf.name,
            strategy_id=sid,
            kind="local",
            workers=workers,
            now=now,
        )
        pending: list[asyncio.Task[None]] = []

        def saving_progress(done: int, total: int) -> None:
            progress(done, total)
            pending.append(
                asyncio.ensure_future(
                    store.update_batch_progress(writer, job_id, done, now=datetime.now(UTC))
                )
            )

        try:
            result = await run_batch_async(plan, prices, workers=workers, progress=saving_progress)
        except BaseException as e:
            await store.fail_batch_job(
                writer, job_id, f"{type(e).__name__}: {e}", now=datetime.now(UTC)
            )
            raise
        await asyncio.gather(*pending)
        await store.finish_batch_job(writer, job_id, result, now=datetime.now(UTC))
    return result, job_id


def _batch_json(
    sf: StrategyFile, plan: BatchPlan, result: BatchResult, workers: int, job_id: str | None
) -> dict[str, Any]:
    return {
        "strategy": sf.name,
        "batch_job_id": job_id,
        "variables": plan.variables_json(),
        "combinations": plan.combinations,
        "total": plan.total,
        "completed": len(result.runs),
        "truncated": plan.truncated,
        "workers": workers,
        "config": _config_json(plan.config),
        "summary": result.summary(),
        "runs": [
            {
                "run_index": r.run_index,
                "variables": r.variables,
                "metrics": r.metrics,
                "error": r.error,
            }
            for r in result.runs
        ],
    }


def _print_batch(
    sf: StrategyFile, plan: BatchPlan, result: BatchResult, job_id: str | None
) -> None:
    summary = result.summary()
    print(f"strategy   {sf.name}")
    print(
        f"runs       {len(result.runs)} of {plan.combinations} combinations"
        + (" (truncated)" if plan.truncated else "")
        + (f", {result.failed} failed" if result.failed else "")
    )
    ok = [r for r in result.runs if r.metrics and r.metrics.get("total_return") is not None]
    if summary["best"]:
        print(
            f"best       {_vars(summary['best']['vars'])}: {_pct(summary['best']['total_return'])}"
        )
        print(
            f"worst      {_vars(summary['worst']['vars'])}: "
            f"{_pct(summary['worst']['total_return'])}"
        )
        print(f"average    {_pct(summary['avg_return'])}")
    top = sorted(ok, key=lambda r: (-r.metrics["total_return"], r.run_index))[:10]  # type: ignore[index]
    if top:
        print(f"\n{'run':>5}  {'total':>9} {'cagr':>8} {'sharpe':>7} {'max dd':>8}  variables")
        for r in top:
            m = r.metrics or {}
            print(
                f"{r.run_index:>5}  {_pct(m.get('total_return')):>9} {_pct(m.get('cagr')):>8} "
                f"{_num(m.get('sharpe')):>7} {_pct(m.get('max_drawdown')):>8}  "
                f"{_vars(r.variables)}"
            )
    for r in result.runs:
        if r.error:
            print(f"run {r.run_index} ({_vars(r.variables)}) failed: {r.error}", file=sys.stderr)
    if job_id:
        print(f"\nsaved      batch job {job_id}")


def _vars(a: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in a.items())


# --- active strategies (through the daemon) ---------------------------------------------


def _active_list(args: argparse.Namespace) -> int:
    from arenad.daemon.cli import client_call

    async def fn(c: Any) -> None:
        rows = await c.request("strategies.active")
        if args.json:
            print(json.dumps(rows, indent=2))
            return
        if not rows:
            print("no active strategies (activate one: arenad strategies activate ID --capital N)")
        for r in rows:
            snap = r["last_snapshot"] or {}
            print(
                f"{r['id']:>3}  {r['name']:<30} {r['mode']:<5} {r['status']:<7} "
                f"{r['rebalance_frequency']} at {r['rebalance_time']}  capital "
                f"{r['initial_capital']} -> {snap.get('equity', '-')} "
                f"({snap.get('date', 'no snapshot yet')})"
            )

    return int(client_call(args, fn))


def _active_activate(args: argparse.Namespace) -> int:
    from arenad.daemon.cli import client_call

    variables: dict[str, str] = {}
    for text in args.var:
        try:
            spec = parse_var_arg(text)
        except StrategyError as e:
            print(f"arenad strategies: {e}", file=sys.stderr)
            return 2
        if len(spec.values) != 1:
            print(f"arenad strategies: --var {text}: one value per variable", file=sys.stderr)
            return 2
        variables[spec.name] = spec.values[0]
    req: dict[str, Any] = {
        "strategy_id": args.strategy_id,
        "capital": str(args.capital),
        "mode": args.mode,
        "variables": variables,
    }
    if args.rebalance:
        req["rebalance"] = args.rebalance
    if args.at:
        req["at"] = args.at

    async def fn(c: Any) -> None:
        r = await c.request("strategies.activate", **req)
        print(f"active strategy {r['active_strategy_id']} (book {r['book_id']})")

    return int(client_call(args, fn))


def _active_status(args: argparse.Namespace) -> int:
    from arenad.daemon.cli import client_call

    async def fn(c: Any) -> None:
        r = await c.request("strategies.set_status", id=args.id, status=args.status)
        print(f"active strategy {r['id']}: {r['status']}")

    return int(client_call(args, fn))


def _active_sweep(args: argparse.Namespace) -> int:
    from arenad.daemon.cli import client_call

    try:
        variables = [parse_var_arg(t) for t in args.var]
    except StrategyError as e:
        print(f"arenad strategies: {e}", file=sys.stderr)
        return 2
    req: dict[str, Any] = {
        "strategy_id": args.strategy_id,
        "prices": str(Path(args.prices).resolve()),
        "variables": [{"name": v.name, "values": v.values} for v in variables],
    }
    if args.max_runs:
        req["max_runs"] = args.max_runs
    if args.workers:
        req["workers"] = args.workers

    async def fn(c: Any) -> None:
        r = await c.request("strategies.batch", **req)
        print(
            f"queued sweep {r['id']}: {r['total']} runs"
            + (f" of {r['combinations']} (truncated)" if r["truncated"] else "")
        )

    return int(client_call(args, fn))


def _active_jobs(args: argparse.Namespace) -> int:
    from arenad.daemon.cli import client_call

    async def fn(c: Any) -> None:
        jobs = await c.request("strategies.batch_jobs")
        if args.json:
            print(json.dumps(jobs, indent=2))
            return
        for j in jobs:
            best = (j["summary"] or {}).get("best") or {}
            print(
                f"{j['id']}  {j['kind']:<6} {j['status']:<8} {j['completed']}/{j['total']}"
                f"  {j['name']}"
                + (f"  best {_vars(best['vars'])} {_pct(best['total_return'])}" if best else "")
                + (f"  ({j['error']})" if j["error"] else "")
            )

    return int(client_call(args, fn))


# --- variable lists ---------------------------------------------------------------------


def _resolve_list(
    args: argparse.Namespace, settings: Settings, text: str, spec: VariableSpec
) -> VariableSpec:
    """``NAME=@LIST`` takes its values from the saved variable list LIST."""
    if len(spec.values) != 1 or not spec.values[0].startswith("@"):
        return spec
    if not (args.config or default_config_path().exists()):
        raise _BadInput(
            f"--var {text}: a saved list needs a config naming the database (--config PATH)"
        )
    from arenad.strategies import store

    list_name = spec.values[0][1:]
    found = None
    if settings.daemon.db_path.exists():
        try:
            found = asyncio.run(store.load_variable_list(settings.daemon.db_path, list_name))
        except sqlite3.OperationalError:  # a database from before schema 0006
            found = None
    if found is None:
        raise _BadInput(
            f"--var {text}: no saved variable list {list_name!r} (see `arenad vars list`)"
        )
    return VariableSpec(name=spec.name, values=found.values)


def _vars_save(args: argparse.Namespace) -> int:
    return _run_guarded(args, _vars_save_body)


def _vars_save_body(args: argparse.Namespace) -> int:
    from arenad.strategies import store

    settings, _ = _settings(args)
    spec = parse_var_arg(f"{args.name}={args.values}")

    async def go() -> int:
        async with _writer(settings) as writer:
            return await store.save_variable_list(
                writer,
                spec.name,
                args.type,
                spec.values,
                description=args.description,
                now=datetime.now(UTC),
            )

    vid = asyncio.run(go())
    print(f"saved variable list {spec.name} ({args.type}, {len(spec.values)} values, id {vid})")
    return 0


def _vars_list(args: argparse.Namespace) -> int:
    return _run_guarded(args, _vars_list_body)


def _vars_list_body(args: argparse.Namespace) -> int:
    from arenad.strategies import store

    settings, _ = _settings(args)
    path = settings.daemon.db_path
    try:
        rows = asyncio.run(store.list_variable_lists(path)) if path.exists() else []
    except sqlite3.OperationalError:  # a database from before schema 0006
        rows = []
    if args.json:
        print(json.dumps(rows))
    for r in rows if not args.json else []:
        print(
            f"{r['name']:<20} {r['type']:<7} {','.join(r['values'])}"
            + (f"  # {r['description']}" if r["description"] else "")
        )
    return 0


# --- backtest history -------------------------------------------------------------------


def _history(args: argparse.Namespace) -> int:
    return _run_guarded(args, _history_body)


def _history_body(args: argparse.Namespace) -> int:
    settings, _ = _settings(args)
    path = settings.daemon.db_path
    sql = (
        "SELECT b.id, b.strategy_id, s.name, b.start_date, b.end_date, b.rebalance, "
        "b.variables, b.total_return, b.sharpe, b.max_drawdown, b.metrics, b.created_at "
        "FROM backtest_results b LEFT JOIN strategies s ON s.id = b.strategy_id"
    )
    params: list[Any] = []
    if args.strategy:
        sql += " WHERE b.strategy_id = ?"
        params.append(args.strategy)
    sql += " ORDER BY b.created_at DESC, b.id DESC LIMIT ?"
    params.append(args.limit)
    rows: list[Any] = []
    if path.exists():
        from arenad.store.db import connect_sync

        conn = connect_sync(path, readonly=True)
        try:
            rows = list(conn.execute(sql, params))
        except sqlite3.OperationalError:  # a database from before schema 0006
            rows = []
        finally:
            conn.close()
    out = [
        dict(r) | {"variables": json.loads(r["variables"]), "metrics": json.loads(r["metrics"])}
        for r in rows
    ]
    if args.json:
        print(json.dumps(out))
        return 0
    if not out:
        print("no saved backtests (save one with `arenad backtest ... --save`)")
    for r in out:
        print(
            f"{r['id']:>4}  {r['name'] or '(deleted)':<28} {r['start_date']}..{r['end_date']} "
            f"{r['rebalance']:<7} total {_pct(r['total_return']):>8}  sharpe "
            f"{_num(r['sharpe']):>5}  max dd {_pct(r['max_drawdown']):>8}"
            + (f"  {_vars(r['variables'])}" if r["variables"] else "")
        )
    return 0
