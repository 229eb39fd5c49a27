"""Fade: each bot beside its fade book, and the decision feed with every guard's verdict and
the bot's own reasoning (its tracker chat) next to the decision it caused."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static

from arenad.tui import format as fmt
from arenad.tui.screens.base import BaseScreen
from arenad.tui.screens.confirm import ConfirmScreen
from arenad.tui.widgets.grid import Col, Grid, Row
from arenad.tui.widgets.notice import Notice

BOTS_COLS = [
    Col("bot", "bot"),
    Col("state", "state", priority=2),
    Col("mult", "mult", priority=3),
    Col("fade_upnl", "fade uPnL"),
    Col("realized", "realized"),
    Col("equity", "equity"),
    Col("fade_pos", "fade position", priority=1),
    Col("bot_pos", "bot position", priority=4),
]
DECISIONS_COLS = [
    Col("time", "time"),
    Col("bot", "bot", priority=1),
    Col("fill", "fill"),
    Col("decision", "decision"),
    Col("why", "why", fill=True),
]


def _positions(bot: dict[str, Any], key: str) -> str:
    parts = [
        f"{p.get('symbol')} {fmt.size(p.get(key))}"
        for p in bot.get("positions") or []
        if isinstance(p, dict) and fmt.num(p.get(key))
    ]
    return ", ".join(parts) or fmt.DASH


def _bot_state(bot: dict[str, Any]) -> Text:
    if bot.get("enabled") is False:
        return Text("disabled", style="dim")
    if bot.get("paused"):
        return Text("PAUSED", style="bold yellow")
    return Text("active", style="green")


def decision_detail(d: dict[str, Any]) -> Text:
    """Everything about one decision: the fill, the verdicts, the order, the bot's chat."""
    ev = d.get("event") or {}
    t = Text()
    t.append(f"{fmt.stamp(d.get('ts'))}  {fmt.text(d.get('bot_id'))}\n", style="bold")
    t.append(
        f"bot {ev.get('event_type') or 'fill'}: {fmt.text(ev.get('side'))} "
        f"{fmt.size(ev.get('size'))} {fmt.text(ev.get('symbol'))} @ {fmt.price(ev.get('price'))}\n"
    )
    decision = str(d.get("decision", "?"))
    t.append(
        f"decision: {decision.upper()}",
        style="bold green" if decision == "execute" else "bold yellow",
    )
    t.append(f" — {d.get('skip_reason') or d.get('reason') or ''}\n")
    for g in d.get("guards") or []:
        ok = g.get("allowed")
        t.append(" ✓ " if ok else " ✗ ", style="green" if ok else "bold red")
        t.append(f"{g.get('name')}: {g.get('reason', '')}\n")
    order = d.get("order")
    if isinstance(order, dict):
        t.append(
            f"order {fmt.text(order.get('side'))} {fmt.size(order.get('size'))} @ "
            f"{fmt.price(order.get('price'))}: {fmt.text(order.get('status'))}\n"
        )
    chat = d.get("chat")
    if isinstance(chat, dict):
        t.append(
            f"\nbot's reasoning ({chat.get('model', '')}, {fmt.stamp(chat.get('ts'))}):\n",
            style="bold",
        )
        t.append(str(chat.get("summary") or ""), style="italic")
        if chat.get("text"):
            t.append("\n" + str(chat["text"]))
    else:
        t.append("\nno tracker chat known for this fill", style="dim")
    return t


class FadeScreen(BaseScreen):
    CSS_PATH = "fade.tcss"
    RELOAD_ON = frozenset({"decision", "position", "order"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_pause", "Pause/resume bot"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.bots: list[dict[str, Any]] = []
        self.decisions: dict[str, dict[str, Any]] = {}

    def body(self) -> Iterable[Widget]:
        bots = Vertical(
            Notice(id="bots-note"),
            Grid(BOTS_COLS, id="bots"),
            id="bots-panel",
            classes="panel",
        )
        bots.border_title = "Bots and their fade books"
        feed = Vertical(
            Notice(id="decisions-note"),
            Grid(DECISIONS_COLS, id="decisions"),
            id="decisions-panel",
            classes="panel",
        )
        feed.border_title = "Decisions"
        detail = VerticalScroll(
            Static(id="decision-detail", classes="detail"), id="detail-panel", classes="panel"
        )
        detail.border_title = "Decision and the bot's reasoning"
        return (bots, Horizontal(feed, detail, id="fade-bottom"))

    async def load(self) -> None:
        bots = await self.arenad.ask_daemon("fade.bots")
        decisions = await self.arenad.ask_daemon("fade.decisions", limit=100)
        self._show_bots(bots)
        self._show_decisions(decisions)

    def _show_bots(self, bots: Any) -> None:
        table = self.query_one("#bots", Grid)
        self.bots = bots if isinstance(bots, list) else []
        if not self.query_one("#bots-note", Notice).about(bots, empty="no bots configured"):
            table.show([])
            return
        table.show(
            Row(
                str(b.get("bot_id")),
                [
                    str(b.get("name") or b.get("bot_id")),
                    _bot_state(b),
                    fmt.multiplier(b.get("multiplier")),
                    fmt.pnl(b.get("fade_unrealized_pnl")),
                    fmt.pnl(b.get("fade_realized_pnl")),
                    fmt.money(b.get("fade_equity")),
                    _positions(b, "fade_size"),
                    _positions(b, "bot_size"),
                ],
            )
            for b in self.bots
        )

    def _show_decisions(self, decisions: Any) -> None:
        table = self.query_one("#decisions", Grid)
        self.decisions = {}
        if not self.query_one("#decisions-note", Notice).about(decisions, empty="no decisions yet"):
            table.show([])
            self.query_one("#decision-detail", Static).update("")
            return
        out = []
        for d in decisions:
            key = str(d.get("id"))
            self.decisions[key] = d
            ev = d.get("event") or {}
            decision = str(d.get("decision", "?"))
            out.append(
                Row(
                    key,
                    [
                        fmt.clock(d.get("ts")),
                        str(d.get("bot_id")),
                        f"{ev.get('side', '?')} {fmt.size(ev.get('size'))} {ev.get('symbol', '?')}",
                        Text(decision, style="green" if decision == "execute" else "yellow"),
                        str(d.get("skip_reason") or d.get("reason") or ""),
                    ],
                )
            )
        table.show(out)
        self._detail(table.selected_key())

    def _detail(self, key: str | None) -> None:
        d = self.decisions.get(key or "")
        self.query_one("#decision-detail", Static).update(decision_detail(d) if d else "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "decisions":
            self._detail(event.row_key.value)

    def selected_bot(self) -> dict[str, Any] | None:
        key = self.query_one("#bots", Grid).selected_key()
        return next((b for b in self.bots if str(b.get("bot_id")) == key), None)

    def action_toggle_pause(self) -> None:
        bot = self.selected_bot()
        if bot is None:
            self.notify("no bot selected", severity="warning")
            return
        verb = "resume" if bot.get("paused") else "pause"
        book = bot.get("fade_book_id") or f"fade:{bot.get('bot_id')}"

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._toggle(bot), group="action")

        self.app.push_screen(
            ConfirmScreen(
                f"{verb} {book} (fading {bot.get('name') or bot.get('bot_id')},"
                f" {fmt.multiplier(bot.get('multiplier'))})?",
                "A paused bot's fills are skipped; its fade positions stay open."
                if verb == "pause"
                else "The bot's next fills are faded again.",
                yes_label=verb.title(),
            ),
            answered,
        )

    async def _toggle(self, bot: dict[str, Any]) -> None:
        cmd = "fade.resume" if bot.get("paused") else "fade.pause"
        r = await self.arenad.command(cmd, bot_id=str(bot.get("bot_id")))
        if r is not None:
            self.notify(f"{bot.get('bot_id')}: {'resumed' if cmd == 'fade.resume' else 'paused'}")
            self.reload()

    def action_refresh(self) -> None:
        self.reload()
