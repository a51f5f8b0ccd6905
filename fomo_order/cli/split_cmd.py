"""``fomo-order split``: cut a stream into tasks."""

from __future__ import annotations

from pathlib import Path

import typer

from fomo_order.cli import app, command_line, console
from fomo_order.errors import InputError


@app.command("split", short_help="Cut a stream into tasks (FoMo-in-Flux and Continuum rules).")
def split_command(
    ctx: typer.Context,
    stream_file: Path = typer.Argument(..., metavar="STREAM.json", help="Stream file from `fomo-order order`."),
    out: Path = typer.Option(..., "-o", "--output", help="Tasks file to write (JSON list of lists of concept ids)."),
    tasks: int | None = typer.Option(None, "--tasks", help="T tasks: N // T each, the first N % T one more."),
    increment: int | None = typer.Option(None, "--increment", help="K concepts per task (Continuum)."),
    initial_increment: int | None = typer.Option(
        None, "--initial-increment", help="With --increment: K0 concepts in the first task."
    ),
    increments: str | None = typer.Option(None, "--increments", help="Explicit task sizes K1,K2,... summing to N."),
    by_dataset: bool = typer.Option(
        False, "--by-dataset", help="A new task at each first appearance of a dataset (FoMo-in-Flux)."
    ),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 0 if OUT (and its meta) are current, 1 if not."
    ),
) -> None:
    """Cut STREAM.json into tasks; give exactly one of --tasks, --increment, --increments, --by-dataset.

    Writes OUT (a JSON list of lists of concept ids) and OUT's .meta.json. With --increment the concepts
    after the initial increment must divide evenly, as in Continuum's ClassIncremental: a remainder is
    an error (use --increments or --tasks for unequal tasks).
    """
    from fomo_order import split as rules
    from fomo_order.streams import base_meta, emit, input_record, read_stream

    modes = [
        name
        for name, value in (
            ("--tasks", tasks),
            ("--increment", increment),
            ("--increments", increments),
            ("--by-dataset", by_dataset or None),
        )
        if value is not None
    ]
    if len(modes) != 1:
        raise InputError(
            "split", "give exactly one of --tasks, --increment, --increments, --by-dataset"
            + (f" (got {', '.join(modes)})" if modes else "")
        )
    if initial_increment is not None and increment is None:
        raise InputError("--initial-increment", "only goes with --increment")

    stream = read_stream(stream_file)
    n = len(stream)
    if tasks is not None:
        sizes, parameters = rules.tasks_sizes(n, tasks), {"mode": "tasks", "tasks": tasks}
    elif increment is not None:
        sizes = rules.increment_sizes(n, increment, initial_increment or 0)
        parameters = {"mode": "increment", "increment": increment, "initial_increment": initial_increment or 0}
    elif increments is not None:
        try:
            sizes_given = [int(part) for part in increments.split(",")]
        except ValueError:
            raise InputError("--increments", f"expected comma-separated integers, got {increments!r}") from None
        sizes, parameters = rules.increments_sizes(n, sizes_given), {"mode": "increments", "increments": sizes_given}
    else:
        sizes, parameters = rules.by_dataset_sizes(stream), {"mode": "by-dataset"}

    task_lists = rules.cut(stream, sizes)
    meta = base_meta(
        "split",
        argv=command_line(ctx),
        parameters=parameters,
        concepts=n,
        tasks=len(task_lists),
        task_sizes=sizes,
        inputs={"stream": input_record(stream_file)},
    )
    emit(out, task_lists, meta, check)
    verb = "is current" if check else "written"
    console.print(f"{out}: {len(task_lists)} tasks of {min(sizes)}-{max(sizes)} concepts {verb}")
