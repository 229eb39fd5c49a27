"""Daily closes as a dense dates × symbols matrix, and the CSV formats that feed it.

A dense float matrix (NaN where a symbol has no close) is what lets the engine do a whole
segment between two rebalances as one matrix product. Two CSV layouts are accepted because
both are what people export: long (``date,symbol,close``, one row per close, extra columns
ignored) and wide (``date,SPY,QQQ,...``, one row per day, an empty cell = no close).

Closes are analytics input, not exchange amounts, so they are floats here; nothing in a
backtest is ever sent to a venue.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

from arenad.errors import ArenadError

FloatArray = npt.NDArray[np.float64]
DateArray = npt.NDArray[np.datetime64]


class PriceError(ArenadError):
    """The price data is unusable for this request (bad CSV, unknown symbol, gap): exit 2."""


@dataclass(frozen=True, slots=True)
class PriceTable:
    dates: DateArray
    """Trading days, ``datetime64[D]``, strictly increasing."""
    symbols: tuple[str, ...]
    closes: FloatArray
    """Shape (len(dates), len(symbols)); NaN where a symbol has no close that day."""

    def __post_init__(self) -> None:
        if self.closes.shape != (len(self.dates), len(self.symbols)):
            raise ValueError("closes shape does not match dates × symbols")

    def index_of(self, symbol: str) -> int:
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise PriceError(
                f"symbol {symbol} is not in the price data (it has {_listing(self.symbols)})"
            ) from None

    def select(self, symbols: Sequence[str]) -> PriceTable:
        """The columns of ``symbols``, in that order; unknown symbols are named together."""
        unknown = [s for s in symbols if s not in self.symbols]
        if unknown:
            which = ", ".join(unknown)
            raise PriceError(
                f"{'symbol' if len(unknown) == 1 else 'symbols'} {which} "
                f"{'is' if len(unknown) == 1 else 'are'} not in the price data "
                f"(it has {_listing(self.symbols)})"
            )
        cols = [self.symbols.index(s) for s in symbols]
        return PriceTable(self.dates, tuple(symbols), self.closes[:, cols])

    @classmethod
    def from_columns(
        cls, dates: Iterable[date | str], columns: Mapping[str, Sequence[float] | FloatArray]
    ) -> PriceTable:
        """Build from Python values (tests, benchmarks, the simulator's bars)."""
        d = np.array([np.datetime64(x, "D") for x in dates], dtype="datetime64[D]")
        order = np.argsort(d, kind="stable")
        d = d[order]
        if len(d) > 1 and not np.all(d[1:] > d[:-1]):
            raise PriceError("dates repeat")
        syms = tuple(columns)
        closes = (
            np.column_stack([np.asarray(columns[s], dtype=np.float64) for s in syms])[order]
            if syms
            else np.empty((len(d), 0))
        )
        return cls(d, syms, closes)


def _listing(symbols: Sequence[str], most: int = 8) -> str:
    if not symbols:
        return "no symbols"
    shown = ", ".join(symbols[:most])
    return shown + (f", ... ({len(symbols)} in all)" if len(symbols) > most else "")


def load_prices_csv(path: Path) -> PriceTable:
    """Read a long or wide CSV of daily closes; errors name the file, line and column."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return parse_prices_csv(f, source=str(path))
    except (OSError, UnicodeDecodeError) as e:
        raise PriceError(f"{path}: cannot read: {e}") from e


def parse_prices_csv(lines: Iterable[str], *, source: str = "prices") -> PriceTable:
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise PriceError(f"{source}: empty file (expected a header: date,symbol,close)") from None
    except csv.Error as e:
        raise PriceError(f"{source}:1: {e}") from e
    names = [h.strip() for h in header]
    lowered = [n.lower() for n in names]
    if "symbol" in lowered or "close" in lowered:
        for col in ("date", "symbol", "close"):
            if col not in lowered:
                raise PriceError(f"{source}:1: long format needs a '{col}' column")
        return _parse_long(reader, lowered, source)
    if not names or lowered[0] != "date":
        raise PriceError(
            f"{source}:1: the first column must be 'date' (long format: date,symbol,close; "
            f"wide format: date,SPY,QQQ,...), got {names[0] if names else 'nothing'!r}"
        )
    return _parse_wide(reader, names, source)


def _parse_date(text: str, where: str) -> np.datetime64:
    try:
        return np.datetime64(date.fromisoformat(text.strip()), "D")
    except ValueError:
        raise PriceError(f"{where}: not a date (YYYY-MM-DD): {text!r}") from None


def _parse_close(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise PriceError(f"{where}: not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise PriceError(f"{where}: a close must be a positive number, got {text!r}")
    return value


def _parse_long(reader: Iterable[list[str]], lowered: list[str], source: str) -> PriceTable:
    i_date, i_sym, i_close = (lowered.index(c) for c in ("date", "symbol", "close"))
    width = max(i_date, i_sym, i_close) + 1
    seen: dict[tuple[np.datetime64, str], int] = {}
    rows: list[tuple[np.datetime64, str, float]] = []
    try:
        for row in reader:
            line = reader.line_num  # type: ignore[attr-defined]
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) < width:
                raise PriceError(f"{source}:{line}: expected {width} columns, got {len(row)}")
            d = _parse_date(row[i_date], f"{source}:{line}: column date")
            sym = row[i_sym].strip().upper()
            if not sym:
                raise PriceError(f"{source}:{line}: column symbol: empty")
            close = _parse_close(row[i_close], f"{source}:{line}: column close")
            if (d, sym) in seen:
                raise PriceError(
                    f"{source}:{line}: {sym} on {d} already given on line {seen[(d, sym)]}"
                )
            seen[(d, sym)] = line
            rows.append((d, sym, close))
    except csv.Error as e:
        raise PriceError(f"{source}: {e}") from e
    if not rows:
        raise PriceError(f"{source}: no price rows after the header")
    dates = np.unique(np.array([r[0] for r in rows], dtype="datetime64[D]"))
    symbols = tuple(dict.fromkeys(r[1] for r in rows))
    col = {s: j for j, s in enumerate(symbols)}
    closes = np.full((len(dates), len(symbols)), np.nan)
    di = np.searchsorted(dates, np.array([r[0] for r in rows], dtype="datetime64[D]"))
    closes[di, [col[r[1]] for r in rows]] = [r[2] for r in rows]
    return PriceTable(dates, symbols, closes)


def _parse_wide(reader: Iterable[list[str]], names: list[str], source: str) -> PriceTable:
    symbols = [n.upper() for n in names[1:]]
    if not symbols:
        raise PriceError(f"{source}:1: wide format needs at least one symbol column after date")
    for j, s in enumerate(symbols):
        if not s:
            raise PriceError(f"{source}:1: column {j + 2} has no symbol name")
        if s in symbols[:j]:
            raise PriceError(f"{source}:1: symbol {s} is a column twice")
    dates: list[np.datetime64] = []
    lines: dict[np.datetime64, int] = {}
    values: list[list[float]] = []
    try:
        for row in reader:
            line = reader.line_num  # type: ignore[attr-defined]
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(names):
                raise PriceError(f"{source}:{line}: expected {len(names)} columns, got {len(row)}")
            d = _parse_date(row[0], f"{source}:{line}: column date")
            if d in lines:
                raise PriceError(f"{source}:{line}: date {d} already given on line {lines[d]}")
            lines[d] = line
            dates.append(d)
            values.append(
                [
                    _parse_close(c, f"{source}:{line}: column {symbols[j]}")
                    if c.strip()
                    else np.nan
                    for j, c in enumerate(row[1:])
                ]
            )
    except csv.Error as e:
        raise PriceError(f"{source}: {e}") from e
    if not dates:
        raise PriceError(f"{source}: no price rows after the header")
    d_arr = np.array(dates, dtype="datetime64[D]")
    order = np.argsort(d_arr, kind="stable")
    return PriceTable(d_arr[order], tuple(symbols), np.array(values, dtype=np.float64)[order])


def write_prices_csv(table: PriceTable, path: Path) -> None:
    """Long format, for examples and benchmarks."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["date", "symbol", "close"])
        for i, d in enumerate(table.dates):
            for j, s in enumerate(table.symbols):
                v = table.closes[i, j]
                if not np.isnan(v):
                    w.writerow([str(d), s, repr(float(v))])
