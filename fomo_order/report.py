"""Compare streams: per-stream summaries and one figure with a row per stream.

Each row shows the dataset composition of every task (stacked bars, one stable colour per dataset),
then, along the stream, whichever signals the inputs allow: log10 frequency of each concept,
the cosine similarity between consecutive concepts (smoothed) and the release year.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.catalog import dataset_of
from fomo_order.errors import InputError, ParameterError
from fomo_order.split import cut, tasks_sizes


@dataclass
class StreamSignals:
    """One stream and the per-concept signals along it (None where the input was not given)."""

    name: str
    title: str
    concepts: list[str]
    tasks: list[list[str]]
    counts: np.ndarray | None = None
    consecutive_similarity: np.ndarray | None = None
    years: np.ndarray | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def stream_title(path: Path, meta: Mapping[str, Any] | None) -> str:
    if not meta or "strategy" not in meta:
        return path.stem
    parts = [str(meta["strategy"])]
    parameters = meta.get("parameters")
    if not isinstance(parameters, Mapping):  # a meta of another shape: the title says what it can
        parameters = {}
    if "within_year" in parameters:
        parts.append(f"within-year {parameters['within_year']}")
    if parameters.get("start_rank") is not None:
        parts.append(f"start rank {parameters['start_rank']}")
    if parameters.get("start") is not None:
        parts.append(f"start {parameters['start']}")
    if parameters.get("refine") not in (None, "none"):
        parts.append(f"refine {parameters['refine']}")
    if meta.get("reverse"):
        parts.append("reversed")
    parts.append(f"seed {meta.get('seed', 0)}")
    return f"{path.stem}: " + ", ".join(parts)


def spearman(values: np.ndarray) -> float | None:
    """Spearman correlation of position in the stream with ``values`` (ties get average ranks)."""
    if len(values) < 2 or np.all(values == values[0]):
        return None
    from scipy.stats import spearmanr

    return float(spearmanr(np.arange(len(values)), values).statistic)


def stream_signals(
    name: str,
    title: str,
    concepts: list[str],
    tasks: int,
    counts: np.ndarray | None,
    embeddings: np.ndarray | None,
    years: Mapping[str, int] | None,
    source_years: str | Path | None = None,
) -> StreamSignals:
    """Compute the per-concept signals and the summary of one stream (inputs already matched by id)."""
    sizes = tasks_sizes(len(concepts), min(tasks, len(concepts)))
    task_lists = cut(concepts, sizes)
    signals = StreamSignals(name=name, title=title, concepts=concepts, tasks=task_lists)
    datasets_per_task = [len({dataset_of(c) for c in task}) for task in task_lists]
    summary: dict[str, Any] = {
        "concepts": len(concepts),
        "tasks": len(task_lists),
        "datasets_per_task": {
            "min": int(min(datasets_per_task)),
            "median": float(np.median(datasets_per_task)),
            "max": int(max(datasets_per_task)),
        },
    }
    if embeddings is not None:
        # rows are unit vectors: the dot product of neighbours is their cosine similarity
        similarity = np.einsum("ij,ij->i", embeddings[:-1], embeddings[1:]).astype(np.float64)
        signals.consecutive_similarity = similarity
        summary["path_weight"] = float(np.sum(1.0 - similarity))
    if counts is not None:
        signals.counts = counts
        summary["spearman_frequency"] = spearman(counts)
    if years is not None:
        missing = sorted({dataset_of(c) for c in concepts} - set(years))
        if missing:
            raise InputError(source_years, f"no year for {len(missing)} dataset(s) of {name}: {', '.join(missing)}")
        signals.years = np.array([years[dataset_of(c)] for c in concepts], dtype=np.float64)
        summary["spearman_year"] = spearman(signals.years)
    signals.summary = summary
    return signals


def dataset_colours(datasets: Sequence[str]) -> dict[str, tuple[float, float, float, float]]:
    """A stable colour per dataset: datasets sorted by name, spread over qualitative colour maps."""
    from matplotlib import colormaps

    palette = [*colormaps["tab20"].colors, *colormaps["tab20b"].colors, *colormaps["tab20c"].colors]
    names = sorted(set(datasets))
    return {name: (*palette[i % len(palette)], 1.0) for i, name in enumerate(names)}


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def compare_streams(
    streams: Sequence[str | Path],
    *,
    tasks: int = 20,
    frequencies: str | Path | None = None,
    embeddings: str | Path | None = None,
    years: str | Path | None = None,
    catalog: str | Path | None = None,
) -> list[StreamSignals]:
    """Read each stream (and its meta, for the title) and compute its signals and summary.

    ``frequencies`` and ``embeddings`` are the files ``order`` reads, matched by concept id; release
    years come from ``catalog`` (with ``years`` adding to / overriding) or from ``years`` alone.
    """
    from fomo_order.artifacts.streams import read_meta, read_stream
    from fomo_order.catalog import load_catalog, load_years

    if tasks < 1:
        raise ParameterError("tasks", f"must be at least 1, got {tasks}")
    year_map, years_source = None, years
    if catalog is not None:
        year_map = {d.name: d.year for d in load_catalog(catalog, years=years).datasets if d.year is not None}
        years_source = catalog
    elif years is not None:
        year_map = load_years(years)
    signals = []
    for stream_file in map(Path, streams):
        concepts = read_stream(stream_file)
        counts = embedded = None
        if frequencies is not None:
            from fomo_order.artifacts.freqs import read_counts

            counts = read_counts(frequencies, concepts)
        if embeddings is not None:
            from fomo_order.artifacts.embeddings import embeddings_for

            embedded = embeddings_for(embeddings, concepts)
        title = stream_title(stream_file, read_meta(stream_file))
        signals.append(
            stream_signals(stream_file.name, title, concepts, tasks, counts, embedded, year_map, years_source)
        )
    return signals


def summary_table(streams: Sequence[StreamSignals]) -> dict[str, dict[str, Any]]:
    """Each stream's summary, by file name (what ``--summary-json`` writes)."""
    return {s.name: s.summary for s in streams}


def render_report(streams: Sequence[StreamSignals]) -> tuple[bytes, Any]:
    """The comparison figure as PNG bytes, and the matplotlib Figure."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    all_datasets = sorted({dataset_of(c) for s in streams for c in s.concepts})
    colours = dataset_colours(all_datasets)
    panels = ["composition"]
    for key, attribute in (("frequency", "counts"), ("similarity", "consecutive_similarity"), ("year", "years")):
        if any(getattr(s, attribute) is not None for s in streams):
            panels.append(key)
    legend_rows = int(np.ceil(len(all_datasets) / 6))
    figure, axes = plt.subplots(
        len(streams),
        len(panels),
        figsize=(4.2 * len(panels) + 1.5, 2.6 * len(streams) + 0.2 * legend_rows + 0.4),
        squeeze=False,
        gridspec_kw={"width_ratios": [1.6] + [1] * (len(panels) - 1)},
    )
    for row, stream in enumerate(streams):
        _draw_composition(axes[row][0], stream, all_datasets, colours)
        axes[row][0].set_title(stream.title, loc="left", fontsize=9)
        for column, panel in enumerate(panels[1:], start=1):
            _draw_signal(axes[row][column], stream, panel)
    handles = [Patch(facecolor=colours[name], label=name) for name in all_datasets]
    figure.legend(handles=handles, loc="lower center", ncol=min(6, len(all_datasets)), fontsize=7, frameon=False)
    bottom = (0.2 * legend_rows + 0.3) / figure.get_figheight()
    figure.tight_layout(rect=(0, min(bottom, 0.5), 1, 1))
    buffer = io.BytesIO()
    # metadata without the matplotlib version or date keeps the PNG reproducible
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue(), figure


def _draw_composition(axis: Any, stream: StreamSignals, datasets: Sequence[str], colours: Mapping) -> None:
    from matplotlib.ticker import MaxNLocator

    counts = np.zeros((len(datasets), len(stream.tasks)))
    index = {name: i for i, name in enumerate(datasets)}
    for task, concepts in enumerate(stream.tasks):
        for concept in concepts:
            counts[index[dataset_of(concept)], task] += 1
    bottom = np.zeros(len(stream.tasks))
    positions = np.arange(1, len(stream.tasks) + 1)
    for i, name in enumerate(datasets):
        if counts[i].any():
            axis.bar(positions, counts[i], bottom=bottom, color=colours[name], width=0.9, linewidth=0)
            bottom += counts[i]
    axis.set_xlabel("task", fontsize=8)
    axis.set_ylabel("concepts", fontsize=8)
    axis.tick_params(labelsize=7)
    axis.set_xlim(0.4, len(stream.tasks) + 0.6)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))


def _plot_along(axis: Any, values: np.ndarray, points: str | None, line: str, windows: int) -> None:
    """Each value as a faint point (when ``points`` is a colour) and a moving average over len/``windows``."""
    if points is not None:
        axis.plot(values, ",", color=points, alpha=0.6)
    window = max(1, len(values) // windows)
    smoothed = smooth(values, window)
    axis.plot(np.arange(len(smoothed)) + window // 2, smoothed, color=line, linewidth=1)


def _draw_signal(axis: Any, stream: StreamSignals, panel: str) -> None:
    axis.tick_params(labelsize=7)
    axis.set_xlabel("position in stream", fontsize=8)
    if panel == "frequency":
        axis.set_title("log10 frequency", fontsize=8)
        if stream.counts is not None:
            _plot_along(axis, np.log10(stream.counts + 1.0), "tab:blue", "black", windows=50)
    elif panel == "similarity":
        axis.set_title("cosine similarity of consecutive concepts (smoothed)", fontsize=8)
        if stream.consecutive_similarity is not None:
            _plot_along(axis, stream.consecutive_similarity, None, "tab:green", windows=100)
    elif panel == "year":
        from matplotlib.ticker import MaxNLocator

        axis.set_title("release year", fontsize=8)
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        if stream.years is not None:
            _plot_along(axis, stream.years, "tab:red", "black", windows=50)
    if not axis.lines:
        axis.text(0.5, 0.5, "not given", ha="center", va="center", transform=axis.transAxes, fontsize=8)
