"""Concept frequencies: how often each concept's query occurs in a pretraining corpus (C4, as the paper).

Sources: ``wimbd`` (Elasticsearch, WIMBD's ``c4`` index: documents), ``infinigram`` (the public infini-gram
API: n-gram occurrences), ``corpus`` (local C4-style files: documents or occurrences) and ``wordfreq`` (an
offline estimate, not C4). See :func:`fetch_frequencies`.
"""

from fomo_order.frequencies.fetch import (
    COUNT_KINDS,
    SOURCES,
    FetchFailed,
    FetchOptions,
    FetchSummary,
    fetch_frequencies,
    write_freqs,
)
from fomo_order.frequencies.queries import build_queries, load_query_overrides, render_query

__all__ = [
    "COUNT_KINDS",
    "SOURCES",
    "FetchFailed",
    "FetchOptions",
    "FetchSummary",
    "build_queries",
    "fetch_frequencies",
    "load_query_overrides",
    "render_query",
    "write_freqs",
]
