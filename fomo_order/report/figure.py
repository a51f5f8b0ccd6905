"""The comparison figure: a row per stream, a column per signal, the dataset legend beside the panels."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fomo_order.catalog import dataset_of
from fomo_order.report.palette import dataset_colours
from fomo_order.report.signals import StreamSignals

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

FORMATS = ("png", "pdf", "svg")
DEFAULT_DPI = 150
# the date, the tool and its version left out: the same inputs give the same bytes
_METADATA: dict[str, dict[str, None]] = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Creator": None, "Date": None},
}
_RC: dict[RcKeyType, Any] = {
    "text.usetex": False, "svg.hashsalt": "fomo-order", "svg.fonttype": "path", "pdf.fonttype": 42,
}
# (attribute of StreamSignals, column title, dot colour or None, line colour, windows per stream)
_SIGNALS = {
    "frequency": ("counts", "log10 frequency", "tab:blue", "black", 50),
    "similarity": ("consecutive_similarity", "cosine similarity of consecutive concepts", None, "tab:green", 100),
    "year": ("years", "release year", "tab:red", "black", 50),
}
_LEGEND_ENTRY_INCHES = 0.155  # one legend row at 7 pt
_LEGEND_CHARACTER_INCHES = 0.07  # an upper case letter at 7 pt, so the longest name is not cut off
_LEGEND_HANDLE_INCHES = 0.45  # the colour patch, the gap to the name and the gap between columns
_CAPTION_INCHES = 0.45


def datasets_in_stream_order(streams: Sequence[StreamSignals]) -> list[str]:
    """Every dataset once, in order of first appearance along the streams (the first stream first)."""
    seen: dict[str, None] = {}
    for stream in streams:
        for concept in stream.concepts:
            seen.setdefault(dataset_of(concept), None)
    return list(seen)


def signal_panels(streams: Sequence[StreamSignals]) -> list[str]:
    """The columns after the composition: each signal that at least one stream has."""
    return [key for key, spec in _SIGNALS.items() if any(getattr(s, spec[0]) is not None for s in streams)]


def draw_figure(streams: Sequence[StreamSignals]) -> Any:
    """The matplotlib Figure (Agg, not shown); texts are plain text, never mathtext."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.text import Text

    datasets = datasets_in_stream_order(streams)
    colours = dataset_colours(datasets)
    panels = signal_panels(streams)
    height = 2.3 * len(streams) + _CAPTION_INCHES + 0.3
    fit = max(1, int((height - 0.3) / _LEGEND_ENTRY_INCHES))
    legend_columns = int(np.ceil(len(datasets) / fit))
    column_width = _LEGEND_HANDLE_INCHES + _LEGEND_CHARACTER_INCHES * max(map(len, datasets), default=0)
    legend_width = max(column_width * legend_columns, 1.6) + 0.1  # 1.6: the legend's title
    width = 4.0 * (len(panels) + 1) + legend_width
    with matplotlib.rc_context(_RC):
        figure, axes = plt.subplots(
            len(streams), len(panels) + 1, figsize=(width, height), squeeze=False, sharey="col",
            gridspec_kw={"width_ratios": [1.5] + [1] * len(panels)},
        )  # fmt: skip
        for row, stream in enumerate(streams):
            _draw_composition(axes[row][0], stream, datasets, colours)
            axes[row][0].set_title(stream.title, loc="left", fontsize=9)
            for column, panel in enumerate(panels, start=1):
                _draw_signal(axes[row][column], stream, panel)
                if row == 0:
                    axes[row][column].set_title(_SIGNALS[panel][1], fontsize=9)
        for column, label in enumerate(["task", *["position in stream"] * len(panels)]):
            axes[-1][column].set_xlabel(label, fontsize=8)
        handles = [Patch(facecolor=colours[name], label=name) for name in datasets]
        right = 1 - legend_width / width
        figure.legend(
            handles=handles, loc="center left", bbox_to_anchor=(right, 0.5), ncol=legend_columns, fontsize=7,
            frameon=False, title="dataset (stream order)", title_fontsize=8, handlelength=1.2, columnspacing=0.8,
        )  # fmt: skip
        figure.text(0.005, 0.008, _caption(panels), fontsize=7, va="bottom", wrap=True)
        for text in figure.findobj(Text):  # names may hold `$`: show them, do not parse them as mathtext
            text.set_parse_math(False)
        figure.tight_layout(rect=(0, _CAPTION_INCHES / height, right, 1))
    plt.close(figure)
    return figure


def _caption(panels: Sequence[str]) -> str:
    lines = ["Bars: the concepts of each task, stacked by dataset (colours in the legend, in stream order)."]
    dotted = [(p, colour) for p in panels if (colour := _SIGNALS[p][2]) is not None]
    if dotted:
        lines.append(
            "Dots: one per concept (" + ", ".join(f"{_SIGNALS[p][1]}: {colour.removeprefix('tab:')}"
                                                 for p, colour in dotted) + ")."
        )  # fmt: skip
    if panels:
        lines.append(
            "Lines: moving average along the stream over "
            + ", ".join(f"1/{_SIGNALS[p][4]} of it ({_SIGNALS[p][1]})" for p in panels)
            + "; each signal has one y-scale in every row."
        )
    return " ".join(lines)


def render_bytes(figure: Any, format: str, dpi: int) -> bytes:
    """The figure's file bytes, the same for the same figure (no date, tool or version inside)."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format=format, dpi=dpi, metadata=_METADATA[format])
    return buffer.getvalue()


def _draw_composition(axis: Any, stream: StreamSignals, datasets: Sequence[str], colours: Mapping) -> None:
    from matplotlib.ticker import MaxNLocator

    counts = np.zeros((len(datasets), len(stream.tasks)))
    index = {name: i for i, name in enumerate(datasets)}
    for task, concepts in enumerate(stream.tasks):
        for concept in concepts:
            counts[index[dataset_of(concept)], task] += 1
    bottom = np.zeros(len(stream.tasks))
    positions = np.arange(1, len(stream.tasks) + 1)
    for i, name in enumerate(datasets):  # stacked in legend order: the first dataset at the bottom
        if counts[i].any():
            axis.bar(positions, counts[i], bottom=bottom, color=colours[name], width=0.9, linewidth=0)
            bottom += counts[i]
    axis.set_ylabel("concepts", fontsize=8)
    axis.tick_params(labelsize=7)
    axis.set_xlim(0.4, len(stream.tasks) + 0.6)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def _draw_signal(axis: Any, stream: StreamSignals, panel: str) -> None:
    from matplotlib.ticker import MaxNLocator

    attribute, _, points, line, windows = _SIGNALS[panel]
    axis.tick_params(labelsize=7)
    axis.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))  # 18,381 positions: few, legible ticks
    values = getattr(stream, attribute)
    if panel == "year":
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    if values is None:
        axis.text(0.5, 0.5, "not given", ha="center", va="center", transform=axis.transAxes, fontsize=8)
        return
    if panel == "frequency":
        values = np.log10(values + 1.0)
    if points is not None:
        axis.plot(values, ".", color=points, alpha=0.7, markersize=2.5, markeredgewidth=0)
    window = max(1, len(values) // windows)
    smoothed = smooth(values, window)
    axis.plot(np.arange(len(smoothed)) + window // 2, smoothed, color=line, linewidth=1)
