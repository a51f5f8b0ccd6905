"""Concept frequencies: how often each concept's query occurs in a pretraining corpus (C4, as the paper).

Sources, registered in :mod:`~fomo_order.frequencies.sources` by the modules that implement them:
``wimbd`` (Elasticsearch, WIMBD's ``c4`` index: documents), ``infinigram`` (the public infini-gram API:
n-gram occurrences), ``corpus`` (local C4-style files: documents or occurrences) and ``wordfreq`` (an
offline estimate, not C4). See :func:`fetch_frequencies`; the FREQS.json format is
:mod:`fomo_order.artifacts.freqs`.
"""

from fomo_order.frequencies.fetch import FetchFailed, FetchOptions, FetchSummary, Frequencies, fetch_frequencies
from fomo_order.frequencies.queries import CaseMode, build_queries, load_query_overrides, render_query
from fomo_order.frequencies.sources import SOURCES, CountKind, FrequencySource, Source, get_source, register

# Importing the modules registers their sources, in the order the README lists them.
from fomo_order.frequencies import wimbd  # noqa: F401  isort: skip
from fomo_order.frequencies import infinigram  # noqa: F401  isort: skip
from fomo_order.frequencies import corpus  # noqa: F401  isort: skip
from fomo_order.frequencies import wordfreq_source  # noqa: F401  isort: skip

__all__ = [
    "SOURCES",
    "CaseMode",
    "CountKind",
    "FetchFailed",
    "FetchOptions",
    "FetchSummary",
    "Frequencies",
    "FrequencySource",
    "Source",
    "build_queries",
    "fetch_frequencies",
    "get_source",
    "load_query_overrides",
    "register",
    "render_query",
]
