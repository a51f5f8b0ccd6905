"""``fomo-order report``: one figure and a summary table comparing streams."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from fomo_order.cli.app import app, command_line
from fomo_order.cli.options import Check, Years, flag, output

DEFAULT_TASKS = 20
DEFAULT_DPI = 150  # fomo_order.report.DEFAULT_DPI (not imported: matplotlib stays out of --help)


class FigureFormat(str, Enum):
    png = "png"
    pdf = "pdf"
    svg = "svg"


@app.command("report", short_help="Compare streams: one figure (a row per stream) and a summary table.")
def report_command(
    ctx: typer.Context,
    streams: Annotated[
        list[Path],
        typer.Argument(metavar="STREAM.json [STREAM2.json ...]", help="Stream files to compare.", show_default=False),
    ],
    out: Annotated[
        Path,
        output("Figure to write (.png, .pdf or .svg; a row per stream), REPORT.meta.json beside it; - for stdout."),
    ],
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
    figure_format: Annotated[
        FigureFormat | None,
        typer.Option("--format", help="Figure format (default: from the extension of -o; PNG for -o -)."),
    ] = None,
    dpi: Annotated[int, typer.Option("--dpi", min=10, max=2400, help="Resolution of the PNG (dots per inch).")] = (
        DEFAULT_DPI
    ),
    check: Check = False,
    quiet: Annotated[bool, flag("--quiet", "-q", help="No summary table.")] = False,
) -> None:
    """Draw REPORT.png (or .pdf/.svg; a row per stream: dataset composition per task, then log10
    frequency, consecutive cosine similarity and release year along the stream), write REPORT.meta.json
    (inputs with sha256, parameters) and print a summary table: concepts, tasks, datasets per task,
    path weight, Spearman correlation of position with frequency and with year. `--check` compares
    the figure, the summary JSON and the meta with what would be written."""
    from fomo_order.report import compare_streams, render_report

    comparison = compare_streams(
        streams, tasks=tasks, frequencies=frequencies, embeddings=embeddings, years=years, catalog=catalog
    )
    report = render_report(
        comparison,
        out=out,
        format=None if figure_format is None else figure_format.value,
        dpi=dpi,
        summary_json=summary_json,
        argv=command_line(ctx, leave_out=("check", "quiet")),
    )
    report.write(out, check=check)
    if not quiet:
        _print_summary(comparison.streams, to_stderr=str(out) == "-")


def _print_summary(signals: list, *, to_stderr: bool = False) -> None:
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
    console = Console(highlight=False, stderr=to_stderr)  # stdout may carry the figure (-o -)
    console.width = max(console.width, 110)  # keep the seven columns readable when piped
    console.print(table)
