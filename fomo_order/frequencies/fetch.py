"""The count of every concept's query from one registered source: a :class:`Frequencies` result.

:func:`fetch_frequencies` checks the options against the source's declaration (``sources.SOURCES``),
builds the queries, asks the source's counting function for the distinct ones and writes the meta from
what the source declares; it does not know which source it runs. ``result.write(path)`` writes FREQS.json
through the one artifact writer (:mod:`fomo_order.artifacts.result`); the format and its reader are
:mod:`fomo_order.artifacts.freqs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fomo_order.artifacts.freqs import count_problem, freqs_document
from fomo_order.artifacts.meta import input_record, make_meta
from fomo_order.artifacts.result import Written
from fomo_order.catalog import Catalog
from fomo_order.errors import ParameterError
from fomo_order.frequencies.queries import CaseMode, build_queries, load_query_overrides, query_templates
from fomo_order.frequencies.remote import FetchFailed
from fomo_order.frequencies.sources import SOURCE_OPTIONS, CountRequest, Source, get_source, owner_of
from fomo_order.progress import SILENT, Reporter

COMMAND = "fetch-frequencies"
DEFAULT_BATCH_SIZE = 100
MAX_TIMEOUT = 86_400.0  # a day: anything longer is a mistake (and sockets refuse huge timeouts)

__all__ = ["COMMAND", "FetchFailed", "FetchOptions", "FetchSummary", "Frequencies", "fetch_frequencies"]


@dataclass(frozen=True)
class FetchOptions:
    """How to count: the source and its options (each source takes only those it declares)."""

    source: Source | str = Source.wimbd
    index: str | None = None  # None: the source's default (wimbd: c4, infinigram: v4_c4train_llama, wordfreq: en)
    count: str | None = None  # None: the source's default count kind
    queries_file: Path | None = None  # concept id -> query overrides (JSON/YAML)
    es_url: str | None = None  # wimbd
    es_config: Path | None = None  # wimbd
    api_url: str | None = None  # infinigram
    case: CaseMode | str | None = None  # infinigram; None: CaseMode.variants
    corpus: tuple[Path, ...] = ()  # corpus
    concurrency: int | None = None  # requests in flight (default 8), or corpus processes (default: all cores)
    batch_size: int = DEFAULT_BATCH_SIZE  # wimbd: phrases per _msearch request
    cache_dir: Path | None = None  # None: $XDG_CACHE_HOME/fomo-order
    refresh: bool = False  # ignore cached counts and ask again
    tries: int = 6
    timeout: float = 60.0


@dataclass
class FetchSummary:
    """How a run went, for the one line the CLI prints."""

    concepts: int = 0
    distinct_queries: int = 0
    from_cache: int = 0
    fetched: int = 0
    requests: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Frequencies(Written):
    """Every concept's query and count, and the meta that says where the counts come from.

    ``result.write(path, check=False)`` writes FREQS.json (``-``: to standard output);
    :meth:`document` is its content. ``summary`` tells how the run went (not part of the file).
    """

    meta: dict[str, Any]
    queries: dict[str, str]  # concept id -> query, catalog order
    counts: dict[str, int]  # concept id -> count, catalog order
    summary: FetchSummary = field(default_factory=FetchSummary, compare=False)

    def document(self) -> dict[str, Any]:
        """The FREQS.json object: the meta's keys, then ``queries`` and ``counts``."""
        return freqs_document(self.meta, self.queries, self.counts)

    def files(self, path: Path) -> dict[Path, bytes]:
        from fomo_order.fileio import dumps_json

        return {Path(path): dumps_json(self.document()).encode("utf-8")}

    def __repr__(self) -> str:
        return (
            f"Frequencies(source={self.meta.get('source')!r}, count={self.meta.get('count')!r}, "
            f"concepts={len(self.counts)}, distinct_queries={self.meta.get('distinct_queries')})"
        )


def fetch_frequencies(
    catalog: Catalog,
    options: FetchOptions | None = None,
    reporter: Reporter | None = None,
    *,
    argv: list[str] | None = None,
    offline: bool = False,
) -> Frequencies:
    """Count every concept's query; the result writes FREQS.json (``.write(path)``) and has a ``summary``.

    ``argv`` is recorded in the meta (the command line that remakes the file; None from Python).
    ``offline``: ask no server; network sources answer from the cache only (what the CLI's check does), local
    sources count as always. Raises ``FetchFailed`` (exit 3) when some counts are missing (nothing to
    write then: every concept needs a count), ``ParameterError``/``InputError`` for bad options, missing
    credentials, or a server that refuses the run.
    """
    options = options or FetchOptions()
    source = get_source(options.source)
    _check_options(options, source.name.value, offline)
    count_kind = source.count_kind(options.count)
    index = options.index if options.index is not None else source.default_index

    overrides = load_query_overrides(options.queries_file, catalog) if options.queries_file else None
    queries = build_queries(catalog, overrides)
    distinct = list(dict.fromkeys(queries.values()))
    request = CountRequest(
        queries=distinct, index=index, count=count_kind, options=options, reporter=reporter or SILENT, offline=offline
    )
    counted = source.count(request)
    # The last gate before FREQS.json: whatever a source returns, a count that is not one is a failed query.
    invalid = {query: f"invalid count: {count_problem(counted.counts.get(query))}" for query in distinct
               if count_problem(counted.counts.get(query))}
    if invalid:
        first = next(iter(invalid.items()))
        raise FetchFailed(
            f"{len(invalid)} of {len(distinct)} queries have no valid count (first: {first[0]!r}: {first[1]}); "
            "no output written",
            invalid,
        )

    inputs: dict[str, Any] = {"catalog": {"path": catalog.source, "sha256": catalog.sha256()}}
    if options.queries_file:
        inputs["queries"] = input_record(options.queries_file)
    meta = make_meta(
        COMMAND,
        argv=argv,
        inputs=inputs,
        source=source.name.value,
        index=index,
        count=count_kind,
        counts_are=source.counts_are(request),
        **counted.facts,
        query_templates=query_templates(catalog),
        query_overrides=len(overrides) if overrides is not None else 0,
        concepts=len(queries),
        distinct_queries=len(distinct),
    )
    # freqs_document is the last guard (integral floats become ints); the result keeps what it checked.
    document = freqs_document(meta, queries, {concept: counted.counts[query] for concept, query in queries.items()})
    summary = FetchSummary(
        concepts=len(queries),
        distinct_queries=len(distinct),
        from_cache=counted.from_cache,
        fetched=counted.fetched,
        requests=counted.requests,
        notes=request.notes,
    )
    return Frequencies(meta=meta, queries=document["queries"], counts=document["counts"], summary=summary)


def _check_options(options: FetchOptions, source: str, offline: bool) -> None:
    declared = get_source(source)
    for name in SOURCE_OPTIONS:
        if getattr(options, name) and name not in declared.options:
            raise ParameterError(name, f"is for the {owner_of(name)} source, not {source}")
    for name, problem in declared.requires.items():
        if not getattr(options, name):
            raise ParameterError(name, problem)
    if options.case is not None and options.case not in tuple(CaseMode):
        raise ParameterError("case", f"unknown case mode {options.case!r} (exact or variants)")
    if options.index is not None and declared.default_index is None:
        raise ParameterError("index", declared.index_refusal)
    for name in ("batch_size", "tries"):
        if getattr(options, name) < 1:
            raise ParameterError(name, "must be at least 1")
    if options.concurrency is not None and options.concurrency < 1:
        raise ParameterError("concurrency", "must be at least 1")
    if not (isinstance(options.timeout, (int, float)) and math.isfinite(options.timeout)):
        raise ParameterError("timeout", f"must be a finite number of seconds, not {options.timeout!r}")
    if not 0 < options.timeout <= MAX_TIMEOUT:
        raise ParameterError("timeout", f"must be more than 0 seconds and at most {MAX_TIMEOUT:g} (a day)")
    if offline and options.refresh:
        raise ParameterError("refresh", "asks the servers again, and an offline run (a check) asks none: give one")
