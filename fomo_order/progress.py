"""Progress from the library to whoever runs it: one protocol for every long step.

The library reports through a :class:`Reporter` it is given (never printing itself); the CLI passes one
that draws a rich progress bar on a terminal and stays silent otherwise. A step is a *phase* with a
total of units (captions, queries, bytes, walks); ``note`` carries a line worth showing (a retry, a
backoff, a fallback).
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def start(self, total: int, description: str, unit: str) -> None:
        """A phase begins: ``total`` units of work (0 when unknown)."""

    def advance(self, amount: int) -> None:
        """``amount`` more units of the current phase are done."""

    def note(self, message: str) -> None:
        """Something worth a line."""

    def finish(self) -> None:
        """The current phase is over."""


class SilentReporter:
    """The default: reports nothing."""

    def start(self, total: int, description: str, unit: str) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def finish(self) -> None:
        pass


SILENT = SilentReporter()
