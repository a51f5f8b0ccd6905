"""The count of every concept's query from one registered source, as a FREQS.json document.

:func:`fetch_frequencies` checks the options against the source's declaration (``sources.SOURCES``),
builds the queries, asks the source's counting function for the distinct ones and writes the meta from
what the source declares; it does not know which source it runs. The document's format, writer and
reader are :mod:`fomo_order.artifacts.freqs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fomo_order.artifacts.freqs import count_problem, freqs_document
from fomo_order.artifacts.meta import input_record, make_meta
from fomo_order.catalog import Catalog
from fomo_order.errors import ParameterError
from fomo_order.frequencies.queries import CaseMode, build_queries, load_query_overrides, query_templates
from fomo_order.frequencies.remote import FetchFailed
from fomo_order.frequencies.sources import SOURCE_OPTIONS, CountRequest, Source, get_source, owner_of
from fomo_order.progress import SILENT, Reporter

COMMAND = "fetch-frequencies"
DEFAULT_BATCH_SIZE = 100
MAX_TIMEOUT = 86_400.0  # a day: anything longer is a mistake (and sockets refuse huge timeouts)

__all__ = ["COMMAND", "FetchFailed", "FetchOptions", "FetchSummary", "fetch_frequencies"]


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


def fetch_frequencies(
    catalog: Catalog,
    options: FetchOptions | None = None,
    reporter: Reporter | None = None,
    *,
    argv: list[str] | None = None,
    offline: bool = False,
) -> tuple[dict[str, Any], FetchSummary]:
    """Count every concept's query; return the FREQS.json document and a summary of the run.

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
    counts = {concept: counted.counts[query] for concept, query in queries.items()}
    summary = FetchSummary(
        concepts=len(queries),
        distinct_queries=len(distinct),
        from_cache=counted.from_cache,
        fetched=counted.fetched,
        requests=counted.requests,
        notes=request.notes,
    )
    return freqs_document(meta, queries, counts), summary


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
