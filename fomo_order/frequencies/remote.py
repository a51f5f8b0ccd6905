"""Fetching counts from a network source: batches, bounded concurrency, retries, and the cache.

Worker threads send batches and report what comes back through a queue; the calling thread alone writes
to the cache (one transaction per answer) and to the progress bar. A batch that fails in a transient way
is retried, only for the queries still missing, after an exponential backoff with jitter that honours
``Retry-After``; after ``policy.tries`` attempts its queries are reported as failed. When several batches
in a row give up, the whole run stops early: the server is down or the network is gone.
"""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fomo_order.artifacts.freqs import count_problem
from fomo_order.errors import InputError
from fomo_order.frequencies.cache import CACHE_FILE, CountCache, default_cache_dir, open_cache
from fomo_order.frequencies.redaction import NO_SECRETS, Redactor
from fomo_order.frequencies.retry import PermanentError, QueriesFailed, RetryPolicy, TransientError
from fomo_order.frequencies.sources import Counted, CountRequest
from fomo_order.progress import SILENT, Reporter

GIVE_UP_AFTER_FAILED_BATCHES = 3
DEFAULT_CONCURRENCY = 8
NOT_CACHED = "not in the cache (an offline run asks no server)"


class FetchFailed(QueriesFailed):
    """Some queries have no count (exit 3): ``failed`` maps each to why; what succeeded is cached."""

    def __init__(self, message: str, failed: Mapping[str, str]) -> None:
        super().__init__(message)
        self.failed = dict(failed)


@dataclass
class BatchOutcome:
    """The answer to one request: counts, queries to try again (with why), and queries the server refused."""

    counts: dict[str, int] = field(default_factory=dict)
    retry: dict[str, TransientError] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    extra_requests: int = 0  # requests the backend made beyond the one this answers (follow-up queries)


class Backend(Protocol):
    """A network source. ``count`` raises TransientError/PermanentError for failures of the whole request."""

    cache_source: str  # source (and endpoint) part of the cache key
    index: str
    count_kind: str
    endpoint: str  # what error messages name (never with credentials)
    redactor: Redactor  # keeps the backend's secrets out of what it says (optional: NO_SECRETS)

    def count(self, phrases: Sequence[str]) -> BatchOutcome: ...

    def close(self) -> None: ...


@dataclass
class FetchReport:
    counts: dict[str, int]  # every query whose count is known (cached or fetched)
    failed: dict[str, str]  # query -> why it has no count
    from_cache: int
    fetched: int
    requests: int
    stopped_early: str | None = None  # why the run stopped before asking for everything


def fetch_remote(
    backend: Backend,
    queries: Sequence[str],
    cache: CountCache,
    *,
    batch_size: int,
    concurrency: int,
    policy: RetryPolicy,
    refresh: bool = False,
    reporter: Reporter | None = None,
    offline: bool = False,
) -> FetchReport:
    """Get the count of every query: from the cache, else from ``backend``, persisting answers as they come.

    ``offline``: from the cache only; the queries it lacks are reported as failed, and no request is sent.
    """
    reporter = reporter or SILENT
    unique = list(dict.fromkeys(queries))
    cached = {} if refresh else cache.get_counts(backend.cache_source, backend.index, backend.count_kind, unique)
    missing = [q for q in unique if q not in cached]
    report = FetchReport(counts=dict(cached), failed={}, from_cache=len(cached), fetched=0, requests=0)
    if offline:
        report.failed.update((query, NOT_CACHED) for query in missing)
        return report
    if not missing:
        return report
    batches = [missing[start : start + batch_size] for start in range(0, len(missing), batch_size)]
    run = _Run(backend, cache, report, reporter)
    reporter.start(len(unique), f"counting {len(missing)} queries ({backend.endpoint})", "queries")
    reporter.advance(len(cached))
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="fetch-frequencies")
    try:
        for batch in batches:
            pool.submit(run.work, batch, policy)
        ended = 0
        while ended < len(batches):
            kind, payload = run.events.get()
            if kind == "end":
                ended += 1
            else:
                run.handle(kind, payload)
    finally:
        run.stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        _keep_what_arrived(run.events, cache, backend, report.counts)
        report.requests = run.requests
        reporter.finish()
    for query in missing:
        if query not in report.counts and query not in report.failed:
            report.failed[query] = f"not asked: {report.stopped_early}" if report.stopped_early else "not asked"
    return report


class _Run:
    """One fetch_remote run: worker threads call :meth:`work`; the calling thread alone calls :meth:`handle`
    (the cache, the report and the reporter are touched by that thread only)."""

    def __init__(self, backend: Backend, cache: CountCache, report: FetchReport, reporter: Reporter) -> None:
        self.backend, self.cache, self.report, self.reporter = backend, cache, report, reporter
        self.events: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.requests = 0
        self._request_lock = threading.Lock()
        self.had_counts = bool(report.counts)
        self.batches_given_up_in_a_row = 0
        self.retry_causes: set[str] = set()
        # The one place every message of a backend passes (errors, retry notes, failures): secrets out.
        self.redactor: Redactor = getattr(backend, "redactor", NO_SECRETS)

    def count(self, phrases: Sequence[str]) -> BatchOutcome:
        with self._request_lock:
            self.requests += 1
        try:
            outcome = self.backend.count(phrases)
        except (TransientError, PermanentError) as exc:
            _redact_error(exc, self.redactor)
            raise
        with self._request_lock:
            self.requests += outcome.extra_requests
        _reject_invalid_counts(outcome)  # before redacting: a bad count is quoted, and a server chose it
        for why in outcome.retry.values():
            _redact_error(why, self.redactor)
        outcome.failed = {phrase: self.redactor(why) for phrase, why in outcome.failed.items()}
        return outcome

    def work(self, phrases: list[str], policy: RetryPolicy) -> None:
        try:
            _run_batch(phrases, self.count, policy, self.stop, self.events, random.Random())
        except BaseException as exc:  # a bug, not a server failure: hand it to the calling thread
            self.events.put(("crash", exc))
        finally:
            self.events.put(("end", None))

    def handle(self, kind: str, payload) -> None:
        report, backend = self.report, self.backend
        if kind == "counts":
            self.cache.put_counts(backend.cache_source, backend.index, backend.count_kind, payload)
            report.counts.update(payload)
            report.fetched += len(payload)
            self.had_counts = True
            self.batches_given_up_in_a_row = 0
        elif kind == "failed":
            if not self.had_counts:
                # Refused before anything succeeded: the trouble is the run (index, rights), not a query.
                raise InputError(backend.endpoint, next(iter(payload.values())))
            report.failed.update(payload)
        elif kind == "gave-up":
            report.failed.update(payload)
            self.batches_given_up_in_a_row += 1
            if self.batches_given_up_in_a_row >= GIVE_UP_AFTER_FAILED_BATCHES and not self.stop.is_set():
                problem = next(iter(payload.values()))
                report.stopped_early = f"{self.batches_given_up_in_a_row} requests in a row failed: {problem}"
                self.stop.set()
        elif kind == "retrying":
            cause, note = payload
            if cause not in self.retry_causes:  # one note per cause: the rest would repeat it
                self.retry_causes.add(cause)
                self.reporter.note(note)
            return
        elif kind == "fatal":
            raise InputError(backend.endpoint, payload)
        elif kind == "crash":
            raise payload
        self.reporter.advance(len(payload))


def failure_causes(failed: Mapping[str, str]) -> dict[str, list[str]]:
    """The queries that have no count, grouped by why (first seen first); those never asked (a run that
    stopped early) are left out: their cause is the one that stopped it."""
    causes: dict[str, list[str]] = {}
    for query, why in failed.items():
        if not why.startswith("not asked"):
            causes.setdefault(why, []).append(query)
    return causes


def _run_batch(phrases, count, policy: RetryPolicy, stop: threading.Event, events: queue.Queue, rng) -> None:
    pending = list(phrases)
    attempt = 0
    while pending and not stop.is_set():
        attempt += 1
        try:
            outcome = count(pending)
        except TransientError as exc:
            outcome = BatchOutcome(retry={q: exc for q in pending})
        except PermanentError as exc:
            events.put(("fatal", exc.message))
            return
        if outcome.counts:
            events.put(("counts", outcome.counts))
        if outcome.failed:
            events.put(("failed", outcome.failed))
        if not outcome.retry:
            return
        pending = list(outcome.retry)
        problem = next(iter(outcome.retry.values()))
        if attempt >= policy.tries:
            gave_up = {q: f"{why.message} (gave up after {attempt} tries)" for q, why in outcome.retry.items()}
            events.put(("gave-up", gave_up))
            return
        wishes = [why.retry_after for why in outcome.retry.values() if why.retry_after is not None]
        wait = policy.delay(attempt, max(wishes, default=None), rng)
        note = (f"{problem.message}; retrying {len(pending)} queries in {wait:.1f}s "
                f"(try {attempt + 1} of {policy.tries})")
        events.put(("retrying", (problem.message, note)))
        if stop.wait(wait):
            return


def _redact_error(error: TransientError | PermanentError, redactor: Redactor) -> None:
    error.message = redactor(error.message)
    error.args = (error.message,)


def _reject_invalid_counts(outcome: BatchOutcome) -> None:
    """Where server counts enter: a count that is not a non-negative integer below 2^63 is a malformed answer,
    asked again (and after the last try a failed query), never cached or written."""
    for phrase, count in list(outcome.counts.items()):
        problem = count_problem(count)
        if problem:
            del outcome.counts[phrase]
            outcome.retry[phrase] = TransientError(f"invalid count in the answer: {problem}")


def _keep_what_arrived(events: queue.Queue, cache: CountCache, backend: Backend, counts: dict[str, int]) -> None:
    """On the way out (done, error or Ctrl-C), still store answers that arrived but were not yet written."""
    while True:
        try:
            kind, payload = events.get_nowait()
        except queue.Empty:
            return
        if kind == "counts":
            try:
                cache.put_counts(backend.cache_source, backend.index, backend.count_kind, payload)
            except Exception:  # already failing; the next run asks again
                return
            counts.update(payload)


def _cache_file(cache_dir: Path | None) -> Path:
    try:
        return (Path(cache_dir) if cache_dir else default_cache_dir()) / CACHE_FILE
    except RuntimeError:  # no home directory
        return Path(CACHE_FILE)


def _cache_file_exists(cache_dir: Path | None) -> bool:
    try:
        return _cache_file(cache_dir).is_file()
    except OSError:
        return False


def count_remote(backend: Backend, request: CountRequest, *, batch_size: int) -> Counted:
    """A network source's counting function, shared by every source: cache, batches, retries, failures.

    Closes ``backend``. Raises :class:`FetchFailed` (exit 3) when some queries have no count; what was
    counted stays in the cache for the next run.
    """
    options = request.options
    queries = request.queries
    reporter = request.reporter
    try:
        if request.offline and not _cache_file_exists(options.cache_dir):
            # Opening the cache would create it: an offline run writes nothing.
            report = FetchReport(counts={}, failed=dict.fromkeys(queries, NOT_CACHED), from_cache=0, fetched=0,
                                 requests=0)
            cache_where = str(_cache_file(options.cache_dir))
            persistent = False
        else:
            with open_cache(options.cache_dir, reporter.note, read_only=request.offline) as cache:
                report = fetch_remote(
                    backend,
                    queries,
                    cache,
                    batch_size=batch_size,
                    concurrency=options.concurrency or DEFAULT_CONCURRENCY,
                    policy=RetryPolicy.from_environment(tries=options.tries),
                    refresh=options.refresh,
                    reporter=reporter,
                    offline=request.offline,
                )
                cache_where = cache.where
                persistent = cache.path is not None
    finally:
        backend.close()
    if report.failed:
        first = next(iter(report.failed.items()))
        if request.offline:
            raise FetchFailed(
                f"{len(report.failed)} of {len(queries)} queries have no cached count (first: {first[0]!r}) and an "
                f"offline run asks no server; fetch them first (cache: {cache_where}); no output written",
                report.failed,
            )
        if not report.counts:
            kept = f"rerun the same command once {backend.endpoint} answers"
        elif persistent:
            kept = (f"the other {len(report.counts)} counts are cached in {cache_where}: rerun the same command to "
                    "ask only for the missing ones")
        else:
            kept = f"the other {len(report.counts)} counts were not kept (no cache directory)"
        # Stopped early, every failure has the one cause that stopped it: say it once.
        why = f"stopped early: {report.stopped_early}" if report.stopped_early else f"first: {first[0]!r}: {first[1]}"
        raise FetchFailed(
            f"{len(report.failed)} of {len(queries)} queries have no count ({why}); {kept}; no output written",
            report.failed,
        )
    return Counted(
        counts=report.counts, from_cache=report.from_cache, fetched=report.fetched, requests=report.requests
    )
