"""``fetch-frequencies``: the count of every concept's query from one source, as a FREQS.json document.

FREQS.json is ``{"meta": {...}, "queries": {concept id: query}, "counts": {concept id: integer}}``, both
maps in catalog order; ``meta`` says where the counts come from and what they count. Its bytes depend only
on the inputs and the counts, never on the order answers arrived in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fomo_order import __version__
from fomo_order.catalog import Catalog
from fomo_order.errors import InputError
from fomo_order.fileio import dumps_json, sha256_file, write_bytes_atomic
from fomo_order.frequencies.progress import Reporter, SilentReporter
from fomo_order.frequencies.queries import CaseMode, build_queries, load_query_overrides, query_templates
from fomo_order.frequencies.retry import QueriesFailed, RetryPolicy

SOURCES = ("wimbd", "infinigram", "corpus", "wordfreq")
COUNT_KINDS = ("documents", "occurrences")
DEFAULT_BATCH_SIZE = 100
DEFAULT_NETWORK_CONCURRENCY = 8
SHOWN_FAILURES = 10


@dataclass(frozen=True)
class FetchOptions:
    source: str = "wimbd"
    index: str | None = None
    count: str | None = None
    queries_file: Path | None = None
    es_url: str | None = None
    es_config: Path | None = None
    api_url: str | None = None
    case: CaseMode | None = None  # infinigram only; None: CaseMode.variants
    corpus: tuple[Path, ...] = ()
    concurrency: int | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    cache_dir: Path | None = None
    refresh: bool = False
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


class FetchFailed(QueriesFailed):
    """Some queries have no count (exit 3): ``failed`` maps each to why; what succeeded is cached."""

    def __init__(self, message: str, failed: Mapping[str, str]) -> None:
        super().__init__(message)
        self.failed = dict(failed)


def fetch_frequencies(
    catalog: Catalog, options: FetchOptions, reporter: Reporter | None = None
) -> tuple[dict[str, Any], FetchSummary]:
    """Count every concept's query; return the FREQS.json document and a summary of the run.

    Raises :class:`FetchFailed` when some counts are missing (nothing to write then: every concept needs a
    count), and ``InputError`` for bad options, missing credentials, or a server that refuses the run.
    """
    reporter = reporter or SilentReporter()
    _check_options(options)
    overrides = load_query_overrides(options.queries_file, catalog) if options.queries_file else None
    queries = build_queries(catalog, overrides)
    distinct = list(dict.fromkeys(queries.values()))
    summary = FetchSummary(concepts=len(queries), distinct_queries=len(distinct))
    meta: dict[str, Any] = {"source": options.source}

    if options.source == "wordfreq":
        from fomo_order.frequencies.wordfreq_source import UNIT, wordfreq_counts, wordfreq_version

        language = options.index or "en"
        counts = wordfreq_counts(distinct, language)
        summary.fetched = len(counts)
        meta.update(
            index=language,
            count="estimate",
            counts_are=f"{UNIT}; an estimate from the wordfreq package's word lists, NOT counts in C4",
            wordfreq_version=wordfreq_version(),
        )
    elif options.source == "corpus":
        from fomo_order.frequencies.cache import CountCache, default_cache_dir
        from fomo_order.frequencies.corpus import count_corpus

        kind = options.count or "documents"
        processes = options.concurrency or os.cpu_count() or 1
        with CountCache(options.cache_dir or default_cache_dir()) as cache:
            result = count_corpus(
                options.corpus, distinct, kind, cache, processes=processes, refresh=options.refresh, reporter=reporter
            )
        counts = result.counts
        summary.fetched = len(distinct) if result.scanned_files else 0
        summary.from_cache = len(distinct) - summary.fetched
        summary.notes.append(f"scanned {result.scanned_files} of {len(result.files)} corpus files")
        meta.update(
            index=None,
            count=kind,
            counts_are=(
                "documents (lines) holding the phrase at least once"
                if kind == "documents"
                else "occurrences of the phrase (token positions where it starts, overlaps included)"
            ),
            matching="tokens as Elasticsearch's standard analyzer (approximation): case-insensitive, whole "
            "tokens, punctuation between tokens ignored",
            corpus=result.files,
            documents=result.documents,
            text_bytes=result.text_bytes,
        )
    else:
        counts = _fetch_network(options, distinct, meta, summary, reporter)

    meta.update(
        query_templates=query_templates(catalog),
        query_overrides=(
            {"path": str(options.queries_file), "sha256": sha256_file(options.queries_file), "entries": len(overrides)}
            if options.queries_file
            else None
        ),
        catalog={"source": catalog.source, "sha256": catalog.sha256()},
        concepts=len(queries),
        distinct_queries=len(distinct),
        tool=f"fomo-order {__version__}",
    )
    document = {
        "meta": meta,
        "queries": queries,
        "counts": {concept: int(counts[query]) for concept, query in queries.items()},
    }
    return document, summary


def write_freqs(path: str | Path, document: Mapping[str, Any]) -> None:
    write_bytes_atomic(path, dumps_json(document).encode("utf-8"))


def _fetch_network(options: FetchOptions, distinct: list[str], meta: dict, summary: FetchSummary, reporter) -> dict:
    from fomo_order.frequencies.cache import CountCache, default_cache_dir
    from fomo_order.frequencies.remote import fetch_remote

    concurrency = options.concurrency or DEFAULT_NETWORK_CONCURRENCY
    if options.source == "wimbd":
        from fomo_order.frequencies.wimbd import (
            WIMBD_INDEX,
            ElasticsearchBackend,
            index_filter,
            phrase_query,
            resolve_credentials,
        )

        index = options.index or WIMBD_INDEX
        credentials = resolve_credentials(options.es_url, options.es_config)
        backend = ElasticsearchBackend(credentials, index, concurrency=concurrency, timeout=options.timeout)
        batch_size = options.batch_size
        meta.update(
            index=index,
            count="documents",
            counts_are="documents whose 'text' matches the phrase (Elasticsearch match_phrase), as WIMBD counts",
            filter=index_filter(index),
            query_body=phrase_query("{query}", index),
            endpoint=backend.endpoint,
            client=f"elasticsearch-py {_package_version('elasticsearch')}",
        )
    else:
        from fomo_order.frequencies.infinigram import (
            DEFAULT_API_URL,
            DEFAULT_INDEX,
            InfinigramBackend,
            sendable_variants,
        )

        case = CaseMode(options.case or CaseMode.variants)
        left_out = {query: sendable_variants(query, case)[1] for query in distinct}
        left_out = {query: variants for query, variants in left_out.items() if variants}
        if case is CaseMode.exact and left_out:
            first = next(iter(left_out))
            raise InputError(
                "--case exact",
                f"{len(left_out)} queries hold ' AND ' or ' OR ', which the infini-gram API reads as operators "
                f"and cannot escape (first: {first!r}); count them with --case variants (their other spellings) "
                "or give them other queries with --queries",
            )
        backend = InfinigramBackend(
            options.api_url or DEFAULT_API_URL,
            options.index or DEFAULT_INDEX,
            timeout=options.timeout,
            user_agent=f"fomo-order/{__version__}",
            case=case,
        )
        batch_size = 1
        if case is CaseMode.exact:
            counts_are = (
                "occurrences of the phrase's token sequence (n-gram count, Llama-2 tokenizer, case-sensitive) "
                "in the infini-gram index; not documents"
            )
        else:
            counts_are = (
                "occurrences of the phrase's token sequence (n-gram count, Llama-2 tokenizer) in the "
                "infini-gram index, summed over its distinct case variants (as given, lower, Title, UPPER) "
                "asked as one CNF OR clause; a variant holding ' AND '/' OR ' is left out; not documents"
            )
        meta.update(index=backend.index, count="occurrences", case=case.value, counts_are=counts_are)
        if case is CaseMode.variants:
            meta["case_variants_left_out"] = len(left_out)
            if left_out:
                summary.notes.append(f"{len(left_out)} queries: a case variant holding AND/OR left out")
        meta["endpoint"] = backend.endpoint
    policy = RetryPolicy.from_environment(tries=options.tries)
    try:
        with CountCache(options.cache_dir or default_cache_dir()) as cache:
            report = fetch_remote(
                backend,
                distinct,
                cache,
                batch_size=batch_size,
                concurrency=concurrency,
                policy=policy,
                refresh=options.refresh,
                reporter=reporter,
            )
            cache_path = cache.path
    finally:
        backend.close()
    split = getattr(backend, "counted_by_variant", 0)
    if split:
        summary.notes.append(f"{split} queries counted variant by variant (their OR count was approximate)")
    summary.from_cache = report.from_cache
    summary.fetched = report.fetched
    summary.requests = report.requests
    if report.failed:
        first = next(iter(report.failed.items()))
        why = f"; stopped early: {report.stopped_early}" if report.stopped_early else ""
        raise FetchFailed(
            f"{len(report.failed)} of {len(distinct)} queries have no count (first: {first[0]!r}: {first[1]}){why}; "
            f"the other {len(report.counts)} counts are cached in {cache_path}: rerun the same command to ask "
            f"only for the missing ones; no output written",
            report.failed,
        )
    return report.counts


def _check_options(options: FetchOptions) -> None:
    source = options.source
    if source not in SOURCES:
        raise InputError("--source", f"unknown source {source!r} (choose from {', '.join(SOURCES)})")
    only = {
        "--es-url": (options.es_url, "wimbd"),
        "--es-config": (options.es_config, "wimbd"),
        "--api-url": (options.api_url, "infinigram"),
        "--corpus": (options.corpus, "corpus"),
    }
    if options.case is not None:
        if options.case not in tuple(CaseMode):
            raise InputError("--case", f"unknown case mode {options.case!r} (exact or variants)")
        only["--case"] = (options.case, "infinigram")
    for flag, (value, owner) in only.items():
        if value and source != owner:
            raise InputError(flag, f"is for --source {owner}, not --source {source}")
    if options.count is not None and options.count not in COUNT_KINDS:
        raise InputError("--count", f"unknown count kind {options.count!r} (documents or occurrences)")
    if source == "wimbd" and options.count == "occurrences":
        raise InputError("--count", "wimbd counts documents (as WIMBD); occurrences: --source corpus or infinigram")
    if source == "infinigram" and options.count == "documents":
        raise InputError("--count", "infini-gram counts occurrences (n-grams); documents: --source wimbd or corpus")
    if source == "wordfreq" and options.count is not None:
        raise InputError("--count", "wordfreq gives an estimate of frequency, neither documents nor occurrences")
    if source == "corpus":
        if options.index is not None:
            raise InputError("--index", "is not used by --source corpus (name the files with --corpus)")
        if not options.corpus:
            raise InputError("--corpus", "--source corpus needs at least one --corpus FILE or DIRECTORY")
    if options.batch_size < 1 or (options.concurrency is not None and options.concurrency < 1) or options.tries < 1:
        raise InputError("--batch-size/--concurrency/--tries", "must be at least 1")


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"
