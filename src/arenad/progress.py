"""Progress of long CLI work (sweeps, imports, backups) on stderr.

On a terminal: a rich progress bar (rich is already installed with Textual; imported only
then). Piped or redirected (a log, CI, `nohup`): one plain line at most every
``interval_s`` seconds and one at the end, so a log shows the work moving without a line per
step. Never on stdout, which carries the command's result (`--json`).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

NON_TTY_INTERVAL_S = 5.0


class Progress:
    def __init__(
        self,
        label: str,
        unit: str,
        *,
        stream: TextIO | None = None,
        interval_s: float = NON_TTY_INTERVAL_S,
        enabled: bool = True,
        tty: bool | None = None,
    ) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self.enabled = enabled
        self.tty = self.stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self._last_line: float | None = None
        self._bar: Any = None
        self._task: Any = None
        self._done = (0, 0)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        self._done = (done, total)
        if self.tty:
            self._update_bar(done, total)
            return
        now = time.monotonic()
        if self._last_line is None or now - self._last_line >= self.interval_s:
            self._last_line = now
            self._line(done, total)

    def _update_bar(self, done: int, total: int) -> None:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(self.unit),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream, force_terminal=True),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=total or None)
        self._bar.update(self._task, completed=done, total=total or None)

    def _line(self, done: int, total: int) -> None:
        pct = f" ({100 * done / total:.0f} %)" if total else ""
        print(
            f"{self.label}: {done}/{total} {self.unit}{pct}, "
            f"{time.monotonic() - self.started:.0f} s",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif not self.tty and self._done != (0, 0):
            self._line(*self._done)  # the final count, whenever the last line was
            self._done = (0, 0)
