"""Strategy definitions: the seed's ``elements`` array grown into a small allocation tree.

The seed stores a strategy as a flat list such as ``[{"type": "ticker", "ticker": "SPY",
"weight": "1"}]``. That list is still a valid strategy here (its elements form the root
group); on top of it a node may be

- ``ticker``: one symbol;
- ``group``: children combined by a weighting — ``equal``, ``specified`` (each child's
  ``weight``, normalised so they sum to 1) or ``{"method": "inverse_volatility", "window": N}``;
- ``select_top``: every rebalance, rank the children by ``momentum`` (trailing return) or
  ``low_volatility`` over ``window`` trading days, keep the best ``n``, and weight those
  ``equal``-ly or by inverse volatility.

Weights are relative, not fractions of equity: ``3`` and ``1`` mean 75/25. The portfolio is
always fully invested (long only, no cash leg), which is what makes "weights sum to 1 at every
rebalance" an invariant rather than a convention.

Any value may be a variable, ``"$name"``, filled in from an assignment before validation. A
sweep substitutes each assignment into the raw JSON and validates the result, so a variable
can stand for a ticker, a weight, a window or ``n`` alike, and a bad value is reported at the
exact element path it landed in.

Why the weighting is omitted by default: a group (or the root) whose children all carry a
``weight`` is ``specified``; one whose children carry none is ``equal``. A mix is refused
because either reading would silently ignore what the author wrote.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from arenad.errors import ArenadError

VAR_RE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-/]{0,14}$")
MAX_WINDOW = 2_520  # ten years of trading days
MAX_DEPTH = 16

Metric = Literal["momentum", "low_volatility"]
Rebalance = Literal["daily", "weekly", "monthly"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a definition: where (``elements[1].children[0].window``) and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class StrategyError(ArenadError):
    """A strategy definition (or a variable assignment into it) is invalid: exit 2."""

    def __init__(self, problems: Sequence[Problem], *, context: str = "") -> None:
        self.problems = list(problems)
        self.context = context
        lines = [f"{context}: {p}" if context else str(p) for p in self.problems]
        super().__init__("\n".join(lines))


# --- the tree ---------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Equal(_Model):
    method: Literal["equal"]


class Specified(_Model):
    method: Literal["specified"]


class InverseVolatility(_Model):
    method: Literal["inverse_volatility"]
    window: int = Field(ge=2, le=MAX_WINDOW)
    """Trading days of daily returns whose standard deviation sets each child's weight."""


def _weighting_shorthand(value: Any) -> Any:
    # "equal" is friendlier to write than {"method": "equal"}.
    return {"method": value} if isinstance(value, str) else value


Weighting = Annotated[
    Equal | Specified | InverseVolatility,
    Field(discriminator="method"),
    BeforeValidator(_weighting_shorthand),
]
SelectWeighting = Annotated[
    Equal | InverseVolatility,
    Field(discriminator="method"),
    BeforeValidator(_weighting_shorthand),
]


def _symbol(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().upper()
        if not SYMBOL_RE.match(value):
            raise ValueError(
                "not a ticker symbol (letters, digits, '.', '-', '/'; at most 15 characters)"
            )
    return value


Symbol = Annotated[str, BeforeValidator(_symbol)]


class _Node(_Model):
    weight: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Relative weight inside a parent whose weighting is ``specified``."""


class TickerNode(_Node):
    type: Literal["ticker"]
    ticker: Symbol


class GroupNode(_Node):
    type: Literal["group"]
    name: str | None = None
    weighting: Weighting | None = None
    children: list[Node] = Field(min_length=1)


class SelectTopNode(_Node):
    type: Literal["select_top"]
    name: str | None = None
    metric: Metric
    window: int = Field(ge=2, le=MAX_WINDOW)
    n: int = Field(ge=1)
    weighting: SelectWeighting = Equal(method="equal")
    children: list[Node] = Field(min_length=1)


Node = Annotated[TickerNode | GroupNode | SelectTopNode, Field(discriminator="type")]
NODE_TYPES = ("ticker", "group", "select_top")
_TAGS = frozenset(NODE_TYPES) | {"equal", "specified", "inverse_volatility"}

GroupNode.model_rebuild()
SelectTopNode.model_rebuild()


class Root(_Model):
    """The validated allocation tree: the strategy's top-level elements and their weighting."""

    weighting: Weighting | None = None
    elements: list[Node] = Field(min_length=1)

    def symbols(self) -> list[str]:
        """Every ticker the tree can hold, in first-appearance order."""
        seen: dict[str, None] = {}
        for node in walk(self.elements):
            if isinstance(node, TickerNode):
                seen.setdefault(node.ticker, None)
        return list(seen)

    def lookback(self) -> int:
        """Trading days of history the tree needs before its first rebalance."""
        need = _window_of(self.weighting)
        for node in walk(self.elements):
            if isinstance(node, GroupNode):
                need = max(need, _window_of(node.weighting))
            elif isinstance(node, SelectTopNode):
                need = max(need, node.window, _window_of(node.weighting))
        return need


def _window_of(w: Equal | Specified | InverseVolatility | None) -> int:
    return w.window if isinstance(w, InverseVolatility) else 0


def walk(nodes: Sequence[TickerNode | GroupNode | SelectTopNode]) -> Iterator[Any]:
    for node in nodes:
        yield node
        if not isinstance(node, TickerNode):
            yield from walk(node.children)


def effective_weighting(
    weighting: Equal | Specified | InverseVolatility | None,
    children: Sequence[TickerNode | GroupNode | SelectTopNode],
) -> Equal | Specified | InverseVolatility:
    """The weighting a group uses; for an omitted one, inferred from its children."""
    if weighting is not None:
        return weighting
    if all(c.weight is not None for c in children):
        return Specified(method="specified")
    return Equal(method="equal")


# --- strategy files ----------------------------------------------------------------------


class VariableSpec(_Model):
    """A variable of a sweep and the values it takes (seed ``batch_jobs.variables``)."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    values: list[str] = Field(min_length=1)

    @field_validator("values", mode="before")
    @classmethod
    def _as_text(cls, v: Any) -> Any:
        # The seed stores values as strings ("10", "14"); numbers in a file mean the same.
        if isinstance(v, list):
            return [
                str(x) if isinstance(x, int | float) and not isinstance(x, bool) else x for x in v
            ]
        return v

    @field_validator("values")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        seen: set[str] = set()
        for x in v:
            if x in seen:
                raise ValueError(f"value {x!r} is listed twice")
            seen.add(x)
        return v


ListType = Literal["ticker", "number", "date"]


def list_value_problems(name: str, type_: str, values: Sequence[str]) -> list[Problem]:
    """Why values do not fit a saved list's type (seed ``variable_lists.type``)."""
    if type_ not in ("ticker", "number", "date"):
        return [Problem(f"{name}.type", "one of ticker, number, date")]
    problems = []
    for i, v in enumerate(values):
        where = f"{name}[{i}]"
        if type_ == "ticker" and not SYMBOL_RE.match(v.strip().upper()):
            problems.append(Problem(where, f"{v!r} is not a ticker symbol"))
        elif type_ == "number":
            try:
                ok = Decimal(v).is_finite()
            except ArithmeticError:
                ok = False
            if not ok:
                problems.append(Problem(where, f"{v!r} is not a number"))
        elif type_ == "date":
            try:
                date.fromisoformat(v)
            except ValueError:
                problems.append(Problem(where, f"{v!r} is not a date (YYYY-MM-DD)"))
    return problems


class StrategyFile(_Model):
    """A strategy as stored (seed ``strategies`` row): metadata plus the raw elements template.

    ``elements`` stays raw JSON here because it may hold ``$variables``; :func:`compile_root`
    turns it (with an assignment) into a validated :class:`Root`.
    """

    name: str = Field(default="unnamed", min_length=1, max_length=500)
    description: str | None = None
    elements: list[Any] = Field(min_length=1)
    weighting: Any = None
    benchmark_symbol: Symbol | None = None
    start_date: date | None = None
    end_date: date | None = None
    rebalance: Rebalance | None = None
    tags: list[str] = Field(default_factory=list)
    variables: list[VariableSpec] = Field(default_factory=list)

    def template(self) -> dict[str, Any]:
        """The part of the file variables are substituted into."""
        out: dict[str, Any] = {"elements": self.elements}
        if self.weighting is not None:
            out["weighting"] = self.weighting
        return out


def parse_strategy(data: Any, *, source: str = "") -> StrategyFile:
    """Validate a strategy document: an object, or (seed style) a bare elements array."""
    if isinstance(data, list):
        data = {"elements": data}
    if not isinstance(data, dict):
        raise StrategyError(
            [Problem("", "a strategy is a JSON object or an elements array")], context=source
        )
    try:
        sf = StrategyFile.model_validate(data)
    except ValidationError as e:
        raise StrategyError(_problems(e), context=source) from e
    if sf.start_date and sf.end_date and sf.start_date > sf.end_date:
        raise StrategyError([Problem("end_date", "is before start_date")], context=source)
    # Structure errors that do not depend on variable values are reported now, not per run.
    problems = _structural_problems(sf.template())
    if problems:
        raise StrategyError(problems, context=source)
    return sf


def load_strategy(path: Path) -> StrategyFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise StrategyError([Problem("", f"cannot read: {e}")], context=str(path)) from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise StrategyError(
            [Problem(f"line {e.lineno} column {e.colno}", f"invalid JSON: {e.msg}")],
            context=str(path),
        ) from e
    return parse_strategy(data, source=str(path))


def _structural_problems(template: dict[str, Any]) -> list[Problem]:
    """Unknown element types and depth, checked on the raw template (variables unresolved)."""
    problems: list[Problem] = []

    def visit(nodes: Any, path: str, depth: int) -> None:
        if not isinstance(nodes, list):
            return
        if depth > MAX_DEPTH:
            problems.append(Problem(path, f"nesting deeper than {MAX_DEPTH} levels"))
            return
        for i, node in enumerate(nodes):
            p = f"{path}[{i}]"
            if not isinstance(node, dict):
                problems.append(Problem(p, "an element is a JSON object"))
                continue
            t = node.get("type")
            if t not in NODE_TYPES:
                problems.append(
                    Problem(
                        f"{p}.type",
                        f"unknown element type {t!r} (expected {', '.join(NODE_TYPES)})"
                        if t is not None
                        else "missing (expected " + ", ".join(NODE_TYPES) + ")",
                    )
                )
                continue
            visit(node.get("children"), f"{p}.children", depth + 1)

    visit(template.get("elements"), "elements", 1)
    return problems


# --- variables -------------------------------------------------------------------------


def variable_refs(template: Any) -> dict[str, list[str]]:
    """Each ``$name`` used in the template and the paths where it appears."""
    found: dict[str, list[str]] = {}
    for path, value in _leaves(template, ""):
        if isinstance(value, str) and (m := VAR_RE.match(value)):
            found.setdefault(m.group(1), []).append(path)
    return found


def substitute(template: Any, assignment: Mapping[str, str]) -> Any:
    """A copy of ``template`` with every ``"$name"`` replaced by its value."""
    missing: list[Problem] = []

    def sub(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return {k: sub(v, _join(path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [sub(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, str) and (m := VAR_RE.match(value)):
            name = m.group(1)
            if name not in assignment:
                missing.append(Problem(path, f"variable ${name} has no value"))
                return value
            return assignment[name]
        return value

    out = sub(copy.deepcopy(template), "")
    if missing:
        raise StrategyError(missing)
    return out


def compile_root(template: Mapping[str, Any], assignment: Mapping[str, str] | None = None) -> Root:
    """Substitute ``assignment`` into the template and validate the tree."""
    raw = substitute(dict(template), assignment or {})
    structural = _structural_problems(raw)
    if structural:
        raise StrategyError(structural)
    try:
        root = Root.model_validate(raw)
    except ValidationError as e:
        raise StrategyError(_problems(e)) from e
    problems = _semantic_problems(root)
    if problems:
        raise StrategyError(problems)
    return root


def _semantic_problems(root: Root) -> list[Problem]:  # noqa: C901
    problems: list[Problem] = []

    def check_group(
        weighting: Equal | Specified | InverseVolatility | None,
        children: Sequence[TickerNode | GroupNode | SelectTopNode],
        path: str,
        children_path: str,
    ) -> None:
        given = [c.weight is not None for c in children]
        if weighting is None and any(given) and not all(given):
            missing = [f"{children_path}[{i}]" for i, g in enumerate(given) if not g]
            problems.append(
                Problem(
                    missing[0] + ".weight",
                    "some siblings have a weight and this one has none; give every child a "
                    "weight, or none (equal weighting)",
                )
            )
            return
        eff = effective_weighting(weighting, children)
        if isinstance(eff, Specified):
            if not all(given):
                i = given.index(False)
                problems.append(
                    Problem(f"{children_path}[{i}].weight", "required: the weighting is specified")
                )
            elif sum(c.weight or 0 for c in children) <= 0:
                problems.append(
                    Problem(f"{children_path}[0].weight", "the weights of these children sum to 0")
                )
        elif any(given):
            i = given.index(True)
            problems.append(
                Problem(
                    f"{children_path}[{i}].weight",
                    f"given, but {path or 'the root'} weighting is {eff.method}, which ignores it",
                )
            )

    def visit(nodes: Sequence[TickerNode | GroupNode | SelectTopNode], path: str) -> None:
        for i, node in enumerate(nodes):
            p = f"{path}[{i}]"
            if isinstance(node, GroupNode):
                check_group(node.weighting, node.children, p, f"{p}.children")
                visit(node.children, f"{p}.children")
            elif isinstance(node, SelectTopNode):
                if node.n > len(node.children):
                    problems.append(
                        Problem(
                            f"{p}.n",
                            f"is {node.n} but there are only {len(node.children)} children",
                        )
                    )
                for j, c in enumerate(node.children):
                    if c.weight is not None:
                        problems.append(
                            Problem(
                                f"{p}.children[{j}].weight",
                                "given, but select_top weights its picks itself, which ignores it",
                            )
                        )
                        break
                visit(node.children, f"{p}.children")

    check_group(root.weighting, root.elements, "", "elements")
    visit(root.elements, "elements")
    return problems


# --- error paths -----------------------------------------------------------------------


def _problems(e: ValidationError) -> list[Problem]:
    out = []
    for err in e.errors(include_url=False):
        loc = list(err["loc"])
        path = ""
        for i, part in enumerate(loc):
            # A tagged union inserts the tag into the location; it is not part of the path.
            prev = loc[i - 1] if i else None
            if (
                isinstance(part, str)
                and part in _TAGS
                and (isinstance(prev, int) or prev == "weighting")
            ):
                continue
            path = f"{path}[{part}]" if isinstance(part, int) else _join(path, str(part))
        out.append(Problem(path, err["msg"]))
    return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, _join(path, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value
