"""The command-line interface: a thin Typer layer that parses, calls the library and prints.

:mod:`fomo_order.cli.app` holds the Typer app and the helpers that command modules share; each command
lives in a ``<command>_cmd`` module that registers itself on the app; :mod:`fomo_order.cli.runner` imports
them all and runs the app. Heavy libraries (torch, open_clip, numba, matplotlib, elasticsearch) are
imported inside the commands that need them, so ``fomo-order --help`` stays instant.

This module stays light: :func:`main` is the console script, so that a Ctrl-C while the CLI's own modules
load (Typer, rich, the command modules: half a second on a busy machine) is the same one line and exit
130 as a Ctrl-C later, never a traceback.
"""

from __future__ import annotations

from fomo_order.cli.interrupt import INTERRUPTED, interrupted

__all__ = ["INTERRUPTED", "interrupted", "main"]

def main(argv: list[str] | None = None) -> None:
    """Run ``fomo-order``."""
    try:
        from fomo_order.cli.runner import main as run
    except KeyboardInterrupt:
        interrupted()
    try:
        run(argv)
    except KeyboardInterrupt:  # between the command's end and the exit
        interrupted()
