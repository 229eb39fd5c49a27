"""`arenad replay nof1 TRADES.json`: recorded Alpha Arena round trips through the fade engine."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from arenad.fade.accounting import ZERO
from arenad.fade.replay import ReplayError, fadeability, load_trades, replay


def _bps(text: str) -> Decimal:
    try:
        v = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v.is_finite() or not 0 <= v <= 1000:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1000 basis points, got {text}")
    return v


def _multiplier(text: str) -> Decimal:
    try:
        v = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v.is_finite() or not 0 < v <= 10:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 10, got {text}")
    return v


def _replay(args: argparse.Namespace) -> int:
    try:
        trades = load_trades(Path(args.trades))
    except ReplayError as e:
        print(f"arenad: {e}", file=sys.stderr)
        return 2
    results, errors, _fills = replay(
        trades, slippage_bps=args.slippage_bps, fee_bps=args.fee_bps, multiplier=args.multiplier
    )
    for why in errors:
        print(f"arenad: skipped {why}", file=sys.stderr)
    if not results:
        print(f"arenad: {args.trades}: no closed trades to replay", file=sys.stderr)
        return 2 if errors else 0
    fadeability(results, args.capital, args.min_points)
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2, allow_nan=False))
        return 0
    print(
        f"{'bot':<24} {'trades':>6} {'bot P&L (gross)':>16} {'fade P&L (net)':>15} "
        f"{'fade fees':>10} {'fade return':>11} {'PSR':>5} {'DSR':>5} verdict"
    )
    tot_b = tot_f = tot_fee = ZERO
    n = 0
    for r in results:
        f = r.fadeability or {}
        print(
            f"{r.bot:<24} {r.trades:>6} {r.bot_realized_pnl:>16,.2f} "
            f"{r.fade_realized_pnl:>15,.2f} {r.fade_fees:>10,.2f} "
            f"{f.get('net_return', 0.0):>+10.2%} {_p(f.get('psr')):>5} {_p(f.get('dsr')):>5} "
            f"{f.get('verdict', '–')}"
        )
        tot_b += r.bot_realized_pnl
        tot_f += r.fade_realized_pnl
        tot_fee += r.fade_fees
        n += r.trades
    print(f"{'total':<24} {n:>6} {tot_b:>16,.2f} {tot_f:>15,.2f} {tot_fee:>10,.2f}")
    return 0


def _p(x: object) -> str:
    return f"{x:.2f}" if isinstance(x, float) else "–"


def _capital(text: str) -> Decimal:
    try:
        v = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v.is_finite() or not v > 0:
        raise argparse.ArgumentTypeError(f"must be a positive amount of USD, got {text}")
    return v


def _min_points(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 3 <= v <= 100_000:
        raise argparse.ArgumentTypeError(f"must be from 3 to 100000, got {text}")
    return v


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", help="replay recorded bot trades through the fade engine")
    rs = p.add_subparsers(dest="replay_command", metavar="SOURCE")
    rs.required = True
    n = rs.add_parser("nof1", help="Alpha Arena round trips (nof1 /api/trades JSON)")
    n.add_argument("trades", metavar="TRADES.json", help="a nof1 trades.json snapshot")
    n.add_argument("--json", action="store_true", help="print a JSON list, one object per bot")
    n.add_argument(
        "--slippage-bps",
        type=_bps,
        default=ZERO,
        help="the fade fills this much worse than the bot's price (default 0)",
    )
    n.add_argument(
        "--fee-bps",
        type=_bps,
        default=ZERO,
        help="fee on the fade's notional (default 0; Hyperliquid's taker: 4.5)",
    )
    n.add_argument(
        "--multiplier",
        type=_multiplier,
        default=Decimal(1),
        help="fade size as a multiple of the bot's (default 1)",
    )
    n.add_argument(
        "--capital",
        type=_capital,
        default=Decimal(10_000),
        help="fade book capital the net return is measured on (default 10000, [fade] "
        "initial_capital_usd's default)",
    )
    n.add_argument(
        "--min-points",
        type=_min_points,
        default=30,
        help="fewest round trips PSR/DSR may rest on (default 30, [metrics] min_points)",
    )
    n.set_defaults(func=_replay)
