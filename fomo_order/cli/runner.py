"""``fomo-order``'s entry point: registers every command on the app, runs it, and turns every failure
into one line on stderr and its exit code."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, cast

import typer
from rich.text import Text

# Importing a command module registers its command on `app`, in this order in `--help`.
from fomo_order.cli import (  # noqa: F401
    catalog_cmd,
    embed_cmd,
    export_cmd,
    fetch_frequencies_cmd,
    fif_overrides_cmd,
    order_cmd,
    proxy_scores_cmd,
    report_cmd,
    reverse_cmd,
    score_cmd,
    split_cmd,
)
from fomo_order.cli.app import app, console, fail
from fomo_order.cli.extras import extra_message, missing_extra
from fomo_order.cli.interrupt import interrupted
from fomo_order.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, FomoOrderError

if TYPE_CHECKING:
    # the class is matched by name at run time: its module is private to Typer
    from typer._click.exceptions import NoArgsIsHelpError


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: every failure ends in one line on stderr and its exit code, never a traceback."""
    # The similarity search alternates torch's OpenMP threads (tiles) with numba's (walks): threads that
    # spin while they wait take the cores from the others (7x slower lists on a busy 2-core machine).
    # Must be set before torch loads; a value the user set stays.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for command in app.registered_commands:  # a command given no arguments shows its help (exit 2)
        command.no_args_is_help = True
    try:
        code = app(args=argv, prog_name="fomo-order", standalone_mode=False)
    except FomoOrderError as error:  # raised by a command body or the library
        fail(error)
    except typer.Abort:  # Typer's name for a KeyboardInterrupt inside a command
        interrupted()
    except typer.TyperException as error:  # Typer's parsing errors (its bundled click's exception classes)
        if type(error).__name__ == "NoArgsIsHelpError":  # `fomo-order order` alone: show that command's help
            cast("NoArgsIsHelpError", error).show()
            raise SystemExit(EXIT_BAD_INPUT) from None
        context = getattr(error, "ctx", None)
        where = f" (see `{context.command_path} --help`)" if context is not None else ""
        console.print(Text.assemble(("error: ", "bold red"), error.format_message() + where), soft_wrap=True)
        raise SystemExit(getattr(error, "exit_code", EXIT_BAD_INPUT)) from None
    except KeyboardInterrupt:
        interrupted()
    except ModuleNotFoundError as error:  # a heavy library of an extra that is not installed
        found = missing_extra(sys.argv[1:] if argv is None else argv, error.name)
        if found is None:
            raise
        console.print(Text.assemble(("error: ", "bold red"), extra_message(*found)), soft_wrap=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
    if code == EXIT_INTERRUPTED:  # Typer turns a KeyboardInterrupt inside a command into a silent 130
        interrupted()
    raise SystemExit(code if isinstance(code, int) else 0)
