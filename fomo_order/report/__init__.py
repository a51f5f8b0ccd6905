"""Compare streams: per-stream summaries and one figure with a row per stream.

Each row shows the dataset composition of every task (stacked bars, one stable colour per dataset),
then, along the stream, whichever signals the inputs allow: log10 frequency of each concept,
the cosine similarity between consecutive concepts (smoothed) and the release year.
``compare_streams(...)`` reads the streams and computes the signals; ``render_report(comparison)``
draws them as a :class:`Report` that writes itself (``report.write(path)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fomo_order.report.figure import DEFAULT_DPI, FORMATS, datasets_in_stream_order, smooth
from fomo_order.report.palette import MIN_DELTA_E_41, PALETTE, dataset_colours, min_delta_e
from fomo_order.report.result import Report, format_of, render_report, report_meta_path
from fomo_order.report.signals import Comparison, StreamSignals, compare_streams, spearman, stream_signals, stream_title

__all__ = [
    "DEFAULT_DPI",
    "FORMATS",
    "MIN_DELTA_E_41",
    "PALETTE",
    "Comparison",
    "Report",
    "StreamSignals",
    "compare_streams",
    "dataset_colours",
    "datasets_in_stream_order",
    "format_of",
    "min_delta_e",
    "render_report",
    "report_meta_path",
    "smooth",
    "spearman",
    "stream_signals",
    "stream_title",
    "summary_table",
]


def summary_table(streams: Comparison | Sequence[StreamSignals]) -> dict[str, dict[str, Any]]:
    """Each stream's summary, by file name (what ``--summary-json`` writes)."""
    signals = streams.streams if isinstance(streams, Comparison) else streams
    return {s.name: s.summary for s in signals}
