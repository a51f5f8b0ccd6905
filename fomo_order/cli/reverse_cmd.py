"""``fomo-order reverse``: a stream's exact reversal, from the stream file itself (no second search)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fomo_order.cli.app import app, command_line, console
from fomo_order.cli.options import Check, output


@app.command("reverse", short_help="Write the exact reversal of a stream file.")
def reverse_command(
    ctx: typer.Context,
    stream_file: Annotated[
        Path, typer.Argument(metavar="STREAM.json", help="Stream file to reverse.", show_default=False)
    ],
    out: Annotated[Path, output("Stream file to write.")],
    check: Check = False,
) -> None:
    """Write STREAM.json backwards: the same bytes as `order ... --reverse` with the same inputs.

    The meta keeps the forward stream's strategy, seed and parameters (with `reverse` flipped) and records
    the forward stream's sha256, so a reversed similarity stream needs no second search.
    """
    from fomo_order.artifacts.streams import reversed_stream, write_stream

    stream, meta = reversed_stream(stream_file, argv=command_line(ctx))
    write_stream(out, stream, meta, check)
    verb = "is current" if check else "written"
    console.print(Text(f"{out}: reversal of {stream_file} ({len(stream)} concepts) {verb}"))
