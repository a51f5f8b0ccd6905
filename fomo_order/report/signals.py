"""What the report shows of each stream: its tasks and the per-concept signals along it, and a summary."""

from __future__ import annotations

import re
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

    def __repr__(self) -> str:
        return f"StreamSignals({self.name!r}, {len(self.concepts)} concepts, {len(self.tasks)} tasks)"


@dataclass
class Comparison:
    """The streams to compare, their signals, and the input files they came from (for the meta)."""

    streams: list[StreamSignals]
    tasks: int
    input_files: dict[str, list[Path] | Path] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Each stream's summary, by file name (what ``--summary-json`` writes)."""
        return {s.name: s.summary for s in self.streams}

    def __repr__(self) -> str:
        return f"Comparison({len(self.streams)} streams: {', '.join(s.name for s in self.streams)})"


def _words(text: str) -> set[str]:
    return {word for word in re.split(r"[^a-z]+|(?<=[a-z])(?=\d)", text.lower()) if word} | set(
        re.findall(r"\d+", text)
    )


def stream_title(path: Path, meta: Mapping[str, Any] | None) -> str:
    """The file's stem, then what the meta says that the stem does not already (no ``time: time``)."""
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
    if meta.get("reverse") is True:
        parts.append("reversed")
    parts.append(f"seed {meta.get('seed', 0)}")
    stem_words = _words(path.stem)
    new = [part for part in parts if not _words(part) <= stem_words]
    return f"{path.stem}: " + ", ".join(new) if new else path.stem


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


def compare_streams(
    streams: Sequence[str | Path],
    *,
    tasks: int = 20,
    frequencies: str | Path | None = None,
    embeddings: str | Path | None = None,
    years: str | Path | None = None,
    catalog: str | Path | None = None,
) -> Comparison:
    """Read each stream (and its meta, for the title) and compute its signals and summary.

    ``frequencies`` and ``embeddings`` are the files ``order`` reads, matched by concept id; release
    years come from ``catalog`` (with ``years`` adding to / overriding) or from ``years`` alone.
    :func:`fomo_order.render_report` draws the result.
    """
    from fomo_order.artifacts.streams import read_meta, read_stream
    from fomo_order.catalog import load_catalog, load_years

    if isinstance(tasks, bool) or not isinstance(tasks, (int, np.integer)) or tasks < 1:
        raise ParameterError("tasks", f"must be an integer of at least 1, got {tasks!r}")
    if not streams:
        raise ParameterError("streams", "give at least one stream file")
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
            from fomo_order.artifacts.freqs import read_frequencies

            counts = read_frequencies(frequencies, concepts)
        if embeddings is not None:
            from fomo_order.artifacts.embeddings import embeddings_for

            embedded = embeddings_for(embeddings, concepts)
        title = stream_title(stream_file, read_meta(stream_file))
        signals.append(
            stream_signals(stream_file.name, title, concepts, int(tasks), counts, embedded, year_map, years_source)
        )
    given = {"frequencies": frequencies, "embeddings": embeddings, "catalog": catalog, "years": years}
    input_files: dict[str, list[Path] | Path] = {"streams": [Path(s) for s in streams]}
    input_files.update({name: Path(value) for name, value in given.items() if value is not None})
    return Comparison(streams=signals, tasks=int(tasks), input_files=input_files)
