"""Arena: the leaderboard of every book, the runs, the models, each decision with its full
reasoning, and the decision comparison (models on the same symbol within five minutes)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Select, Static, TabbedContent, TabPane

from arenad.tui import format as fmt
from arenad.tui.screens.base import BaseScreen
from arenad.tui.screens.confirm import ConfirmScreen
from arenad.tui.widgets.grid import Col, Grid, Row
from arenad.tui.widgets.notice import Notice

KINDS = [
    ("all books", ""),
    ("bots", "bot"),
    ("fade books", "fade"),
    ("arena models", "arena_model"),
    ("strategies", "strategy"),
    ("benchmarks", "benchmark"),
]
RANK_BY = [
    ("rank by return", "return"),
    ("rank by DSR", "dsr"),
    ("rank by PSR", "psr"),
    ("rank by Sharpe", "sharpe"),
]
VERDICT_STYLE = {"skill": "bold green", "unproven": "yellow", "insufficient": "dim"}
TIMEFRAMES = [
    ("all time", "all_time"),
    ("monthly", "monthly"),
    ("weekly", "weekly"),
    ("daily", "daily"),
]


def reasoning_text(d: dict[str, Any]) -> Text:
    t = Text()
    t.append(
        f"{fmt.stamp(d.get('ts'))}  {fmt.text(d.get('model_id'))}  {fmt.text(d.get('action'))} "
        f"{fmt.size(d.get('quantity'))} {fmt.text(d.get('symbol'))}\n",
        style="bold",
    )
    t.append(
        f"confidence {fmt.ratio(d.get('confidence'))}  timeframe {fmt.text(d.get('timeframe'))}  "
        f"entry {fmt.price(d.get('entry_price'))}  stop {fmt.price(d.get('stop_loss'))}  "
        f"target {fmt.price(d.get('take_profit'))}  order {fmt.text(d.get('order_status'))}\n"
    )
    if d.get("valid") is False:
        t.append(f"invalid model output: {fmt.text(d.get('error'))}\n", style="bold red")
        if d.get("raw"):
            t.append(str(d["raw"]) + "\n", style="dim")
    r = d.get("reasoning")
    if isinstance(r, dict):
        for k, v in r.items():
            if v is None or v == "" or v == [] or v == {}:
                continue  # a baseline has no bullish/bearish case: no empty label
            t.append(f"\n{k}: ", style="bold")
            t.append(v if isinstance(v, str) else json.dumps(v, default=str))
    elif r:
        t.append("\n" + str(r))
    return t


def interval(ci: Any) -> str:
    """A [lo, hi] interval, or a dash when there is none (too few returns)."""
    if isinstance(ci, list) and len(ci) == 2 and all(fmt.num(x) is not None for x in ci):
        return f"{fmt.num(ci[0]):.2f}…{fmt.num(ci[1]):.2f}"
    return fmt.DASH


def verdict(r: dict[str, Any]) -> Text:
    v = str(r.get("verdict") or "insufficient")
    mark = "!" if r.get("unproven_leader") else ""
    return Text(v + mark, style=VERDICT_STYLE.get(v, ""))


def cost(r: dict[str, Any]) -> str:
    """USD per decision of an arena model (baselines 0); a dash for other books."""
    v = fmt.num(r.get("cost_per_decision_usd"))
    if v is None:
        return fmt.DASH
    return f"${v:.4f}" if v < 1 else f"${v:,.2f}"


def comparison_text(decisions: list[Any]) -> str:
    """One entry per model and action ("momentum buy 0.60 ×2"): a model deciding twice in
    the window (runs every few minutes) read as the same row repeated."""
    seen: dict[tuple[str, str], list[Any]] = {}
    for d in decisions:
        if isinstance(d, dict):
            key = (fmt.text(d.get("model_id") or d.get("book_id")), fmt.text(d.get("action")))
            seen.setdefault(key, []).append(d.get("confidence"))
    parts = []
    for (model, action), confs in seen.items():
        times = f" ×{len(confs)}" if len(confs) > 1 else ""
        parts.append(f"{model} {action} {fmt.ratio(confs[-1])}{times}")
    return ", ".join(parts)


LEADERBOARD_COLS = [
    Col("rank", "#"),
    Col("delta", "Δ", priority=3),
    Col("book", "book"),
    Col("kind", "kind", priority=4),
    Col("return", "return"),
    Col("sharpe", "sharpe", priority=1),
    Col("interval", "95% interval", priority=3),
    Col("dsr", "DSR", priority=2),
    Col("verdict", "verdict", priority=1),
    Col("cost", "cost/dec", priority=3),
    Col("dd", "max DD", priority=2),
    Col("win", "win", priority=3),
    Col("pf", "PF", priority=4),
    Col("trades", "trades", priority=2),
]
RUNS_COLS = [
    Col("started", "started"),
    Col("status", "status"),
    Col("trigger", "trigger", priority=2),
    Col("models", "models", priority=1),
    Col("decisions", "decisions", priority=1),
    Col("errors", "errors", fill=True),
]
MODELS_COLS = [
    Col("model", "model"),
    Col("name", "name", priority=2),
    Col("provider", "provider", priority=3),
    Col("enabled", "enabled", priority=1),
    Col("paused", "paused"),
    Col("equity", "equity"),
    Col("positions", "positions", priority=1),
]
DECISIONS_COLS = [
    Col("time", "time"),
    Col("model", "model"),
    Col("symbol", "symbol"),
    Col("action", "action"),
    Col("conf", "conf", priority=1),
    Col("ok", "ok", priority=2),
]
COMPARISON_COLS = [
    Col("time", "time"),
    Col("symbol", "symbol"),
    Col("agree", "agree"),
    Col("decisions", "decisions", fill=True),
]


class ArenaScreen(BaseScreen):
    AUTO_FOCUS = "#leaderboard"
    CSS_PATH = "arena.tcss"
    RELOAD_ON = frozenset({"arena_run", "decision"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "app.run_arena", "Run arena now"),
        Binding("p", "toggle_pause", "Pause/resume model"),
        Binding("r", "refresh", "Refresh"),
        Binding("1", "tab('tab-leaderboard')", "Leaderboard tab", show=False),
        Binding("2", "tab('tab-runs')", "Runs tab", show=False),
        Binding("3", "tab('tab-models')", "Models tab", show=False),
        Binding("4", "tab('tab-decisions')", "Decisions tab", show=False),
        Binding("5", "tab('tab-comparison')", "Comparison tab", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.models: list[dict[str, Any]] = []
        self.decisions: dict[str, dict[str, Any]] = {}
        self.book_filter: str | None = None

    def body(self) -> Iterable[Widget]:
        with TabbedContent(id="arena-tabs"):
            with TabPane("Leaderboard (1)", id="tab-leaderboard"):
                with Horizontal(classes="filters"):
                    yield Select(KINDS, value="", allow_blank=False, id="kind")
                    yield Select(TIMEFRAMES, value="all_time", allow_blank=False, id="timeframe")
                    yield Select(RANK_BY, value="return", allow_blank=False, id="rank-by")
                yield Notice(id="leaderboard-note")
                yield Grid(LEADERBOARD_COLS, id="leaderboard")
            with TabPane("Runs (2)", id="tab-runs"):
                yield Static(id="next-run")
                yield Notice(id="runs-note")
                yield Grid(RUNS_COLS, id="runs")
            with TabPane("Models (3)", id="tab-models"):
                yield Notice(id="models-note")
                yield Grid(MODELS_COLS, id="models")
            with TabPane("Decisions (4)", id="tab-decisions"), Horizontal():
                with Vertical(id="ad-list"):
                    yield Notice(id="arena-decisions-note")
                    yield Grid(DECISIONS_COLS, id="arena-decisions")
                with VerticalScroll(id="ad-detail"):
                    yield Static(id="reasoning", classes="detail")
            with TabPane("Comparison (5)", id="tab-comparison"):
                yield Notice(id="comparison-note")
                yield Grid(COMPARISON_COLS, id="comparison")

    def _table(self, id_: str) -> Grid:
        return self.query_one(f"#{id_}", Grid)

    async def load(self) -> None:
        q = self.arenad.ask_daemon
        kind = self.query_one("#kind", Select).value
        timeframe = self.query_one("#timeframe", Select).value
        args: dict[str, Any] = {"timeframe": timeframe}
        if isinstance(kind, str) and kind:
            args["kind"] = kind
        rank_by = self.query_one("#rank-by", Select).value
        if isinstance(rank_by, str) and rank_by != "return":
            args["rank_by"] = rank_by
        self._show_leaderboard(await q("leaderboard", **args))
        self._show_runs(await q("arena.runs", limit=20))
        sched = await q("arena.schedule")  # next_run_at (issue 21 item 13)
        nxt = sched.get("next_run_at") if isinstance(sched, dict) else None
        self.query_one("#next-run", Static).update(
            f"next run: {fmt.stamp(nxt) if nxt else 'none scheduled'}"
            if isinstance(sched, dict)
            else ""
        )
        self._show_models(await q("arena.models"))
        dargs: dict[str, Any] = {"limit": 50}
        if self.book_filter:
            dargs["book_id"] = self.book_filter
        self._show_decisions(await q("arena.decisions", **dargs))
        self._show_comparison(await q("decision_comparison", limit=50))

    def _show_leaderboard(self, rows: Any) -> None:
        table = self._table("leaderboard")
        if not self.query_one("#leaderboard-note", Notice).about(rows, empty="no standings yet"):
            table.show([])
            return
        out = []
        for r in rows:
            out.append(
                Row(
                    str(r.get("book_id")),
                    [
                        fmt.DASH if r.get("rank") is None else str(r.get("rank")),
                        fmt.rank_change(r.get("rank_change")),
                        str(r.get("name") or r.get("book_id")),
                        str(r.get("kind", "")),
                        fmt.figure(r, "return_pct", fmt.pct, "total_return"),
                        fmt.figure(r, "sharpe", fmt.ratio),
                        interval(r.get("sharpe_ci")),
                        fmt.figure(r, "dsr", fmt.ratio),
                        verdict(r),
                        cost(r),
                        fmt.figure(
                            r,
                            "max_drawdown_pct",
                            lambda v: fmt.pct(v, signed=False),
                            "max_drawdown",
                        ),
                        fmt.figure(
                            r,
                            "win_rate",
                            lambda v: fmt.pct(
                                None if fmt.num(v) is None else 100 * (fmt.num(v) or 0.0),
                                signed=False,
                            ),
                        ),
                        fmt.figure(r, "profit_factor", fmt.ratio),
                        fmt.count(r.get("trades", 0)),
                    ],
                )
            )
        table.show(out)
        notes = []
        if any(r.get("unproven_leader") for r in rows):
            notes.append("! the leader is not shown to be skill: its lead may be luck")
        if any(r.get("insufficient_figures") for r in rows):
            notes.append(
                "–* too few samples for the figure to mean anything yet ([metrics] min_points,"
                " min_trades)"
            )
        if notes:
            # Escaped: "[metrics]" is text here, not Rich markup (it vanished before).
            self.query_one("#leaderboard-note", Notice).say(escape("; ".join(notes)))

    def _show_runs(self, rows: Any) -> None:
        table = self._table("runs")
        if not self.query_one("#runs-note", Notice).about(rows, empty="no runs yet"):
            table.show([])
            return
        out = []
        for r in rows:
            errors = r.get("errors") or []
            status = str(r.get("status"))
            out.append(
                Row(
                    str(r.get("run_id")),
                    [
                        fmt.stamp(r.get("started_at")),
                        Text(
                            status,
                            style={
                                "failed": "bold red",
                                "partial": "yellow",
                                "running": "cyan",
                                "ok": "green",
                            }.get(status, ""),
                        ),
                        str(r.get("trigger", "")),
                        fmt.count(r.get("models")),
                        fmt.count(r.get("decisions")),
                        "; ".join(
                            f"{e.get('model_id')}: {e.get('error')}"
                            for e in errors
                            if isinstance(e, dict)
                        )
                        or fmt.DASH,
                    ],
                )
            )
        table.show(out)

    def _show_models(self, rows: Any) -> None:
        table = self._table("models")
        self.models = rows if isinstance(rows, list) else []
        if not self.query_one("#models-note", Notice).about(rows, empty="no models configured"):
            table.show([])
            return
        table.show(
            Row(
                str(m.get("model_id")),
                [
                    str(m.get("model_id")),
                    str(m.get("name") or fmt.DASH),
                    str(m.get("provider") or fmt.DASH),
                    fmt.yes_no(m.get("enabled")),
                    Text("PAUSED", style="bold yellow") if m.get("paused") else Text("no"),
                    fmt.money(m.get("equity")),
                    fmt.count(m.get("positions", 0)),
                ],
            )
            for m in self.models
        )

    def _show_decisions(self, rows: Any) -> None:
        table = self._table("arena-decisions")
        self.decisions = {}
        empty = f"no decisions for {self.book_filter}" if self.book_filter else "no decisions yet"
        if not self.query_one("#arena-decisions-note", Notice).about(rows, empty=empty):
            table.show([])
            self.query_one("#reasoning", Static).update("")
            return
        out = []
        for d in rows:
            key = str(d.get("id"))
            self.decisions[key] = d
            out.append(
                Row(
                    key,
                    [
                        fmt.clock(d.get("ts")),
                        str(d.get("model_id")),
                        str(d.get("symbol")),
                        str(d.get("action")),
                        fmt.ratio(d.get("confidence")),
                        "✓" if d.get("valid", True) else Text("✗", style="red"),
                    ],
                )
            )
        table.show(out)
        if self.book_filter:
            self.query_one("#arena-decisions-note", Notice).say(
                f"showing {self.book_filter} (enter on another leaderboard row to change)"
            )
        picked = self.decisions.get(table.selected_key() or "")
        self.query_one("#reasoning", Static).update(reasoning_text(picked) if picked else "")

    def _show_comparison(self, rows: Any) -> None:
        table = self._table("comparison")
        if not self.query_one("#comparison-note", Notice).about(
            rows, empty="no two models decided on the same symbol within 5 minutes yet"
        ):
            table.show([])
            return
        out = []
        for c in rows:
            ds = comparison_text(c.get("decisions") or [])
            agree = fmt.num(c.get("agreement"))
            out.append(
                Row(
                    f"{c.get('ts')}|{c.get('symbol')}",
                    [
                        fmt.clock(c.get("ts")),
                        str(c.get("symbol")),
                        f"{agree:.0%}" if agree is not None else fmt.DASH,
                        ds,
                    ],
                )
            )
        table.show(out)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "arena-decisions" and event.row_key.value in self.decisions:
            self.query_one("#reasoning", Static).update(
                reasoning_text(self.decisions[event.row_key.value])
            )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "leaderboard" and event.row_key.value:
            self.book_filter = event.row_key.value
            self.query_one("#arena-tabs", TabbedContent).active = "tab-decisions"
            self.reload()

    def on_select_changed(self, _event: Select.Changed) -> None:
        if self.is_mounted:
            self.reload()

    def action_toggle_pause(self) -> None:
        key = self.query_one("#models", Grid).selected_key()
        model = next((m for m in self.models if str(m.get("model_id")) == key), None)
        if model is None:
            self.notify("no model selected (Models tab)", severity="warning")
            return
        verb = "resume" if model.get("paused") else "pause"
        book = model.get("book_id") or f"arena:{model.get('model_id')}"

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._toggle(model), group="action")

        self.app.push_screen(
            ConfirmScreen(
                f"{verb} {book} ({model.get('name') or model.get('model_id')})?",
                "A paused model is skipped in arena runs; its positions stay open."
                if verb == "pause"
                else "The model takes part in the next arena run again.",
                yes_label=verb.title(),
            ),
            answered,
        )

    async def _toggle(self, model: dict[str, Any]) -> None:
        cmd = "arena.resume" if model.get("paused") else "arena.pause"
        r = await self.arenad.command(cmd, model_id=str(model.get("model_id")))
        if r is not None:
            self.notify(
                f"{model.get('model_id')}: {'resumed' if cmd == 'arena.resume' else 'paused'}"
            )
            self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def action_tab(self, tab: str) -> None:
        self.query_one("#arena-tabs", TabbedContent).active = tab
        grid = {
            "tab-leaderboard": "#leaderboard",
            "tab-runs": "#runs",
            "tab-models": "#models",
            "tab-decisions": "#arena-decisions",
            "tab-comparison": "#comparison",
        }[tab]
        self.query_one(grid, Grid).focus()
