"""``fomo-order fetch-frequencies``: count each concept's query in C4 (or a stand-in) and write FREQS.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fomo_order.cli.app import app, command_line, console
from fomo_order.cli.options import CatalogArgument, Datasets, dataset_names, flag, output
from fomo_order.frequencies.infinigram import OperatorWordsInExactCase
from fomo_order.frequencies.queries import CaseMode
from fomo_order.frequencies.sources import CountKind, Source
from fomo_order.frequencies.wimbd import CredentialsMissing, redact_url

# How to give what the library asks for, in flags (the library's messages name no flags).
HINTS = {
    CredentialsMissing: "give them with --es-config es_config.yml or --es-url URL, or pick another --source",
    OperatorWordsInExactCase: "use --case variants, or give those concepts other queries with --queries FILE",
}


@app.command("fetch-frequencies")
def fetch_frequencies_command(
    ctx: typer.Context,
    catalog: CatalogArgument,
    out: Annotated[Path, output("FREQS.json to write (meta, queries, counts); - writes it to standard output.")],
    source: Annotated[
        Source,
        typer.Option(help="wimbd (the paper's: WIMBD Elasticsearch, c4), infinigram, corpus (local files), wordfreq."),
    ] = Source.wimbd,
    index: Annotated[
        str | None,
        typer.Option(help="Index to query (wimbd: c4; infinigram: v4_c4train_llama; wordfreq: language, en)."),
    ] = None,
    count: Annotated[
        CountKind | None,
        typer.Option(
            "--count", help="corpus: documents (default, WIMBD's) or occurrences. wimbd/infinigram have one each."
        ),
    ] = None,
    queries: Annotated[
        Path | None, typer.Option("--queries", help="JSON/YAML map concept id -> query (overrides).")
    ] = None,
    es_url: Annotated[
        str | None,
        typer.Option("--es-url", help="wimbd: a self-hosted Elasticsearch URL (API key from ES_API_KEY when set)."),
    ] = None,
    es_config: Annotated[
        Path | None,
        typer.Option(
            "--es-config", help="wimbd: WIMBD's es_config.yml (cloud_id, api_key). Default: ES_CLOUD_ID/ES_API_KEY."
        ),
    ] = None,
    api_url: Annotated[
        str | None, typer.Option("--api-url", help="infinigram: API URL (https://api.infini-gram.io/).")
    ] = None,
    case: Annotated[
        CaseMode | None,
        typer.Option(
            "--case",
            help="infinigram: variants (default) counts the query as given, lower, Title and UPPER case together "
            "(one OR query); exact counts the query as written.",
            show_default=False,
        ),
    ] = None,
    corpus: Annotated[
        list[Path] | None,
        typer.Option("--corpus", help="corpus: a file or directory of .json/.jsonl(.gz) or text files (repeatable)."),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Requests in flight (default 8), or corpus processes (default: all cores)."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=10000, help="wimbd: phrases per _msearch request.")
    ] = 100,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Where fetched counts are kept (default $XDG_CACHE_HOME/fomo-order)."),
    ] = None,
    refresh: Annotated[bool, flag("--refresh", help="Ignore cached counts and ask again.")] = False,
    tries: Annotated[int, typer.Option(min=1, help="Attempts per request before a query counts as failed.")] = 6,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds for one request as a whole: connect, send, the full answer.")
    ] = 60.0,
    datasets: Datasets = None,
    check: Annotated[
        bool,
        flag(
            "--check",
            help="Write nothing; exit 0 if OUT is current, 1 if not. Asks no server: network sources count from "
            "the cache only (exit 3 when it lacks some).",
        ),
    ] = False,
    quiet: Annotated[
        bool, flag("--quiet", "-q", help="No progress bar, retry notes, failure list or summary line; errors only.")
    ] = False,
) -> None:
    """Count how often each concept's query occurs (the paper: C4 documents, via WIMBD) and write FREQS.json.

    Counts are cached as they arrive; an interrupted or partly failed run is resumed by running the same
    command again. Exit 3 when some queries have no count (nothing written; the rest is cached).
    """
    from fomo_order.artifacts.freqs import output_problem
    from fomo_order.catalog import load_catalog
    from fomo_order.cli.progress import reporter as make_reporter
    from fomo_order.errors import InputError, Interrupted, ParameterError
    from fomo_order.frequencies import FetchFailed, FetchOptions, fetch_frequencies

    loaded = load_catalog(catalog, datasets=dataset_names(datasets))
    # Say before a long fetch, not after it, that OUT cannot be written (a directory, a read-only place).
    problem = None if check else output_problem(out)
    if problem:
        raise InputError(out, problem)
    options = FetchOptions(
        source=source,
        index=index,
        count=count,
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
    reporter = make_reporter(quiet)
    argv = command_line(ctx, leave_out=("check", "quiet", "refresh"))
    # A password in --es-url or --api-url stays out of the meta (a check asks no server; a rerun gives it again).
    argv = [redact_url(arg) if opt in ("--es-url", "--api-url") else arg
            for opt, arg in zip(["", *argv[:-1]], argv, strict=True)]
    try:
        result = fetch_frequencies(loaded, options, reporter, argv=argv, offline=check)
    except ParameterError as error:
        hint = HINTS.get(type(error))
        if hint:
            raise ParameterError(error.parameter, f"{error.problem}; {hint}") from None
        raise
    except FetchFailed as failure:
        if not quiet:
            _print_causes(failure.failed)
        raise
    except KeyboardInterrupt:
        reporter.finish()
        raise Interrupted("the counts fetched so far are cached; rerun the same command to resume") from None
    finally:
        reporter.finish()
    result.write(out, check=check)
    if quiet:
        return
    summary = result.summary
    origin = f"{summary.from_cache} from cache, {summary.fetched} counted"
    if summary.requests:
        origin += f" in {summary.requests} requests"
    notes = "".join(f"; {note}" for note in summary.notes)
    where = "standard output" if str(out) == "-" else str(out)
    done = f"{where} is current" if check else f"wrote {where}"
    console.print(
        f"{done}: {summary.concepts} concepts, {summary.distinct_queries} distinct queries "
        f"({origin}){notes}",
        markup=False,
        highlight=False,
    )


def _print_causes(failed: dict[str, str], shown: int = 10) -> None:
    """One line per cause, where the queries failed for more than one (the error line names the first)."""
    from fomo_order.frequencies.remote import failure_causes

    causes = failure_causes(failed)
    if len(causes) < 2:
        return
    for why, queries in list(causes.items())[:shown]:
        console.print(f"  no count for {len(queries)} queries (first: {queries[0]!r}): {why}",
                      markup=False, highlight=False)
    if len(causes) > shown:
        console.print(f"  ... and {len(causes) - shown} more causes", markup=False)
