"""Helpers for the fade engine tests: bot fills and settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arenad.fade.settings import FadeBotSettings, FadeSettings
from arenad.venues.hyperliquid.wire import BotFill

WALLETS = {f"b{i}": "0x" + f"{i:040x}" for i in range(1, 7)}


def bots(n: int = 2, **over: Any) -> list[FadeBotSettings]:
    return [FadeBotSettings(id=f"b{i}", wallet=WALLETS[f"b{i}"], **over) for i in range(1, n + 1)]


def settings(n: int = 2, **over: Any) -> FadeSettings:
    base: dict[str, Any] = {
        "bots": bots(n),
        "global_exposure_cap_usd": None,
        "default_asset_cap_usd": None,
        "max_order_notional_usd": None,
        "max_orders_per_minute": 10_000,
        "min_order_notional_usd": Decimal(0),
    }
    base.update(over)
    return FadeSettings(**base)


_tid = [0]


def fill(
    bot: str,
    coin: str,
    signed: str | Decimal,
    px: str | Decimal,
    start: str | Decimal,
    ms: int = 1_700_000_000_000,
    fee: str = "0",
) -> BotFill:
    _tid[0] += 1
    s = Decimal(signed)
    return BotFill(
        wallet=WALLETS[bot],
        coin=coin,
        px=Decimal(px),
        sz=abs(s),
        side="B" if s > 0 else "A",
        dir="",
        start_position=Decimal(start),
        closed_pnl=Decimal(0),
        fee=Decimal(fee),
        fee_token="USDC",  # noqa: S106
        hash=f"0x{_tid[0]:064x}",
        tid=_tid[0],
        oid=_tid[0],
        time_ms=ms,
        crossed=True,
        raw={"tid": _tid[0]},
    )
