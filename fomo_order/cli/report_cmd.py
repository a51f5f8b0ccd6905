"""``fomo-order report``: one figure and a summary table comparing streams."""

from __future__ import annotations

from pathlib import Path

import typer

from fomo_order.cli import app

DEFAULT_TASKS = 20


@app.command("report", short_help="Compare streams: one figure (a row per stream) and a summary table.")
def report_command(
    streams: list[Path] = typer.Argument(
        ..., metavar="STREAM.json [STREAM2.json ...]", help="Stream files to compare.", show_default=False
    ),
    out: Path = typer.Option(..., "-o", "--output", help="PNG figure to write (one row per stream)."),
    tasks: int = typer.Option(DEFAULT_TASKS, "--tasks", min=1, help="Tasks per stream for the composition bars."),
    frequencies: Path | None = typer.Option(
        None, help="fetch-frequencies output (or a map concept id -> count): plot log10 frequency."
    ),
    embeddings: Path | None = typer.Option(
        None, help="Embeddings .npy (with its sidecar): plot the similarity of consecutive concepts."
    ),
    years: Path | None = typer.Option(None, help="JSON/YAML map dataset -> release year: plot the year."),
    catalog: Path | None = typer.Option(
        None, help="Take release years from this catalog (--years then adds to / overrides them)."
    ),
    summary_json: Path | None = typer.Option(
        None, "--summary-json", help="Also write the summary table as JSON to this file."
    ),
) -> None:
    """Draw REPORT.png (a row per stream: dataset composition per task, then log10 frequency,
    consecutive cosine similarity and release year along the stream) and print a summary table:
    concepts, tasks, datasets per task, path weight, Spearman correlation of position with frequency
    and with year."""
    from fomo_order.catalog import load_years
    from fomo_order.fileio import dumps_json, read_json, write_bytes_atomic
    from fomo_order.report import draw_report, stream_signals, stream_title
    from fomo_order.streams import meta_path, read_stream

    year_map, years_source = None, years
    if catalog is not None:
        from fomo_order.catalog import load_catalog

        year_map = {d.name: d.year for d in load_catalog(catalog, years=years).datasets if d.year is not None}
        years_source = catalog
    elif years is not None:
        year_map = load_years(years)
    signals = []
    for stream_file in streams:
        concepts = read_stream(stream_file)
        meta_file = meta_path(stream_file)
        meta = read_json(meta_file) if meta_file.is_file() else None
        counts = embedded = None
        if frequencies is not None:
            from fomo_order.artifacts.freqs import read_counts

            counts = read_counts(frequencies, concepts)
        if embeddings is not None:
            from fomo_order.embeddings import embeddings_for

            embedded = embeddings_for(embeddings, concepts)
        title = stream_title(stream_file, meta)
        signals.append(
            stream_signals(stream_file.name, title, concepts, tasks, counts, embedded, year_map, years_source)
        )
    draw_report(signals, out)
    _print_summary(signals)
    if summary_json is not None:
        write_bytes_atomic(
            summary_json, dumps_json({s.name: s.summary for s in signals}).encode("utf-8")
        )


def _print_summary(signals: list) -> None:
    from rich.console import Console
    from rich.table import Table

    def number(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    table = Table(title="streams (datasets/task: min/median/max; ρ: Spearman of position with frequency, year)")
    # ρ: Spearman correlation of position in the stream with frequency / release year
    for column in ("stream", "concepts", "tasks", "datasets/task", "path weight", "ρ freq", "ρ year"):
        table.add_column(column, justify="left" if column == "stream" else "right")
    for stream in signals:
        s = stream.summary
        per_task = s["datasets_per_task"]
        table.add_row(
            stream.name,
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
