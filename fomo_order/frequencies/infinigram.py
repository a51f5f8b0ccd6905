"""Counts from the public infini-gram API (https://infini-gram.io/api_doc): n-gram occurrences, no key.

One JSON POST per phrase, ``{"index": ..., "query_type": "count", "query": ...}``; the answer is
``{"count": N, "approx": bool, ...}`` or, for errors the engine reports, ``{"error": "..."}`` with status 200.
Counts are occurrences of the phrase's Llama-2 token sequence in the index (``v4_c4train_llama``: C4's train
split), case-sensitive, not documents. Each worker thread keeps one ``requests.Session`` (one keep-alive
connection); retries are not the session's but ``remote.fetch_remote``'s, as for every network source.

Case (:class:`CaseMode`): ``exact`` asks for the phrase as written. ``variants`` asks for its distinct case
variants (:func:`case_variants`) in one request, as one CNF clause ``a OR b OR c``: the API counts the
occurrences of any of the terms, i.e. the sum of their counts. The API reads a query string holding
`` AND `` or `` OR `` as a CNF (split on those, case-sensitive, with no way to escape them), so a variant
holding them (the UPPER of ``salt and pepper``) cannot be asked for and is left out; in ``exact`` mode such a
phrase is refused before any request. The engine subsamples a clause with more than ``max_clause_freq``
matches (default 50,000) and answers ``approx: true`` with an estimate; such a phrase is then counted exactly,
one simple request per variant, and summed.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from fomo_order import __version__
from fomo_order.errors import ParameterError
from fomo_order.frequencies.queries import CaseMode, case_variants
from fomo_order.frequencies.redaction import Redactor, redact_url
from fomo_order.frequencies.remote import BatchOutcome, count_remote
from fomo_order.frequencies.retry import PermanentError, TransientError, parse_retry_after
from fomo_order.frequencies.sources import Counted, CountKind, CountRequest, Source, register

DEFAULT_API_URL = "https://api.infini-gram.io/"
DEFAULT_INDEX = "v4_c4train_llama"
# The API server's limits on a query string (api_server.py: MAX_QUERY_CHARS, MAX_TERMS_PER_CLAUSE).
MAX_QUERY_CHARS = 1000
MAX_TERMS_PER_CLAUSE = 4
# A reused keep-alive connection may have been closed by the server while idle; one fresh try is free.
_STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def cnf_terms(query: str) -> list[list[str]]:
    """How the API server reads a query string: clauses split on `` AND ``, each split into terms on `` OR ``."""
    if " AND " not in query and " OR " not in query:
        return [[query]]
    return [clause.split(" OR ") for clause in query.split(" AND ")]


def sendable_variants(phrase: str, case: CaseMode) -> tuple[list[str], list[str]]:
    """The spellings of ``phrase`` to count, and those left out because the API would read them as operators.

    ``exact``: the phrase alone (left out when it holds `` AND ``/`` OR ``). ``variants``: each case variant
    whose addition keeps the joined ``a OR b ...`` one clause of exactly those terms.
    """
    candidates = [phrase] if case is CaseMode.exact else case_variants(phrase)
    kept: list[str] = []
    left_out: list[str] = []
    for variant in candidates:
        trial = [*kept, variant]
        (kept if cnf_terms(" OR ".join(trial)) == [trial] else left_out).append(variant)
    return kept, left_out


class InfinigramBackend:
    count_kind = "occurrences"

    def __init__(
        self, api_url: str, index: str, *, timeout: float, user_agent: str, case: CaseMode = CaseMode.exact
    ) -> None:
        shown = redact_url(api_url)
        try:  # a recorded "user:[redacted]@" is no IPv6 host: read the URL without its user part
            parts = urlsplit(re.sub(r"//[^/?#]*@", "//", api_url, count=1))
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
        except ValueError:  # a bad port or IPv6 host
            valid = False
        if not valid:
            raise ParameterError("api_url", f"{shown!r} is not an http(s) URL")
        self.url = api_url if parts.path else api_url + "/"
        # A user:password@ in the URL (which requests sends as Basic auth), and those of the proxies requests
        # may go through, stay out of messages, the meta and the cache key.
        self.redactor = Redactor.of(api_url, *_proxy_urls())
        self.endpoint = shown
        self.index = index
        self.timeout = timeout
        self.case = CaseMode(case)
        # Exact counts keep the key they had before case variants existed, so existing caches still serve them.
        mode = "" if self.case is CaseMode.exact else f" case={self.case.value}"
        self.cache_source = f"infinigram{mode} {self.endpoint}"
        self.user_agent = user_agent
        self.counted_by_variant = 0  # phrases whose OR count was approximate, then counted variant by variant
        self._tally = threading.Lock()
        self._local = threading.local()
        self._sessions: list[Any] = []  # every worker's session, closed by close()

    def close(self) -> None:
        with self._tally:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def count(self, phrases: Sequence[str]) -> BatchOutcome:
        outcome = BatchOutcome()
        for phrase in phrases:
            try:
                outcome.counts[phrase], extra = self._count_phrase(phrase)
                outcome.extra_requests += extra
            except TransientError as exc:
                outcome.retry[phrase] = exc
            except _RefusedError as exc:
                outcome.failed[phrase] = exc.message
        return outcome

    def _count_phrase(self, phrase: str) -> tuple[int, int]:
        """The phrase's count under ``self.case``, and how many requests beyond the first it took."""
        terms, _ = sendable_variants(phrase, self.case)
        if not terms:
            raise _RefusedError("holds ' AND ' or ' OR ', which the infini-gram API reads as operators")
        if len(terms) == 1:
            return self._count_one(terms[0])[0], 0
        query = " OR ".join(terms)
        if len(query) <= MAX_QUERY_CHARS and len(terms) <= MAX_TERMS_PER_CLAUSE:
            count, approx = self._count_one(query)
            if not approx:
                return count, 0
            extra = 1
        else:
            extra = 0  # the server would refuse the long OR query: ask for each variant alone
        # A subsampled estimate is truncated by the engine's integer scale factor; simple counts are exact.
        total = sum(self._count_one(term)[0] for term in terms)
        with self._tally:
            self.counted_by_variant += 1
        return total, extra + len(terms) - 1

    def _count_one(self, query: str) -> tuple[int, bool]:
        payload = json.dumps({"index": self.index, "query_type": "count", "query": query}).encode("utf-8")
        status, headers, body = self._post(payload)
        if status == 429 or status >= 500:
            raise TransientError(f"HTTP {status}: {self._excerpt(body)}", parse_retry_after(headers.get("Retry-After")))
        if status != 200:
            raise PermanentError(f"HTTP {status}: {self._excerpt(body)}")
        try:
            answer = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TransientError(f"malformed JSON answer: {self._excerpt(body)}") from None
        if isinstance(answer, dict) and "error" in answer:
            raise _RefusedError(f"server said: {self.redactor.excerpt(str(answer['error']), 300)}")
        count = answer.get("count") if isinstance(answer, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise TransientError(f"answer without a count: {self._excerpt(body)}")
        return count, answer.get("approx") is True

    def _post(self, payload: bytes) -> tuple[int, Mapping[str, str], bytes]:
        """Status, headers and body of one POST, within ``self.timeout`` for all of it (connect, send, the
        whole answer): a server that trickles its answer is cut off, as one that does not answer."""
        import requests

        from fomo_order.frequencies.deadline import RequestDeadline

        session, reused = self._session()
        deadline = RequestDeadline(self.timeout)
        with deadline:
            for attempt in (1, 2):
                try:
                    response = session.post(self.url, data=payload, timeout=self.timeout)
                    body = response.content
                except requests.RequestException as exc:
                    if deadline.expired:
                        raise TransientError(f"no complete answer within {self.timeout:g}s") from None
                    if isinstance(exc, requests.Timeout):
                        raise TransientError(f"no answer within {self.timeout:g}s") from None
                    if isinstance(exc, requests.exceptions.SSLError):
                        raise PermanentError(f"TLS error: {self._reason(exc)}") from None
                    stale = isinstance(exc, requests.ConnectionError) and isinstance(_cause(exc),
                                                                                    _STALE_CONNECTION_ERRORS)
                    if reused and attempt == 1 and stale:
                        continue  # urllib3 replaces the dead connection
                    raise TransientError(f"connection failed: {self._reason(exc)}") from None
                break
        if deadline.expired:  # cut off, yet the parts that came read as an answer (a head without its body)
            raise TransientError(f"no complete answer within {self.timeout:g}s")
        return response.status_code, response.headers, body

    def _excerpt(self, body: bytes) -> str:
        return self.redactor.excerpt(body.decode("utf-8", "replace"), 200) or "(empty body)"

    def _reason(self, exc: BaseException) -> str:
        """The innermost cause of a requests/urllib3 error, on one line (not the wrappers around it)."""
        cause = _cause(exc)
        text = " ".join((str(cause) or type(cause).__name__).split())
        # urllib3 prefixes its own connection object ("HTTPSConnection(host='h', port=443): "): not the cause.
        text = re.sub(r"^\w*Connection(Pool)?\([^)]*\):\s*", "", text)
        return self.redactor.excerpt(text, 300)

    def _session(self) -> tuple[Any, bool]:
        """This worker thread's session, and whether it has been used before (its connection may be stale)."""
        session = getattr(self._local, "session", None)
        if session is not None:
            return session, True
        import requests

        from fomo_order.frequencies.deadline import http_adapter

        session = requests.Session()
        # One connection per worker; no retries here: fetch_remote retries, in one place, for every source.
        # The adapter's connections are the ones a RequestDeadline can cut (see _post).
        adapter = http_adapter(pool_connections=1, pool_maxsize=1, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update(
            {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": self.user_agent}
        )
        self._local.session = session
        with self._tally:
            self._sessions.append(session)
        return session, False


class _RefusedError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _cause(exc: BaseException) -> BaseException:
    """The innermost error that a requests/urllib3 error wraps (its ``reason`` or an exception argument)."""
    cause = exc
    for _ in range(6):
        inner = getattr(cause, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((arg for arg in cause.args if isinstance(arg, BaseException)), None)
        if inner is None:
            break
        cause = inner
    return cause


def _proxy_urls() -> list[str]:
    """The proxies requests may use (``HTTPS_PROXY`` and the like): their passwords are secrets too."""
    from urllib.request import getproxies

    return [url for url in getproxies().values() if isinstance(url, str)]


def _counts_are(request: CountRequest) -> str:
    if CaseMode(request.options.case or CaseMode.variants) is CaseMode.exact:
        return (
            "occurrences of the phrase's token sequence (n-gram count, Llama-2 tokenizer, case-sensitive) "
            "in the infini-gram index; not documents"
        )
    return (
        "occurrences of the phrase's token sequence (n-gram count, Llama-2 tokenizer) in the "
        "infini-gram index, summed over its distinct case variants (as given, lower, Title, UPPER) "
        "asked as one CNF OR clause; a variant holding ' AND '/' OR ' is left out; not documents"
    )


class OperatorWordsInExactCase(ParameterError):  # noqa: N818 (a situation the CLI explains)
    """``case=exact`` for phrases the API would read as operators (the CLI says which flags help)."""

    def __init__(self, problem: str) -> None:
        super().__init__("case", problem)


@register(
    Source.infinigram,
    "occurrences of the phrase's tokens (n-grams) in the public infini-gram index of C4",
    count_kinds=(CountKind.occurrences,),
    count_refusal="infini-gram counts occurrences (n-grams); documents: the wimbd or corpus source",
    counts_are=_counts_are,
    default_index=DEFAULT_INDEX,
    options=("api_url", "case"),
)
def count_infinigram(request: CountRequest) -> Counted:
    options = request.options
    case = CaseMode(options.case or CaseMode.variants)
    left_out = {query: sendable_variants(query, case)[1] for query in request.queries}
    left_out = {query: variants for query, variants in left_out.items() if variants}
    if case is CaseMode.exact and left_out:
        raise OperatorWordsInExactCase(
            f"exact: {len(left_out)} queries hold ' AND ' or ' OR ', which the infini-gram API reads as operators "
            f"and cannot escape (first: {next(iter(left_out))!r}); count them with case variants (their other "
            "spellings), or give them other queries"
        )
    assert request.index is not None  # the source has a default index
    backend = InfinigramBackend(
        options.api_url or DEFAULT_API_URL,
        request.index,
        timeout=options.timeout,
        user_agent=f"fomo-order/{__version__}",
        case=case,
    )
    facts: dict[str, Any] = {"case": case.value}
    if case is CaseMode.variants:
        facts["case_variants_left_out"] = len(left_out)
        if left_out:
            request.notes.append(f"{len(left_out)} queries: a case variant holding AND/OR left out")
    facts["endpoint"] = backend.endpoint
    counted = count_remote(backend, request, batch_size=1)
    if backend.counted_by_variant:
        request.notes.append(
            f"{backend.counted_by_variant} queries counted variant by variant (their OR count was approximate)"
        )
    counted.facts = facts
    return counted
