"""``fomo-order reverse``: a stream's exact reversal, from the stream file itself (no second search)."""

from __future__ import annotations

from pathlib import Path

import typer

from fomo_order.cli import app, command_line, console


@app.command("reverse", short_help="Write the exact reversal of a stream file.")
def reverse_command(
    ctx: typer.Context,
    stream_file: Path = typer.Argument(..., metavar="STREAM.json", help="Stream file to reverse.", show_default=False),
    out: Path = typer.Option(..., "-o", "--output", help="Stream file to write."),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 0 if OUT (and its meta) are current, 1 if not."
    ),
) -> None:
    """Write STREAM.json backwards: the same bytes as `order ... --reverse` with the same inputs.

    The meta keeps the forward stream's strategy, seed and parameters (with `reverse` flipped) and records
    the forward stream's sha256, so a reversed similarity stream needs no second search.
    """
    from fomo_order.streams import emit, reversed_stream

    stream, meta = reversed_stream(stream_file, argv=command_line(ctx))
    emit(out, stream, meta, check)
    verb = "is current" if check else "written"
    console.print(f"{out}: reversal of {stream_file} ({len(stream)} concepts) {verb}")
