"""The registry of frequency sources: what each counts, its defaults, the options it takes, its counting function.

A source is one function ``count(request) -> Counted`` registered with :func:`register`, next to its
implementation (``wimbd``, ``infinigram``, ``corpus``, ``wordfreq_source``); importing
:mod:`fomo_order.frequencies` registers them all. ``fetch_frequencies`` checks the options against the
source's declaration, builds the queries, calls its function and writes the meta from what it declares,
without knowing which source it runs.

The choices a caller makes (:class:`Source`, :class:`CountKind`, and ``queries.CaseMode``) are ``str``
enums declared here once; the CLI uses them as its option types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from fomo_order.errors import ParameterError
from fomo_order.progress import Reporter


class Source(str, Enum):
    """Where counts come from."""

    wimbd = "wimbd"  # WIMBD's Elasticsearch index of C4 (the paper's): documents
    infinigram = "infinigram"  # the public infini-gram API: n-gram occurrences
    corpus = "corpus"  # local C4-style files: documents or occurrences
    wordfreq = "wordfreq"  # an offline estimate from the wordfreq package, not C4


class CountKind(str, Enum):
    """What a count counts, where a source can count more than one thing."""

    documents = "documents"  # documents holding the phrase at least once (WIMBD's count)
    occurrences = "occurrences"  # every position where the phrase starts


# Options only some sources take: a value given for any other source is refused.
SOURCE_OPTIONS = ("es_url", "es_config", "api_url", "case", "corpus")


@dataclass
class CountRequest:
    """What a source's counting function is asked: the distinct queries and the resolved options."""

    queries: list[str]
    index: str | None  # the source's default when none was given; None for a source without indices
    count: str  # the count kind (the source's default when none was given)
    options: Any  # the FetchOptions of the run (source-specific fields: es_url, api_url, case, corpus, ...)
    reporter: Reporter
    offline: bool = False  # answer from the cache and local files only: ask no server
    notes: list[str] = field(default_factory=list)  # lines for the run's summary, added by the function


@dataclass
class Counted:
    """A counting function's answer: every query's count, and what the meta and the summary say about it."""

    counts: dict[str, int]
    facts: dict[str, Any] = field(default_factory=dict)  # meta entries after ``counts_are`` (endpoint, ...)
    from_cache: int = 0
    fetched: int = 0
    requests: int = 0


@dataclass(frozen=True)
class FrequencySource:
    name: Source
    summary: str
    count: Callable[[CountRequest], Counted]
    # The count kinds ``count=`` may ask for, the default first; empty: the source's own kind, ``records``.
    count_kinds: tuple[CountKind, ...]
    # Why another count kind is refused (no flag syntax: the CLI names the flag).
    count_refusal: str
    # What the meta says the counts are, given the request (the count kind, infini-gram's case mode).
    counts_are: Callable[[CountRequest], str]
    default_index: str | None = None  # None: the source takes no ``index``
    index_refusal: str = ""
    records: str | None = None  # the meta's ``count`` where ``count_kinds`` is empty
    options: frozenset[str] = frozenset()  # which of SOURCE_OPTIONS it takes
    requires: Mapping[str, str] = field(default_factory=dict)  # option -> problem when it is not given

    def count_kind(self, asked: str | None) -> str:
        """The count kind of a run that asked for ``asked`` (None: the default), or ParameterError."""
        if asked is not None and asked not in tuple(CountKind):
            kinds = " or ".join(kind.value for kind in CountKind)
            raise ParameterError("count", f"unknown count kind {asked!r} ({kinds})")
        if asked is not None and asked not in self.count_kinds:
            raise ParameterError("count", self.count_refusal)
        if asked is not None:
            return CountKind(asked).value
        return self.count_kinds[0].value if self.count_kinds else str(self.records)


SOURCES: dict[str, FrequencySource] = {}


def register(
    name: Source,
    summary: str,
    *,
    count_kinds: tuple[CountKind, ...],
    count_refusal: str,
    counts_are: Callable[[CountRequest], str] | str,
    default_index: str | None = None,
    index_refusal: str = "",
    records: str | None = None,
    options: tuple[str, ...] = (),
    requires: Mapping[str, str] | None = None,
) -> Callable[[Callable[[CountRequest], Counted]], Callable[[CountRequest], Counted]]:
    """Register ``count(request) -> Counted`` as the source ``name``."""
    unknown = set(options) - set(SOURCE_OPTIONS)
    if unknown:
        raise ValueError(f"unknown source options {sorted(unknown)}")
    wording = counts_are if callable(counts_are) else (lambda request, text=counts_are: text)

    def decorate(func: Callable[[CountRequest], Counted]) -> Callable[[CountRequest], Counted]:
        SOURCES[Source(name).value] = FrequencySource(
            name=Source(name),
            summary=summary,
            count=func,
            count_kinds=count_kinds,
            count_refusal=count_refusal,
            counts_are=wording,
            default_index=default_index,
            index_refusal=index_refusal or f"is not used by the {Source(name).value} source",
            records=records,
            options=frozenset(options),
            requires=dict(requires or {}),
        )
        return func

    return decorate


def get_source(name: str | Source) -> FrequencySource:
    """The registered source ``name``, or ParameterError naming the choices."""
    key = name.value if isinstance(name, Source) else name
    if key not in SOURCES:
        raise ParameterError("source", f"unknown source {key!r} (choose from {', '.join(SOURCES)})")
    return SOURCES[key]


def owner_of(option: str) -> str:
    """The source(s) that take a source-specific option, for messages."""
    return " or ".join(name for name, source in SOURCES.items() if option in source.options)
