"""Counts from local corpus files: every phrase in one pass per file, files in parallel processes.

Files are C4-style JSON lines (``.json``/``.jsonl``, optionally ``.gz``; the text in ``text``), one
document per line, or plain text (anything else, optionally ``.gz``), one document per non-empty line.
Documents and phrases are tokenized alike (``analyzer``: an approximation of Elasticsearch's standard
analyzer), so a phrase matches as ``match_phrase`` does: case-insensitive, whole tokens, whatever
punctuation or spacing lies between them. ``documents`` counts the documents holding a phrase at least
once (WIMBD's count); ``occurrences`` counts every token position where the phrase starts, overlapping
ones included (as n-gram counts do: "ha ha" occurs twice in "ha ha ha"). All phrases are found in one
pass over the text (``matching``: a multi-pattern search over tokens, like Aho-Corasick over the
normalized text, in a numba kernel).

Each finished file's counts go to the cache at once, keyed by the file's path, size and modification
time: a rerun scans only files (and phrases) not yet counted. The meta records each file as given
(relative; an absolute path relative to the current directory) with its sha256, never an absolute path.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import signal
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING

from fomo_order.errors import InputError, ParameterError
from fomo_order.fileio import sha256_file
from fomo_order.frequencies.analyzer import normalize_texts
from fomo_order.frequencies.cache import CountCache
from fomo_order.frequencies.matching import PhraseCounter
from fomo_order.frequencies.sources import Counted, CountKind, CountRequest, Source, register
from fomo_order.progress import SILENT, Reporter

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

COUNT_KINDS = tuple(kind.value for kind in CountKind)
MATCHING = (
    "tokens as Elasticsearch's standard analyzer (approximation): case-insensitive, whole tokens, punctuation "
    "between tokens ignored"
)
JSON_SUFFIXES = (".json", ".jsonl")
CHUNK_CHARACTERS = 8_000_000  # documents are normalized and searched this many characters at a time


class CorpusFileError(Exception):
    """A corpus file cannot be read; picklable, so a worker process can hand it back."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class CorpusCounts:
    counts: dict[str, int]  # query -> count over all files
    documents: int
    text_bytes: int  # UTF-8 bytes of document text
    files: list[dict]  # per file: path, bytes on disk, documents
    scanned_files: int  # files read in this run (the others came from the cache)


def corpus_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files named, directories expanded to the (non-hidden) files under them, in sorted order."""
    if not paths:
        raise ParameterError("corpus", "give at least one corpus file or directory")
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = (p for p in path.rglob("*") if p.is_file())
            found.extend(sorted(p for p in inside if not any(x.startswith(".") for x in p.relative_to(path).parts)))
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(path, "corpus path not found")
    unique = list(dict.fromkeys(found))
    if not unique:
        raise InputError(paths[0], "no corpus files found")
    return unique


def recorded_path(path: Path) -> str:
    """A corpus file as the meta records it: as given, relative; an absolute path relative to the current
    directory, so that a committed FREQS.json names nothing machine-local (its sha256 says which file)."""
    if not path.is_absolute():
        return path.as_posix()
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return path.name


def is_json_lines(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return name.endswith(JSON_SUFFIXES)


def file_key(path: Path) -> str:
    """Cache key of a corpus file: its resolved path, size and modification time."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def read_documents(path: Path, chunk_characters: int = CHUNK_CHARACTERS) -> Iterator[tuple[list[str], int]]:
    """Yield ``(documents, bytes of the file read so far)`` in chunks of about ``chunk_characters``."""
    json_lines = is_json_lines(path)
    try:
        raw = open(path, "rb")  # noqa: SIM115 (closed by the `with` below; opening errors named here)
    except OSError as exc:
        raise CorpusFileError(str(path), f"cannot read: {exc.strerror or exc}") from None
    with raw:
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if path.name.lower().endswith(".gz") else raw
        texts: list[str] = []
        size = 0
        line_number = 0
        try:
            for line in stream:
                line_number += 1
                if json_lines:
                    if not line.strip():
                        continue
                    text = _json_text(line, path, line_number)
                else:
                    text = line.decode("utf-8", "replace").rstrip("\r\n")
                    if not text.strip():
                        continue
                texts.append(text)
                size += len(text)
                if size >= chunk_characters:
                    yield texts, raw.tell()
                    texts, size = [], 0
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise CorpusFileError(str(path), f"not a readable gzip file (after line {line_number}): {exc}") from None
        except OSError as exc:
            raise CorpusFileError(str(path), f"read error after line {line_number}: {exc.strerror or exc}") from None
        if texts:
            yield texts, raw.tell()


def _json_text(line: bytes, path: Path, line_number: int) -> str:
    try:
        document = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorpusFileError(str(path), f"line {line_number}: not valid JSON ({exc})") from None
    text = document.get("text") if isinstance(document, dict) else None
    if not isinstance(text, str):
        raise CorpusFileError(str(path), f"line {line_number}: expected a JSON object with a 'text' string")
    return text


def count_in_file(
    path: Path, patterns: Sequence[str], kind: str, on_progress: Callable[[int], None] | None = None
) -> tuple[list[int], int, int]:
    """Count every pattern in one file: ``(counts, documents, text bytes)``."""
    counter = PhraseCounter(patterns, per_document=kind == "documents")
    position = 0
    for texts, file_position in read_documents(path):
        counter.add(texts)
        if on_progress is not None:
            on_progress(file_position - position)
        position = file_position
    return counter.counts.tolist(), counter.documents, counter.text_bytes


def count_corpus(
    paths: Sequence[str | Path],
    queries: Sequence[str],
    kind: str,
    cache: CountCache,
    *,
    processes: int,
    refresh: bool = False,
    reporter: Reporter | None = None,
) -> CorpusCounts:
    """Count every query in every file (documents or occurrences), scanning only what the cache lacks."""
    if kind not in COUNT_KINDS:
        raise ParameterError("count", f"the corpus source counts {' or '.join(COUNT_KINDS)}, not {kind!r}")
    reporter = reporter or SILENT
    files = corpus_files(paths)
    unique = list(dict.fromkeys(queries))
    pattern_of = {query: (p if p.strip() else "") for query, p in zip(unique, normalize_texts(unique), strict=True)}
    keys = [file_key(path) for path in files]

    known: list[dict[str, int]] = []
    sizes: list[tuple[int, int]] = []
    tasks: list[tuple[int, list[str]]] = []  # (file position, queries to count there)
    for position, key in enumerate(keys):
        cached = None if refresh else cache.get_file_counts(key, kind)
        have = cached.counts if cached else {}
        known.append(dict(have))
        sizes.append((cached.documents, cached.text_bytes) if cached else (0, 0))
        missing = [q for q in unique if q not in have]
        if missing or cached is None:
            tasks.append((position, missing))

    task_map = dict(tasks)
    total_bytes = sum(files[position].stat().st_size for position, _ in tasks)
    reporter.start(total_bytes, f"scanning {len(tasks)} of {len(files)} corpus files", "bytes")
    try:
        for position, result in _run_tasks(files, tasks, pattern_of, kind, processes, reporter):
            counts, documents, text_bytes = result
            task_queries = task_map[position]
            cache.put_file_counts(keys[position], kind, task_queries, counts, documents, text_bytes)
            known[position].update(zip(task_queries, counts, strict=True))
            sizes[position] = (documents, text_bytes)
    finally:
        reporter.finish()

    totals = {q: sum(file_counts[q] for file_counts in known) for q in unique}
    described = [
        {"path": recorded_path(path), "sha256": sha256_file(path), "bytes": path.stat().st_size,
         "documents": sizes[i][0]}
        for i, path in enumerate(files)
    ]
    return CorpusCounts(
        counts=totals,
        documents=sum(d for d, _ in sizes),
        text_bytes=sum(b for _, b in sizes),
        files=described,
        scanned_files=len(tasks),
    )


def _run_tasks(files, tasks, pattern_of, kind, processes, reporter) -> Iterator[tuple[int, tuple[list[int], int, int]]]:
    """Yield ``(file position, (counts per task query, documents, text bytes))`` as files finish."""
    prepared = []
    for position, task_queries in tasks:
        patterns = sorted({pattern_of[q] for q in task_queries if pattern_of[q]})
        prepared.append((position, str(files[position]), task_queries, patterns))
    if processes <= 1 or len(prepared) <= 1:
        for position, path, task_queries, patterns in prepared:
            try:
                result = count_in_file(Path(path), patterns, kind, reporter.advance)
            except CorpusFileError as exc:
                raise InputError(exc.path, exc.problem) from None
            yield position, _per_query(result, task_queries, patterns, pattern_of)
        return
    context = multiprocessing.get_context("spawn")
    progress = context.Queue()
    pool = ProcessPoolExecutor(
        max_workers=min(processes, len(prepared)), mp_context=context, initializer=_worker_init, initargs=(progress,)
    )
    finished = False
    try:
        pending: dict[Future, tuple] = {
            pool.submit(_worker_count, path, patterns, kind): (position, task_queries, patterns)
            for position, path, task_queries, patterns in prepared
        }
        while pending:
            done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(progress, reporter)
            for future in done:
                position, task_queries, patterns = pending.pop(future)
                outcome = future.result()
                if isinstance(outcome, CorpusFileError):
                    raise InputError(outcome.path, outcome.problem)
                yield position, _per_query(outcome, task_queries, patterns, pattern_of)
        _drain(progress, reporter)
        finished = True
    finally:
        if not finished:
            # Interrupted or failed: stop the scans still running rather than wait for them.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _per_query(result, task_queries, patterns, pattern_of) -> tuple[list[int], int, int]:
    counts, documents, text_bytes = result
    index = {pattern: i for i, pattern in enumerate(patterns)}
    per_query = [counts[index[pattern_of[q]]] if pattern_of[q] else 0 for q in task_queries]
    return per_query, documents, text_bytes


def _drain(progress, reporter: Reporter) -> None:
    while True:
        try:
            reporter.advance(progress.get_nowait())
        except Empty:
            return


_worker_progress: Queue[int] | None = None


def _worker_init(progress: Queue[int]) -> None:
    global _worker_progress
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _worker_progress = progress


def _worker_count(path: str, patterns: list[str], kind: str):
    assert _worker_progress is not None  # _worker_init set it in every worker
    try:
        return count_in_file(Path(path), patterns, kind, _worker_progress.put)
    except CorpusFileError as exc:
        return exc


def _counts_are(request: CountRequest) -> str:
    if request.count == CountKind.documents:
        return "documents (lines) holding the phrase at least once"
    return "occurrences of the phrase (token positions where it starts, overlaps included)"


@register(
    Source.corpus,
    "documents or occurrences holding the phrase in local C4-style files (one pass per file, all phrases)",
    count_kinds=(CountKind.documents, CountKind.occurrences),
    count_refusal="the corpus source counts documents or occurrences",
    counts_are=_counts_are,
    index_refusal="is not used by the corpus source (it counts in the files it is given)",
    options=("corpus",),
    requires={"corpus": "the corpus source needs at least one corpus file or directory"},
)
def count_corpus_source(request: CountRequest) -> Counted:
    from fomo_order.frequencies.cache import open_cache

    options = request.options
    queries = request.queries
    processes = options.concurrency or os.cpu_count() or 1
    with open_cache(options.cache_dir, request.reporter.note) as cache:
        result = count_corpus(
            options.corpus, queries, request.count, cache, processes=processes, refresh=options.refresh,
            reporter=request.reporter,
        )
    fetched = len(queries) if result.scanned_files else 0
    request.notes.append(f"scanned {result.scanned_files} of {len(result.files)} corpus files")
    facts = {"matching": MATCHING, "corpus": result.files, "documents": result.documents,
             "text_bytes": result.text_bytes}
    return Counted(counts=result.counts, facts=facts, from_cache=len(queries) - fetched, fetched=fetched)
