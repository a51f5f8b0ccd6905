"""The CLI's side of :mod:`fomo_order.progress`: a rich progress bar on stderr, for any command.

A command passes ``reporter(quiet)`` to the library. On a terminal it draws one transient bar per phase
(a count, or bytes for byte-sized phases) and prints notes (retries, fallbacks) at most once a second;
when stderr is not a terminal (a log, CI) it draws no bar but still prints the notes; with ``--quiet``
it reports nothing at all.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.console import Console

from fomo_order.progress import SILENT, Reporter

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

NOTE_INTERVAL_S = 1.0
NOTE_KIND_CHARS = 16  # notes that start alike are of one kind


class RichReporter:
    """Draws phases as a transient rich bar (only where someone watches) and prints notes, rate-limited."""

    def __init__(self, console: Console, draw: bool | None = None) -> None:
        self.console = console
        self.draw = console.is_terminal if draw is None else draw
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last_note = 0.0
        self._last_kind = ""
        self._suppressed = 0

    def start(self, total: int, description: str, unit: str) -> None:
        self.finish()
        if not self.draw:  # a bar only where someone watches; logs get the command's summary line
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        amount = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
        rate = () if unit == "bytes" else (rate_column(unit),)  # counted phases show their rate (images/s)
        columns = (TextColumn("{task.description}"), BarColumn(), amount, *rate, TimeRemainingColumn())
        self._progress = Progress(*columns, console=self.console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(description, total=total or None)

    def advance(self, amount: int) -> None:
        if self._progress is not None:
            assert self._task is not None  # start() sets both
            self._progress.advance(self._task, amount)

    def note(self, message: str) -> None:
        # Only a burst of notes of one kind (retries, backoffs) is thinned; a different note, such as a
        # cache warning right after "loading ...", always shows.
        now = time.monotonic()
        kind = message[:NOTE_KIND_CHARS]
        if kind == self._last_kind and now - self._last_note < NOTE_INTERVAL_S:
            self._suppressed += 1
            return
        extra = f" (+{self._suppressed} more)" if self._suppressed else ""
        self._last_note, self._last_kind, self._suppressed = now, kind, 0
        self.console.print(f"  {message}{extra}", markup=False, highlight=False)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def rate_column(unit: str) -> Any:
    """A rich progress column showing how fast the phase goes in its own unit (``12.3 images/s``)."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"{task.speed:,.1f} {unit}/s" if task.speed else "")

    return RateColumn()


def reporter(quiet: bool = False, console: Console | None = None) -> Reporter:
    """The reporter a command hands to the library: silent with ``--quiet``, else a :class:`RichReporter`."""
    if quiet:
        return SILENT
    if console is None:
        from fomo_order.cli.app import console as cli_console

        console = cli_console
    return RichReporter(console)
