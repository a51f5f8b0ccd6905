"""Counts from an Elasticsearch index, the way What's In My Big Data (WIMBD) counts them.

WIMBD (allenai/wimbd, ``wimbd/es``) counts the documents whose ``text`` matches a phrase: a
``match_phrase`` on ``text`` in a ``bool`` filter, with ``{"term": {"subset": "en"}}`` added for its ``c4``
index (C4's English subset). We send exactly that query, many at a time, with ``_msearch`` (``size: 0``,
``track_total_hits: true``), on the official client pinned to the 8.x line (WIMBD's server and client are
Elasticsearch 8; a 9.x client asks for compatibility mode 9, which an 8.x server refuses).
The client's own retries are off: ``remote.fetch_remote`` retries, in one place.

The API key is a secret: it is stripped of surrounding whitespace (a key pasted from a file often ends in a
newline), must be printable ASCII (an HTTP header value; the error says so without showing it), and is
redacted from everything the backend says (errors, retry notes, messages of the server), as is the password of
a ``user:password@`` in the URL, in every spelling (:mod:`fomo_order.frequencies.redaction`). Neither reaches
the meta, the cache key or a log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fomo_order.artifacts.freqs import count_problem
from fomo_order.errors import InputError, ParameterError
from fomo_order.fileio import read_mapping_file
from fomo_order.frequencies.redaction import REDACTED as REDACTED  # re-exported: where tests and callers look
from fomo_order.frequencies.redaction import Redactor, redact_url
from fomo_order.frequencies.remote import DEFAULT_CONCURRENCY, BatchOutcome, count_remote
from fomo_order.frequencies.retry import PermanentError, TransientError, parse_retry_after
from fomo_order.frequencies.sources import Counted, CountKind, CountRequest, Source, register

WIMBD_INDEX = "c4"
C4_SUBSET_FILTER = {"term": {"subset": "en"}}
ENV_CLOUD_ID = "ES_CLOUD_ID"
ENV_API_KEY = "ES_API_KEY"
OTHER_SOURCES_HINT = (
    "or use another source: infinigram (public API, no key), corpus (local C4 files), wordfreq (offline estimate)"
)


class CredentialsMissing(ParameterError):  # noqa: N818 (a situation the CLI explains, like CheckFailed)
    """No way to reach WIMBD's cluster was given (the CLI adds how to give one in its own terms)."""

    def __init__(self, problem: str) -> None:
        super().__init__("source", problem)


def phrase_query(phrase: str, index: str) -> dict[str, Any]:
    """WIMBD's query for "documents containing ``phrase``" (with the ``en`` filter on ``c4``)."""
    clauses: list[dict[str, Any]] = [{"match_phrase": {"text": phrase}}]
    if index == WIMBD_INDEX:
        clauses.append(C4_SUBSET_FILTER)
    return {"bool": {"filter": clauses}}


def index_filter(index: str) -> dict[str, Any] | None:
    return C4_SUBSET_FILTER if index == WIMBD_INDEX else None


@dataclass(frozen=True)
class Credentials:
    """Where the cluster is (an Elastic Cloud id or a URL) and the API key, with where each came from."""

    cloud_id: str | None
    url: str | None = field(repr=False)
    api_key: str | None = field(repr=False)
    origin: str  # for error messages: "ES_CLOUD_ID", "es_url" (the parameter), a config file path

    def redactor(self) -> Redactor:
        """What keeps the URL's password and the API key (in every spelling) out of every message."""
        return Redactor.of(self.url, api_key=self.api_key)


def clean_api_key(raw: str | None, origin: str) -> str | None:
    """The key without surrounding whitespace (None when empty), or InputError naming ``origin``: the problem,
    never the key."""
    if raw is None:
        return None
    key = raw.strip()
    if not key:
        return None
    if any(not (" " <= char <= "~") for char in key):
        kind = "a control character" if any(ord(c) < 32 or ord(c) == 127 for c in key) else "a non-ASCII character"
        raise InputError(
            origin,
            f"the API key holds {kind}; an API key is printable ASCII (the key is not shown)",
        )
    return key


def resolve_credentials(
    es_url: str | None, es_config: Path | None, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Pick the cluster and key: ``es_url``, else ``es_config`` (WIMBD's es_config.yml), else the environment.

    The API key comes from the config file when it has one, else from ``ES_API_KEY`` (as in WIMBD).
    """
    environ = os.environ if environ is None else environ
    env_key = clean_api_key(environ.get(ENV_API_KEY), ENV_API_KEY)
    if es_url:
        return Credentials(cloud_id=None, url=es_url, api_key=env_key, origin="es_url")
    if es_config is not None:
        data = read_mapping_file(es_config)
        if not isinstance(data, dict):
            raise InputError(es_config, "expected a mapping with 'cloud_id' and 'api_key' (WIMBD's es_config.yml)")
        cloud_id = data.get("cloud_id")
        if not isinstance(cloud_id, str) or not cloud_id.strip():
            raise InputError(es_config, "has no 'cloud_id' string")
        api_key = data.get("api_key")
        if api_key is not None and not isinstance(api_key, str):
            raise InputError(es_config, "'api_key' is not a string (the key is not shown)")
        api_key = clean_api_key(api_key, f"{es_config}: api_key") or env_key
        if not api_key:
            raise InputError(es_config, f"has no 'api_key', and {ENV_API_KEY} is not set")
        return Credentials(cloud_id=cloud_id.strip(), url=None, api_key=api_key, origin=str(es_config))
    cloud_id = environ.get(ENV_CLOUD_ID) or None
    if cloud_id and not env_key:
        raise CredentialsMissing(
            f"wimbd: {ENV_CLOUD_ID} is set but {ENV_API_KEY} is not set (WIMBD's API key); {OTHER_SOURCES_HINT}"
        )
    if not cloud_id:
        raise CredentialsMissing(
            f"wimbd: no Elasticsearch credentials: set {ENV_CLOUD_ID} and {ENV_API_KEY} (WIMBD's), give WIMBD's "
            f"es_config.yml, or the URL of a self-hosted cluster; {OTHER_SOURCES_HINT}"
        )
    return Credentials(cloud_id=cloud_id.strip(), url=None, api_key=env_key, origin=ENV_CLOUD_ID)


class ElasticsearchBackend:
    """Counts documents with ``_msearch`` on one index; thread-safe (one client, a pool of connections)."""

    count_kind = "documents"

    def __init__(self, credentials: Credentials, index: str, *, concurrency: int, timeout: float) -> None:
        from elasticsearch import Elasticsearch

        from fomo_order.frequencies.deadline import urllib3_node_class

        self.redactor = credentials.redactor()
        options: dict[str, Any] = {
            "api_key": credentials.api_key,
            "request_timeout": timeout,
            "max_retries": 0,
            "retry_on_timeout": False,
            "retry_on_status": (),
            "connections_per_node": max(1, concurrency),
            "http_compress": True,
            "node_class": urllib3_node_class(),  # each request bounded as a whole (RequestDeadline), not per read
        }
        try:
            if credentials.url:
                self.client = Elasticsearch(hosts=[credentials.url], **options)
            else:
                self.client = Elasticsearch(cloud_id=credentials.cloud_id, **options)
        except ValueError as exc:
            problem = self.redactor.excerpt(f"cannot connect: {exc}", 300)
            if credentials.url:
                raise ParameterError("es_url", problem) from None
            raise InputError(credentials.origin, problem) from None
        node = self.client.transport.node_pool.all()[0]
        self.endpoint = redact_url(node.base_url)
        self.index = index
        self.timeout = timeout
        self.cache_source = f"wimbd {self.endpoint}"

    def close(self) -> None:
        self.client.close()

    def count(self, phrases: Sequence[str]) -> BatchOutcome:
        """One ``_msearch`` (``fetch_remote`` redacts what it says: ``self.redactor``)."""
        searches: list[dict[str, Any]] = []
        for phrase in phrases:
            searches.append({})
            searches.append({"size": 0, "track_total_hits": True, "query": phrase_query(phrase, self.index)})
        body = self._send(searches)
        answers = body.get("responses") if isinstance(body, dict) else None
        if not isinstance(answers, list) or len(answers) != len(phrases):
            got = len(answers) if isinstance(answers, list) else "no"
            raise TransientError(f"malformed _msearch answer ({got} responses for {len(phrases)} searches)")
        outcome = BatchOutcome()
        for phrase, answer in zip(phrases, answers, strict=True):
            _read_answer(phrase, answer, outcome, self.redactor)
        return outcome

    def _send(self, searches: list[dict[str, Any]]) -> Any:
        """The ``_msearch`` answer, within ``self.timeout`` for the whole request (connect, send, full answer)."""
        from elastic_transport import TransportError
        from elasticsearch import ApiError

        from fomo_order.frequencies.deadline import RequestDeadline

        deadline = RequestDeadline(self.timeout)
        failure: TransientError | PermanentError | None = None
        try:
            with deadline:
                response = self.client.msearch(index=self.index, searches=searches)
        except (ApiError, TransportError) as exc:
            failure = self._failure(exc)
        if deadline.expired:
            # The watchdog cut the request off; whatever the client made of the rest (an error, or a head cut
            # short read as an answer without the product header) is not the server's answer.
            raise TransientError(f"no complete answer within {self.timeout:g}s")
        if failure is not None:
            raise failure
        return response.body

    def _failure(self, exc: Exception) -> TransientError | PermanentError:
        """What an error of the client means: worth another try, or not."""
        from elastic_transport import ConnectionError as TransportConnectionError
        from elastic_transport import ConnectionTimeout, SerializationError, TlsError
        from elasticsearch import ApiError, UnsupportedProductError

        if isinstance(exc, UnsupportedProductError):
            return PermanentError(f"{exc} (no 'X-Elastic-Product: Elasticsearch' header)")
        if isinstance(exc, ApiError):
            status = exc.meta.status
            message = f"HTTP {status}: {_server_message(exc.body, exc.message, self.redactor)}"
            if status == 429 or status >= 500:
                return TransientError(message, parse_retry_after(exc.meta.headers.get("retry-after")))
            return PermanentError(message)
        said = self.redactor.excerpt(str(getattr(exc, "message", exc)), 300)
        if isinstance(exc, ConnectionTimeout):
            return TransientError(f"no answer within {self.timeout:g}s")
        if isinstance(exc, TlsError):
            return PermanentError(f"TLS error: {said}")
        if isinstance(exc, SerializationError):
            return TransientError(f"malformed answer: {said}")
        kind = "connection failed" if isinstance(exc, TransportConnectionError) else "transport error"
        return TransientError(f"{kind}: {said}")


def _read_answer(phrase: str, answer: Any, outcome: BatchOutcome, redactor: Redactor) -> None:
    if not isinstance(answer, dict):
        outcome.retry[phrase] = TransientError("malformed _msearch answer item")
        return
    if "error" in answer:
        status = answer.get("status")
        message = f"HTTP {status}: {_server_message(answer, 'error', redactor)}"
        if isinstance(status, int) and (status == 429 or status >= 500):
            outcome.retry[phrase] = TransientError(message)
        else:
            outcome.failed[phrase] = message
        return
    shards = answer.get("_shards") or {}
    if answer.get("timed_out") or (isinstance(shards, dict) and shards.get("failed")):
        outcome.retry[phrase] = TransientError("search timed out or a shard failed: partial count")
        return
    total = (answer.get("hits") or {}).get("total")
    if isinstance(total, dict):
        value, relation = total.get("value"), total.get("relation", "eq")
    else:
        value, relation = total, "eq"
    if relation != "eq":
        outcome.retry[phrase] = TransientError(f"hits.total is a bound ({str(relation)[:20]!r}), not an exact count")
        return
    problem = count_problem(value)
    if problem:
        outcome.retry[phrase] = TransientError(f"hits.total.value in the _msearch answer {problem}")
        return
    assert isinstance(value, int)  # count_problem passes ints only
    outcome.counts[phrase] = value


def _server_message(body: Any, fallback: str, redactor: Redactor) -> str:
    """The server's own words: ``type: reason`` of Elasticsearch's error object, on one line, redacted, cut."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        kind, reason = error.get("type"), error.get("reason")
        root = error.get("root_cause")
        if not reason and isinstance(root, list) and root and isinstance(root[0], dict):
            kind, reason = root[0].get("type", kind), root[0].get("reason")
        text = ": ".join(str(part) for part in (kind, reason) if part)
    elif isinstance(error, str):
        text = error
    elif isinstance(body, str) and body.strip():
        text = body
    else:
        text = str(fallback)
    return redactor.excerpt(text, 300)


@register(
    Source.wimbd,
    "documents whose text holds the phrase, in WIMBD's Elasticsearch index of C4 (the paper's counts)",
    count_kinds=(CountKind.documents,),
    count_refusal="wimbd counts documents (as WIMBD); occurrences: the corpus or infinigram source",
    counts_are="documents whose 'text' matches the phrase (Elasticsearch match_phrase), as WIMBD counts",
    default_index=WIMBD_INDEX,
    options=("es_url", "es_config"),
)
def count_wimbd(request: CountRequest) -> Counted:
    options = request.options
    credentials = resolve_credentials(options.es_url, options.es_config)
    concurrency = options.concurrency or DEFAULT_CONCURRENCY
    assert request.index is not None  # the source has a default index
    backend = ElasticsearchBackend(credentials, request.index, concurrency=concurrency, timeout=options.timeout)
    facts = {
        "filter": index_filter(backend.index),
        "query_body": phrase_query("{query}", backend.index),
        "endpoint": backend.endpoint,
        "client": f"elasticsearch-py {_package_version('elasticsearch')}",
    }
    counted = count_remote(backend, request, batch_size=options.batch_size)
    counted.facts = facts
    return counted


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"
