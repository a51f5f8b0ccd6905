"""``fomo-order split``: cut a stream into tasks (FoMo-in-Flux's and Continuum's rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fomo_order.cli.app import app, command_line, console
from fomo_order.cli.options import Check, Quiet, flag, output, parse_increments


@app.command("split", short_help="Cut a stream into tasks (FoMo-in-Flux and Continuum rules).")
def split_command(
    ctx: typer.Context,
    stream_file: Annotated[
        Path,
        typer.Argument(
            metavar="STREAM.json", help="Stream file from `fomo-order order`; `-` for standard input.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, output("Tasks file to write (JSON list of lists of concept ids); `-` for standard output.")],
    tasks: Annotated[
        int | None, typer.Option("--tasks", help="T tasks: N // T each, the first N % T one more.")
    ] = None,
    increment: Annotated[int | None, typer.Option("--increment", help="K concepts per task (Continuum).")] = None,
    initial_increment: Annotated[
        int | None, typer.Option("--initial-increment", help="With --increment: K0 concepts in the first task.")
    ] = None,
    increments: Annotated[
        str | None, typer.Option("--increments", help="Explicit task sizes K1,K2,... summing to N.")
    ] = None,
    by_dataset: Annotated[
        bool, flag("--by-dataset", help="A new task at each first appearance of a dataset (FoMo-in-Flux).")
    ] = False,
    check: Check = False,
    quiet: Quiet = False,
) -> None:
    """Cut STREAM.json into tasks; give exactly one of --tasks, --increment, --increments, --by-dataset.

    Writes OUT (a JSON list of lists of concept ids) and OUT's .meta.json. With --increment the concepts
    after the initial increment must divide evenly, as in Continuum's ClassIncremental: a remainder is
    an error (use --increments or --tasks for unequal tasks).
    """
    from fomo_order.split import split_stream

    result = split_stream(
        str(stream_file),
        tasks=tasks,
        increment=increment,
        initial_increment=initial_increment,
        increments=parse_increments(increments),
        by_dataset=by_dataset,
        argv=command_line(ctx, leave_out=("check", "quiet")),
    )
    result.write(out, check=check)
    if not quiet:
        verb = "went to standard output (no meta)" if str(out) == "-" else "is current" if check else "written"
        sizes = result.sizes
        console.print(Text(f"{out}: {len(sizes)} tasks of {min(sizes)}-{max(sizes)} concepts {verb}"))
