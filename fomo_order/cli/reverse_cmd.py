"""``fomo-order reverse``: a stream's exact reversal, from the stream file itself (no second search)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fomo_order.cli.app import app, command_line, console
from fomo_order.cli.options import Check, Quiet, output


@app.command("reverse", short_help="Write the exact reversal of a stream file.")
def reverse_command(
    ctx: typer.Context,
    stream_file: Annotated[
        Path,
        typer.Argument(metavar="STREAM.json", help="Stream file to reverse; `-` for standard input.",
                       show_default=False),
    ],
    out: Annotated[Path, output("Stream file to write; `-` for standard output.")],
    check: Check = False,
    quiet: Quiet = False,
) -> None:
    """Write STREAM.json backwards: the same bytes as `order ... --reverse` with the same inputs.

    The meta keeps the forward stream's strategy, seed and parameters (with `reverse` flipped) and records
    the forward stream's sha256, so a reversed similarity stream needs no second search.
    """
    from fomo_order.orderings.api import reverse_stream

    stream = reverse_stream(str(stream_file), argv=command_line(ctx, leave_out=("check", "quiet")))
    stream.write(out, check=check)
    if not quiet:
        verb = "went to standard output (no meta)" if str(out) == "-" else "is current" if check else "written"
        console.print(Text(f"{out}: reversal of {stream_file} ({len(stream.concept_ids)} concepts) {verb}"))
