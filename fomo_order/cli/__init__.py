"""The command-line interface: a thin Typer layer that parses, calls the library and prints.

Each command lives in a module of its own that registers itself on :data:`app`. Heavy libraries
(torch, open_clip, numba, matplotlib, elasticsearch) are imported inside the commands that need them,
so ``fomo-order --help`` stays instant.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

from fomo_order import __version__
from fomo_order.errors import FomoOrderError

app = typer.Typer(
    name="fomo-order",
    help="Make FoMo-in-Flux concept streams: order the concepts of many datasets and cut them into tasks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
CATALOG_HELP = "Catalog file (YAML/JSON) or a directory of FoMo-in-Flux `<DATASET>.json` lists."
console = Console(stderr=True, highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        print(f"fomo-order {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Make FoMo-in-Flux concept streams: order the concepts of many datasets and cut them into tasks."""


def fail(error: FomoOrderError) -> None:
    """Print one line (no traceback) and exit with the error's code."""
    console.print(Text.assemble(("error: ", "bold red"), str(error)), soft_wrap=True)
    raise SystemExit(error.exit_code)


def dataset_names(option: str | None) -> list[str] | None:
    """``--datasets A,B,...`` as a list of names (None: keep all)."""
    names = [name.strip() for name in option.split(",") if name.strip()] if option else []
    return names or None


def command_line(ctx: typer.Context, leave_out: tuple[str, ...] = ("check",)) -> list[str]:
    """The invoked command as canonical arguments (given values only, long flags, fixed order).

    Recorded in meta files so that an artifact says how to make it again, and so that a check
    (CI, the test of the committed demo streams) can re-run exactly that command with ``--check``.
    """
    args = [ctx.info_name or ""]
    for param in ctx.command.params:
        if param.name in leave_out or param.name is None:
            continue
        value = ctx.params.get(param.name)
        is_argument = param.param_type_name == "argument"
        if value is None or (not is_argument and value == param.default):
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        values = [getattr(v, "value", v) for v in values]
        if is_argument:
            args.extend(str(v) for v in values)
        elif getattr(param, "is_flag", False):
            args.append(max(param.opts, key=len))
        else:
            for v in values:
                args.extend([max(param.opts, key=len), str(v)])
    return args


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, prog_name="fomo-order")
    except FomoOrderError as error:  # raised by a command body
        fail(error)
    # Ctrl-C needs no handler here: Typer already ends the run with exit status 130.


# Command modules register themselves on `app` when imported; keep these imports last.
from fomo_order.cli import (  # noqa: E402, F401
    catalog_cmd,
    embed_cmd,
    frequencies_cmd,
    order_cmd,
    report_cmd,
    score_cmd,
    scores_cmd,
    split_cmd,
)
