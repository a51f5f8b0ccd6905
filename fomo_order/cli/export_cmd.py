"""``fomo-order export``: a tasks file as Continuum's or Avalanche's keyword arguments, with integer labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fomo_order.cli.app import app, command_line, console
from fomo_order.cli.options import Check, flag, output


@app.command("export", short_help="Write a tasks file as Continuum's or Avalanche's arguments, with labels.")
def export_command(
    ctx: typer.Context,
    tasks_file: Annotated[
        str,
        typer.Argument(
            metavar="TASKS.json", help="Tasks file from `fomo-order split` (`-`: standard input).", show_default=False
        ),
    ],
    to: Annotated[str, typer.Option("--to", help="Target library: continuum or avalanche.", show_default=False)],
    out: Annotated[str, output("File to write (JSON: the library's keyword arguments and `labels`; `-`: stdout).")],
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="JSON list of concept ids whose index is the label (your dataset's order)."),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="Number the labels in this catalog's order (default: the tasks' catalog)."),
    ] = None,
    check: Check = False,
    quiet: Annotated[bool, flag("--quiet", "-q", help="No summary line; errors only.")] = False,
) -> None:
    """Export TASKS.json for Continuum (`ClassIncremental(dataset, **kwargs)`) or Avalanche
    (`nc_benchmark(train, test, task_labels=False, **kwargs)`).

    OUT holds the keyword arguments (`class_order` and `increment`, or `fixed_class_order`, `n_experiences`
    and `per_exp_classes`) and `labels` (concept id -> label), and OUT's .meta.json is written beside it.
    Labels follow --labels, else the catalog's order (the datasets' class lists concatenated): --catalog's,
    or that of the catalog the tasks' stream was ordered from (found through their meta files).
    """
    from fomo_order.export import export_tasks

    result = export_tasks(tasks_file, to, labels=labels, catalog=catalog, argv=command_line(ctx, ("check", "quiet")))
    result.write(out, check=check)
    if quiet:
        return
    if out == "-":
        console.print("note: the export went to standard output; its meta was not written", markup=False)
    else:
        verb = "is current" if check else "written"
        sizes = result.meta["task_sizes"]
        console.print(
            Text(f"{out}: {to} arguments for {len(sizes)} tasks of {min(sizes)}-{max(sizes)} concepts {verb}")
        )
