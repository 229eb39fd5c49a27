"""`arenad replay nof1 TRADES.json`: recorded Alpha Arena round trips through the fade engine."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from arenad.fade.accounting import ZERO
from arenad.fade.replay import ReplayError, load_trades, replay


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
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
        return 0
    print(
        f"{'bot':<24} {'trades':>6} {'bot P&L (gross)':>16} {'fade P&L (net)':>15} "
        f"{'fade fees':>10}"
    )
    tot_b = tot_f = tot_fee = ZERO
    n = 0
    for r in results:
        print(
            f"{r.bot:<24} {r.trades:>6} {r.bot_realized_pnl:>16,.2f} "
            f"{r.fade_realized_pnl:>15,.2f} {r.fade_fees:>10,.2f}"
        )
        tot_b += r.bot_realized_pnl
        tot_f += r.fade_realized_pnl
        tot_fee += r.fade_fees
        n += r.trades
    print(f"{'total':<24} {n:>6} {tot_b:>16,.2f} {tot_f:>15,.2f} {tot_fee:>10,.2f}")
    return 0


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
    n.set_defaults(func=_replay)
