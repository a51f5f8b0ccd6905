"""``fomo-order fif-overrides``: the Hydra overrides that make FoMo-in-Flux train on a stream's tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fomo_order.cli.app import app
from fomo_order.cli.options import flag
from fomo_order.errors import InputError


@app.command("fif-overrides", short_help="Print FoMo-in-Flux's Hydra overrides for a stream and a split.")
def fif_overrides_command(
    stream_file: Annotated[
        Path, typer.Argument(metavar="STREAM.json", help="Stream file to train on.", show_default=False)
    ],
    tasks: Annotated[
        int | None, typer.Option("--tasks", help="T tasks, cut as `fomo-order split --tasks T` cuts them.")
    ] = None,
    by_dataset: Annotated[
        bool, flag("--by-dataset", help="One task per dataset (FoMo-in-Flux's dataset-incremental route).")
    ] = False,
    increment: Annotated[
        int | None, typer.Option("--increment", help="Refused: FoMo-in-Flux cannot express it.")
    ] = None,
    increments: Annotated[
        str | None, typer.Option("--increments", help="Refused: FoMo-in-Flux cannot express it.")
    ] = None,
) -> None:
    """Print, on one line, the overrides that make FoMo-in-Flux train on the tasks `split` makes of STREAM.json.

    `--tasks T`: `experiment.dataset.sequence=<STREAM, absolute> experiment.task.num=T`.
    `--by-dataset`: `experiment.dataset.sequence=null experiment.dataset.name=[<handles>]
    experiment.task.dataset_incremental=True`, the handles in the stream's dataset order; this route loads
    each dataset's own FoMo-in-Flux class list, and needs each dataset contiguous in the stream.
    """
    from fomo_order.artifacts.streams import read_stream
    from fomo_order.fif import fif_overrides, shell_line

    if increment is not None or increments is not None:
        given = "--increment" if increment is not None else "--increments"
        raise InputError(
            given, "FoMo-in-Flux cuts a sequence into --tasks T equal tasks or one task per dataset (--by-dataset); "
            "Continuum-style increments cannot be expressed in it"
        )
    if (tasks is None) == (not by_dataset):
        raise InputError("fif-overrides", "give exactly one of --tasks T or --by-dataset")
    stream = read_stream(stream_file)
    print(shell_line(fif_overrides(stream, stream_file, tasks=tasks, by_dataset=by_dataset)))
