"""``fomo-order split``: cut a stream into tasks (FoMo-in-Flux's and Continuum's rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fomo_order.cli.app import app, command_line, console
from fomo_order.cli.options import Check, flag, output


@app.command("split", short_help="Cut a stream into tasks (FoMo-in-Flux and Continuum rules).")
def split_command(
    ctx: typer.Context,
    stream_file: Annotated[
        Path, typer.Argument(metavar="STREAM.json", help="Stream file from `fomo-order order`.", show_default=False)
    ],
    out: Annotated[Path, output("Tasks file to write (JSON list of lists of concept ids).")],
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
) -> None:
    """Cut STREAM.json into tasks; give exactly one of --tasks, --increment, --increments, --by-dataset.

    Writes OUT (a JSON list of lists of concept ids) and OUT's .meta.json. With --increment the concepts
    after the initial increment must divide evenly, as in Continuum's ClassIncremental: a remainder is
    an error (use --increments or --tasks for unequal tasks).
    """
    from fomo_order.artifacts.meta import input_record, make_meta
    from fomo_order.artifacts.streams import read_stream, write_tasks
    from fomo_order.errors import InputError
    from fomo_order.split import split_stream

    given = [flag for flag, value in (("--tasks", tasks), ("--increment", increment), ("--increments", increments),
                                      ("--by-dataset", by_dataset or None)) if value is not None]
    if len(given) != 1:
        raise InputError(
            "split", "give exactly one of --tasks, --increment, --increments, --by-dataset"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if initial_increment is not None and increment is None:
        raise InputError("--initial-increment", "only goes with --increment")
    sizes_given = None
    if increments is not None:
        try:
            sizes_given = [int(part) for part in increments.split(",")]
        except ValueError:
            raise InputError("--increments", f"expected comma-separated integers, got {increments!r}") from None
    stream = read_stream(stream_file)
    task_lists, parameters = split_stream(
        stream,
        tasks=tasks,
        increment=increment,
        initial_increment=initial_increment,
        increments=sizes_given,
        by_dataset=by_dataset,
    )
    sizes = [len(task) for task in task_lists]
    meta = make_meta(
        "split",
        argv=command_line(ctx),
        inputs={"stream": input_record(stream_file)},
        parameters=parameters,
        concepts=len(stream),
        tasks=len(task_lists),
        task_sizes=sizes,
    )
    write_tasks(out, task_lists, meta, check)
    verb = "is current" if check else "written"
    console.print(Text(f"{out}: {len(task_lists)} tasks of {min(sizes)}-{max(sizes)} concepts {verb}"))
