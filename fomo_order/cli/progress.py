"""The CLI's :class:`~fomo_order.progress.Reporter`: a rich progress bar on stderr when it is a terminal."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from fomo_order.cli import console


class RichReporter:
    """Draws each phase as a transient bar with its rate; notes go to stderr as plain lines.

    Silent (notes included only when ``quiet``) when stderr is not a terminal, so logs and CI output
    stay clean; notes still print there, since they say something the user should know.
    """

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.show_bars = console.is_terminal and not quiet
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: int, description: str, unit: str) -> None:
        self.finish()
        if not self.show_bars:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit, markup=False),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total or None)

    def advance(self, amount: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, amount)

    def note(self, message: str) -> None:
        if not self.quiet:
            console.print(Text(message))

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
