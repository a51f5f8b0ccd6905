"""``fomo-order fetch-frequencies``: count each concept's query in C4 (or a stand-in) and write FREQS.json."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path

import typer

from fomo_order.cli import CATALOG_HELP, app, console, dataset_names
from fomo_order.frequencies.queries import CaseMode

Source = Enum("Source", {name: name for name in ("wimbd", "infinigram", "corpus", "wordfreq")}, type=str)
CountKind = Enum("CountKind", {name: name for name in ("documents", "occurrences")}, type=str)


@app.command("fetch-frequencies")
def fetch_frequencies_command(
    catalog: Path = typer.Argument(
        ..., help=CATALOG_HELP, show_default=False
    ),
    out: Path = typer.Option(..., "-o", "--output", help="FREQS.json to write (meta, queries, counts)."),
    source: Source = typer.Option(
        "wimbd", help="wimbd (the paper's: WIMBD Elasticsearch, c4), infinigram, corpus (local files), wordfreq."
    ),
    index: str | None = typer.Option(
        None, help="Index to query (wimbd: c4; infinigram: v4_c4train_llama; wordfreq: language, en)."
    ),
    count: CountKind | None = typer.Option(
        None, "--count", help="corpus: documents (default, WIMBD's) or occurrences. wimbd/infinigram have one each."
    ),
    queries: Path | None = typer.Option(None, "--queries", help="JSON/YAML map concept id -> query (overrides)."),
    es_url: str | None = typer.Option(
        None, "--es-url", help="wimbd: a self-hosted Elasticsearch URL (API key from ES_API_KEY when set)."
    ),
    es_config: Path | None = typer.Option(
        None, "--es-config", help="wimbd: WIMBD's es_config.yml (cloud_id, api_key). Default: ES_CLOUD_ID/ES_API_KEY."
    ),
    api_url: str | None = typer.Option(None, "--api-url", help="infinigram: API URL (https://api.infini-gram.io/)."),
    case: CaseMode | None = typer.Option(
        None,
        "--case",
        help="infinigram: variants (default) counts the query as given, lower, Title and UPPER case together "
        "(one OR query); exact counts the query as written.",
        show_default=False,
    ),
    corpus: list[Path] | None = typer.Option(
        None, "--corpus", help="corpus: a file or directory of .json/.jsonl(.gz) or text files (repeatable)."
    ),
    concurrency: int | None = typer.Option(
        None, min=1, help="Requests in flight (default 8), or corpus processes (default: all cores)."
    ),
    batch_size: int = typer.Option(100, "--batch-size", min=1, max=10000, help="wimbd: phrases per _msearch request."),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="Where fetched counts are kept (default $XDG_CACHE_HOME/fomo-order)."
    ),
    refresh: bool = typer.Option(False, "--refresh", help="Ignore cached counts and ask again."),
    tries: int = typer.Option(6, min=1, help="Attempts per request before a query counts as failed."),
    timeout: float = typer.Option(60.0, min=0.1, help="Seconds to wait for one answer."),
    datasets: str | None = typer.Option(None, help="Comma-separated datasets to keep (default: all)."),
) -> None:
    """Count how often each concept's query occurs (the paper: C4 documents, via WIMBD) and write FREQS.json.

    Counts are cached as they arrive; an interrupted or partly failed run is resumed by running the same
    command again. Exit 3 when some queries have no count (nothing written; the rest is cached).
    """
    from fomo_order.catalog import load_catalog
    from fomo_order.frequencies import FetchFailed, FetchOptions, fetch_frequencies, write_freqs

    selected = dataset_names(datasets)
    loaded = load_catalog(catalog, datasets=selected)
    options = FetchOptions(
        source=source.value,
        index=index,
        count=count.value if count else None,
        queries_file=queries,
        es_url=es_url,
        es_config=es_config,
        api_url=api_url,
        case=case,
        corpus=tuple(corpus or ()),
        concurrency=concurrency,
        batch_size=batch_size,
        cache_dir=cache_dir,
        refresh=refresh,
        tries=tries,
        timeout=timeout,
    )
    reporter = _RichReporter()
    try:
        document, summary = fetch_frequencies(loaded, options, reporter)
    except FetchFailed as failure:
        for query, why in list(failure.failed.items())[:10]:
            console.print(f"  no count for {query!r}: {why}", markup=False, highlight=False)
        if len(failure.failed) > 10:
            console.print(f"  ... and {len(failure.failed) - 10} more", markup=False)
        raise
    except KeyboardInterrupt:
        reporter.finish()
        console.print("interrupted: the counts fetched so far are cached; rerun the same command to resume")
        raise
    finally:
        reporter.finish()
    write_freqs(out, document)
    origin = f"{summary.from_cache} from cache, {summary.fetched} counted"
    if summary.requests:
        origin += f" in {summary.requests} requests"
    notes = "".join(f"; {note}" for note in summary.notes)
    console.print(
        f"wrote {out}: {summary.concepts} concepts, {summary.distinct_queries} distinct queries "
        f"({origin}){notes}",
        markup=False,
        highlight=False,
    )


class _RichReporter:
    """A transient rich progress bar on stderr (when it is a terminal); retry notes at most once a second."""

    def __init__(self) -> None:
        self._progress = None
        self._task = None
        self._last_note = 0.0
        self._suppressed = 0

    def start(self, total: int, description: str, unit: str) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.finish()
        if not console.is_terminal:  # a bar only where someone watches; logs get the summary line
            return
        amount = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
        columns = (TextColumn("{task.description}"), BarColumn(), amount, TimeRemainingColumn())
        self._progress = Progress(*columns, console=console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, amount: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, amount)

    def note(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_note < 1.0:
            self._suppressed += 1
            return
        extra = f" (+{self._suppressed} more)" if self._suppressed else ""
        self._last_note, self._suppressed = now, 0
        console.print(f"  {message}{extra}", markup=False, highlight=False)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
