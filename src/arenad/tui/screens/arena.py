"""Arena: the leaderboard of every book, the runs, the models, each decision with its full
reasoning, and the decision comparison (models on the same symbol within five minutes)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Select, Static, TabbedContent, TabPane

from arenad.tui import format as fmt
from arenad.tui.screens.base import BaseScreen
from arenad.tui.widgets.notice import Notice

KINDS = [
    ("all books", ""),
    ("bots", "bot"),
    ("fade books", "fade"),
    ("arena models", "arena_model"),
    ("strategies", "strategy"),
    ("benchmarks", "benchmark"),
]
TIMEFRAMES = [
    ("all time", "all_time"),
    ("monthly", "monthly"),
    ("weekly", "weekly"),
    ("daily", "daily"),
]


def reasoning_text(d: dict[str, Any]) -> Text:
    t = Text()
    t.append(
        f"{fmt.stamp(d.get('ts'))}  {d.get('model_id')}  {d.get('action')} "
        f"{fmt.dec(d.get('quantity'))} {d.get('symbol')}\n",
        style="bold",
    )
    t.append(
        f"confidence {fmt.ratio(d.get('confidence'))}  timeframe {d.get('timeframe')}  "
        f"entry {fmt.dec(d.get('entry_price'))}  stop {fmt.dec(d.get('stop_loss'))}  "
        f"target {fmt.dec(d.get('take_profit'))}  order {d.get('order_status') or '–'}\n"
    )
    if d.get("valid") is False:
        t.append(f"invalid model output: {d.get('error')}\n", style="bold red")
        if d.get("raw"):
            t.append(str(d["raw"]) + "\n", style="dim")
    r = d.get("reasoning")
    if isinstance(r, dict):
        for k, v in r.items():
            t.append(f"\n{k}: ", style="bold")
            t.append(v if isinstance(v, str) else json.dumps(v, default=str))
    elif r:
        t.append("\n" + str(r))
    return t


class ArenaScreen(BaseScreen):
    AUTO_FOCUS = "#leaderboard"
    CSS_PATH = "arena.tcss"
    RELOAD_ON = frozenset({"arena_run", "decision"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "app.run_arena", "Run arena now"),
        Binding("p", "toggle_pause", "Pause/resume model"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.models: list[dict[str, Any]] = []
        self.decisions: dict[str, dict[str, Any]] = {}
        self.book_filter: str | None = None

    def body(self) -> Iterable[Widget]:
        with TabbedContent(id="arena-tabs"):
            with TabPane("Leaderboard", id="tab-leaderboard"):
                with Horizontal(classes="filters"):
                    yield Select(KINDS, value="", allow_blank=False, id="kind")
                    yield Select(TIMEFRAMES, value="all_time", allow_blank=False, id="timeframe")
                yield Notice(id="leaderboard-note")
                yield DataTable(id="leaderboard", cursor_type="row")
            with TabPane("Runs", id="tab-runs"):
                yield Notice(id="runs-note")
                yield DataTable(id="runs", cursor_type="row")
            with TabPane("Models", id="tab-models"):
                yield Notice(id="models-note")
                yield DataTable(id="models", cursor_type="row")
            with TabPane("Decisions", id="tab-decisions"), Horizontal():
                with Vertical(id="ad-list"):
                    yield Notice(id="arena-decisions-note")
                    yield DataTable(id="arena-decisions", cursor_type="row")
                with VerticalScroll(id="ad-detail"):
                    yield Static(id="reasoning", classes="detail")
            with TabPane("Comparison", id="tab-comparison"):
                yield Notice(id="comparison-note")
                yield DataTable(id="comparison", cursor_type="row")

    def _table(self, id_: str, *columns: str) -> DataTable[Any]:
        table = self.query_one(f"#{id_}", DataTable)
        if not table.columns:
            table.add_columns(*columns)
        table.clear()
        return table

    async def load(self) -> None:
        q = self.arenad.ask_daemon
        kind = self.query_one("#kind", Select).value
        timeframe = self.query_one("#timeframe", Select).value
        args: dict[str, Any] = {"timeframe": timeframe}
        if isinstance(kind, str) and kind:
            args["kind"] = kind
        self._show_leaderboard(await q("leaderboard", **args))
        self._show_runs(await q("arena.runs", limit=20))
        self._show_models(await q("arena.models"))
        dargs: dict[str, Any] = {"limit": 50}
        if self.book_filter:
            dargs["book_id"] = self.book_filter
        self._show_decisions(await q("arena.decisions", **dargs))
        self._show_comparison(await q("decision_comparison", limit=50))

    def _show_leaderboard(self, rows: Any) -> None:
        table = self._table(
            "leaderboard",
            "#",
            "Δ",
            "book",
            "kind",
            "return",
            "sharpe",
            "max DD",
            "win",
            "PF",
            "trades",
        )
        if not self.query_one("#leaderboard-note", Notice).about(rows, empty="no standings yet"):
            return
        for r in rows:
            table.add_row(
                fmt.DASH if r.get("rank") is None else str(r.get("rank")),
                fmt.rank_change(r.get("rank_change")),
                str(r.get("name") or r.get("book_id")),
                str(r.get("kind", "")),
                fmt.figure(r, "return_pct", fmt.pct, "total_return"),
                fmt.figure(r, "sharpe", fmt.ratio),
                fmt.figure(
                    r, "max_drawdown_pct", lambda v: fmt.pct(v, signed=False), "max_drawdown"
                ),
                fmt.figure(
                    r,
                    "win_rate",
                    lambda v: fmt.pct(
                        None if fmt.num(v) is None else 100 * (fmt.num(v) or 0.0), signed=False
                    ),
                ),
                fmt.figure(r, "profit_factor", fmt.ratio),
                str(r.get("trades", 0)),
                key=str(r.get("book_id")),
            )
        if any(r.get("insufficient_figures") for r in rows):
            self.query_one("#leaderboard-note", Notice).say(
                "–* too few samples for the figure to mean anything yet ([metrics] min_points,"
                " min_trades)"
            )

    def _show_runs(self, rows: Any) -> None:
        table = self._table("runs", "started", "status", "trigger", "models", "decisions", "errors")
        if not self.query_one("#runs-note", Notice).about(rows, empty="no runs yet"):
            return
        for r in rows:
            errors = r.get("errors") or []
            status = str(r.get("status"))
            table.add_row(
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
                str(r.get("models", "")),
                str(r.get("decisions", "")),
                "; ".join(
                    f"{e.get('model_id')}: {e.get('error')}" for e in errors if isinstance(e, dict)
                )
                or fmt.DASH,
                key=str(r.get("run_id")),
            )

    def _show_models(self, rows: Any) -> None:
        table = self._table("models", "model", "name", "provider", "enabled", "paused")
        self.models = rows if isinstance(rows, list) else []
        if not self.query_one("#models-note", Notice).about(rows, empty="no models configured"):
            return
        for m in self.models:
            table.add_row(
                str(m.get("model_id")),
                str(m.get("name", "")),
                str(m.get("provider", "")),
                fmt.yes_no(m.get("enabled")),
                Text("PAUSED", style="bold yellow") if m.get("paused") else Text("no"),
                key=str(m.get("model_id")),
            )

    def _show_decisions(self, rows: Any) -> None:
        table = self._table("arena-decisions", "time", "model", "symbol", "action", "conf", "ok")
        self.decisions = {}
        self.query_one("#reasoning", Static).update("")
        empty = f"no decisions for {self.book_filter}" if self.book_filter else "no decisions yet"
        if not self.query_one("#arena-decisions-note", Notice).about(rows, empty=empty):
            return
        for d in rows:
            key = str(d.get("id"))
            self.decisions[key] = d
            table.add_row(
                fmt.clock(d.get("ts")),
                str(d.get("model_id")),
                str(d.get("symbol")),
                str(d.get("action")),
                fmt.ratio(d.get("confidence")),
                "✓" if d.get("valid", True) else Text("✗", style="red"),
                key=key,
            )
        if self.book_filter:
            self.query_one("#arena-decisions-note", Notice).say(
                f"showing {self.book_filter} (enter on another leaderboard row to change)"
            )
        if rows:
            self.query_one("#reasoning", Static).update(reasoning_text(rows[0]))

    def _show_comparison(self, rows: Any) -> None:
        table = self._table("comparison", "time", "symbol", "agree", "decisions")
        if not self.query_one("#comparison-note", Notice).about(
            rows, empty="no two models decided on the same symbol within 5 minutes yet"
        ):
            return
        for i, c in enumerate(rows):
            ds = ", ".join(
                f"{d.get('model_id')} {d.get('action')} {fmt.ratio(d.get('confidence'))}"
                for d in c.get("decisions") or []
                if isinstance(d, dict)
            )
            agree = fmt.num(c.get("agreement"))
            table.add_row(
                fmt.clock(c.get("ts")),
                str(c.get("symbol")),
                f"{agree:.0%}" if agree is not None else fmt.DASH,
                ds,
                key=str(i),
            )

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
        table = self.query_one("#models", DataTable)
        if not table.row_count or not self.models:
            self.notify("no model selected (Models tab)", severity="warning")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        model = next((m for m in self.models if str(m.get("model_id")) == key), None)
        if model is not None:
            self.run_worker(self._toggle(model), group="action")

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
