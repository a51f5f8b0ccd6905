"""Progress reporting from the library to whoever runs it (the CLI draws a rich progress bar)."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def start(self, total: int, description: str, unit: str) -> None:
        """A task begins: ``total`` units (queries, bytes) of work."""

    def advance(self, amount: int) -> None:
        """``amount`` more units are done."""

    def note(self, message: str) -> None:
        """Something worth a line (a retry, a backoff)."""

    def finish(self) -> None:
        """The task is over."""


class SilentReporter:
    def start(self, total: int, description: str, unit: str) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def finish(self) -> None:
        pass
