"""Hyperliquid's perp tick and lot rules (pure): prices have at most 5 significant figures and
at most 6 − szDecimals decimals (integers always allowed); sizes are multiples of
10^−szDecimals. Orders that break them are rejected by the venue, so the client rounds first;
the simulator enforces the same rules."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

MAX_PERP_DECIMALS = 6
MAX_SIG_FIGS = 5


def max_price_decimals(sz_decimals: int) -> int:
    return MAX_PERP_DECIMALS - sz_decimals


def is_valid_price(px: Decimal, sz_decimals: int) -> bool:
    """Hyperliquid's perp price rule: integers always; otherwise ≤ 5 significant figures and
    ≤ 6 − szDecimals decimals."""
    if px <= 0 or not px.is_finite():
        return False
    if px == px.to_integral_value():
        return True
    _sign, digits, exponent = px.normalize().as_tuple()
    assert isinstance(exponent, int)
    decimals = -exponent
    return decimals <= max_price_decimals(sz_decimals) and len(digits) <= MAX_SIG_FIGS


def round_price(px: Decimal, sz_decimals: int, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """The nearest valid price in the given direction."""
    if px <= 0:
        raise ValueError(f"price must be positive, got {px}")
    if px >= Decimal(10) ** MAX_SIG_FIGS:
        return px.quantize(Decimal(1), rounding=rounding)
    magnitude = px.adjusted()  # exponent of the leading digit
    sig_quantum = Decimal(1).scaleb(magnitude - MAX_SIG_FIGS + 1)
    dec_quantum = Decimal(1).scaleb(-max_price_decimals(sz_decimals))
    quantum = max(sig_quantum, dec_quantum)
    out = px.quantize(quantum, rounding=rounding)
    if out <= 0:
        out = quantum
    return out


def tick_at(px: Decimal, sz_decimals: int) -> Decimal:
    """The price increment at `px`."""
    if px >= Decimal(10) ** MAX_SIG_FIGS:
        return Decimal(1)
    sig = Decimal(1).scaleb(px.adjusted() - MAX_SIG_FIGS + 1)
    return max(sig, Decimal(1).scaleb(-max_price_decimals(sz_decimals)))


def is_valid_size(sz: Decimal, sz_decimals: int) -> bool:
    if sz <= 0 or not sz.is_finite():
        return False
    return sz == sz.quantize(Decimal(1).scaleb(-sz_decimals), rounding=ROUND_DOWN)


def round_size(sz: Decimal, sz_decimals: int) -> Decimal:
    return sz.quantize(Decimal(1).scaleb(-sz_decimals), rounding=ROUND_DOWN)
