"""``fomo-order report``: one figure and a summary table comparing streams."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fomo_order.cli.app import app
from fomo_order.cli.options import Check, Years, output

DEFAULT_TASKS = 20


@app.command("report", short_help="Compare streams: one figure (a row per stream) and a summary table.")
def report_command(
    streams: Annotated[
        list[Path],
        typer.Argument(metavar="STREAM.json [STREAM2.json ...]", help="Stream files to compare.", show_default=False),
    ],
    out: Annotated[Path, output("PNG figure to write (one row per stream).")],
    tasks: Annotated[int, typer.Option("--tasks", min=1, help="Tasks per stream for the composition bars.")] = (
        DEFAULT_TASKS
    ),
    frequencies: Annotated[
        Path | None,
        typer.Option(help="fetch-frequencies output (or a map concept id -> count): plot log10 frequency."),
    ] = None,
    embeddings: Annotated[
        Path | None,
        typer.Option(help="Embeddings .npy (with its sidecar): plot the similarity of consecutive concepts."),
    ] = None,
    years: Years = None,
    catalog: Annotated[
        Path | None, typer.Option(help="Take release years from this catalog (--years then adds to / overrides them).")
    ] = None,
    summary_json: Annotated[
        Path | None, typer.Option("--summary-json", help="Also write the summary table as JSON to this file.")
    ] = None,
    check: Check = False,
) -> None:
    """Draw REPORT.png (a row per stream: dataset composition per task, then log10 frequency,
    consecutive cosine similarity and release year along the stream) and print a summary table:
    concepts, tasks, datasets per task, path weight, Spearman correlation of position with frequency
    and with year. `--check` compares the PNG (and the summary JSON) with what would be written."""
    from fomo_order.fileio import check_files, dumps_json, write_files_atomic
    from fomo_order.report import compare_streams, render_report, summary_table

    signals = compare_streams(
        streams, tasks=tasks, frequencies=frequencies, embeddings=embeddings, years=years, catalog=catalog
    )
    png, _ = render_report(signals)
    files = {out: png}
    if summary_json is not None:
        files[summary_json] = dumps_json(summary_table(signals)).encode("utf-8")
    if check:
        check_files(files)
    else:
        write_files_atomic(files)
    _print_summary(signals)


def _print_summary(signals: list) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    def number(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    table = Table(title="streams (datasets/task: min/median/max; ρ: Spearman of position with frequency, year)")
    for column in ("stream", "concepts", "tasks", "datasets/task", "path weight", "ρ freq", "ρ year"):
        table.add_column(column, justify="left" if column == "stream" else "right")
    for stream in signals:
        s = stream.summary
        per_task = s["datasets_per_task"]
        table.add_row(
            Text(stream.name),
            str(s["concepts"]),
            str(s["tasks"]),
            f"{per_task['min']}/{per_task['median']:g}/{per_task['max']}",
            number(s.get("path_weight"), 1),
            number(s.get("spearman_frequency")),
            number(s.get("spearman_year")),
        )
    console = Console(highlight=False)
    console.width = max(console.width, 110)  # keep the seven columns readable when piped
    console.print(table)
