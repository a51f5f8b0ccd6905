"""Ctrl-C's one line and exit code, shared by the light console entry (:func:`fomo_order.cli.main`) and
the runner; a module of its own so that neither imports the other back."""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # as fomo_order.errors says; not imported, to keep this module light
INTERRUPTED = "error: interrupted: nothing was written or replaced"


def interrupted() -> None:
    """The one line and exit code of a Ctrl-C, at any moment."""
    try:
        sys.stderr.write(INTERRUPTED + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # stderr closed: the exit code still says it
        pass
    raise SystemExit(EXIT_INTERRUPTED)
