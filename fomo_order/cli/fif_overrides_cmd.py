"""``fomo-order fif-overrides``: the Hydra overrides that make FoMo-in-Flux train on a stream's tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fomo_order.cli.app import app, console
from fomo_order.cli.options import Quiet, flag, parse_increments


@app.command("fif-overrides", short_help="Print FoMo-in-Flux's Hydra overrides for a stream and a split.")
def fif_overrides_command(
    stream_file: Annotated[
        Path,
        typer.Argument(
            metavar="STREAM.json", help="Stream file to train on; `-` for standard input (with --by-dataset only).",
            show_default=False,
        ),
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
    fif_root: Annotated[
        Path | None,
        typer.Option(
            "--fif-root",
            help="--by-dataset: your FoMo-in-Flux checkout; the warnings then compare with the class lists it "
            "trains on (data_lib/00_info/<NAME>_classnames.json) instead of configs/fif/datasets.",
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Print, on one line, the overrides that make FoMo-in-Flux train on the tasks `split` makes of STREAM.json.

    `--tasks T`: `experiment.dataset.sequence=<STREAM, absolute> experiment.task.num=T`.
    `--by-dataset`: `experiment.dataset.sequence=null experiment.dataset.name=[<handles>]
    experiment.task.dataset_incremental=True`, the handles in the stream's dataset order; this route loads
    each dataset's own FoMo-in-Flux class list, and needs each dataset contiguous in the stream: a warning
    on standard error names each dataset whose FoMo-in-Flux class list differs from the stream's.
    """
    from fomo_order.artifacts.streams import read_stream
    from fomo_order.fif import FIF_CLASS_LISTS, class_list_differences, fif_overrides, shell_line

    sizes = parse_increments(increments)
    stream = read_stream(str(stream_file))
    overrides = fif_overrides(stream, str(stream_file), tasks=tasks, by_dataset=by_dataset, increment=increment,
                              increments=sizes)
    if by_dataset and not quiet:
        for difference in class_list_differences(stream, FIF_CLASS_LISTS, fif_root=fif_root):
            console.print(Text(f"warning: {difference.describe()}"))
    print(shell_line(overrides))
