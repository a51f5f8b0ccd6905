"""Errors that the CLI turns into one line and an exit code, never a traceback."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

EXIT_OK = 0
EXIT_CHECK_DIFFERS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class FomoOrderError(Exception):
    """Base class: carries the exit code the CLI should use."""

    exit_code = EXIT_BAD_INPUT


class InputError(FomoOrderError):
    """Bad input: a file (or option) and what is wrong with it.

    ``str(error)`` is the one line the user sees: ``<source>: <problem>``.
    """

    def __init__(self, source: str | Path | None, problem: str) -> None:
        self.source = None if source is None else str(source)
        self.problem = problem
        super().__init__(problem if self.source is None else f"{self.source}: {problem}")


class CheckFailed(FomoOrderError):  # noqa: N818  (a verdict, not a fault)
    """``--check`` found that an output file is missing or out of date."""

    exit_code = EXIT_CHECK_DIFFERS


class ParameterError(InputError):
    """A bad value of a library parameter, named as the library names it (``start_rank``).

    The library never speaks in command-line flags; the CLI shows ``parameter`` as its flag
    (``--start-rank``) at the edge, with the same problem text.

    ``mentions`` names other parameters that ``problem`` refers to as ``{name}`` fields, so that the CLI
    can word them as flags too (``"give {start} or {start_rank}, not both"``).
    """

    def __init__(self, parameter: str, problem: str, *, mentions: Sequence[str] = ()) -> None:
        self.parameter = parameter
        self.template = problem
        self.mentions = tuple(mentions)
        super().__init__(parameter, self.worded(str))

    def worded(self, name_of: Callable[[str], str]) -> str:
        """The problem with each mentioned parameter named by ``name_of`` (the CLI passes its flag names)."""
        if not self.mentions:
            return self.template
        return self.template.format_map({name: name_of(name) for name in self.mentions})


class Interrupted(FomoOrderError):  # noqa: N818  (an event, not a fault)
    """Ctrl-C: ``str(error)`` is the one line, saying what was kept."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, kept: str = "nothing was written or replaced") -> None:
        super().__init__(f"interrupted: {kept}")
