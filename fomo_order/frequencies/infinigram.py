"""Counts from the public infini-gram API (https://infini-gram.io/api_doc): n-gram occurrences, no key.

One JSON POST per phrase, ``{"index": ..., "query_type": "count", "query": ...}``; the answer is
``{"count": N, "approx": bool, ...}`` or, for errors the engine reports, ``{"error": "..."}`` with status 200.
Counts are occurrences of the phrase's Llama-2 token sequence in the index (``v4_c4train_llama``: C4's train
split), case-sensitive, not documents. Each worker thread keeps one keep-alive connection.

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
import ssl
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from fomo_order.errors import InputError
from fomo_order.frequencies.queries import CaseMode, case_variants
from fomo_order.frequencies.remote import BatchOutcome
from fomo_order.frequencies.retry import PermanentError, TransientError, parse_retry_after

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
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError("--api-url", f"{api_url!r} is not an http(s) URL")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.path = parts.path or "/"
        if parts.query:
            self.path += "?" + parts.query
        self.endpoint = api_url
        self.index = index
        self.timeout = timeout
        self.case = CaseMode(case)
        # Exact counts keep the key they had before case variants existed, so existing caches still serve them.
        mode = "" if self.case is CaseMode.exact else f" case={self.case.value}"
        self.cache_source = f"infinigram{mode} {api_url}"
        self.user_agent = user_agent
        self.counted_by_variant = 0  # phrases whose OR count was approximate, then counted variant by variant
        self._tally = threading.Lock()
        self._local = threading.local()

    def close(self) -> None:
        pass  # connections belong to worker threads and close with them

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
            raise TransientError(f"HTTP {status}: {_excerpt(body)}", parse_retry_after(headers.get("Retry-After")))
        if status != 200:
            raise PermanentError(f"HTTP {status}: {_excerpt(body)}")
        try:
            answer = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TransientError(f"malformed JSON answer: {_excerpt(body)}") from None
        if isinstance(answer, dict) and "error" in answer:
            raise _RefusedError(f"server said: {answer['error']}")
        count = answer.get("count") if isinstance(answer, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise TransientError(f"answer without a count: {_excerpt(body)}")
        return count, answer.get("approx") is True

    def _post(self, payload: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": self.user_agent}
        connection = getattr(self._local, "connection", None)
        reused = connection is not None
        for attempt in (1, 2):
            if connection is None:
                connection = self._connect()
            try:
                connection.request("POST", self.path, body=payload, headers=headers)
                response = connection.getresponse()
                body = response.read()
            except _STALE_CONNECTION_ERRORS as exc:
                connection.close()
                connection = self._local.connection = None
                if reused and attempt == 1:
                    continue
                raise TransientError(f"connection dropped: {exc or type(exc).__name__}") from None
            except TimeoutError:
                connection.close()
                self._local.connection = None
                raise TransientError(f"no answer within {self.timeout:g}s") from None
            except ssl.SSLCertVerificationError as exc:
                connection.close()
                self._local.connection = None
                raise PermanentError(f"TLS error: {exc}") from None
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                self._local.connection = None
                raise TransientError(f"connection failed: {exc or type(exc).__name__}") from None
            if response.will_close:
                connection.close()
                self._local.connection = None
            else:
                self._local.connection = connection
            return response.status, response.headers, body
        raise AssertionError("unreachable")

    def _connect(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)


class _RefusedError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _excerpt(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    return " ".join(text.split())[:200] or "(empty body)"
