"""Counts from the public infini-gram API (https://infini-gram.io/api_doc): n-gram occurrences, no key.

One JSON POST per phrase, ``{"index": ..., "query_type": "count", "query": phrase}``; the answer is
``{"count": N, ...}`` or, for errors the engine reports, ``{"error": "..."}`` with status 200. Counts are
occurrences of the phrase's Llama-2 token sequence in the index (``v4_c4train_llama``: C4's train split),
case-sensitive, not documents. Each worker thread keeps one keep-alive connection.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from fomo_order.errors import InputError
from fomo_order.frequencies.remote import BatchOutcome
from fomo_order.frequencies.retry import PermanentError, TransientError, parse_retry_after

DEFAULT_API_URL = "https://api.infini-gram.io/"
DEFAULT_INDEX = "v4_c4train_llama"

# A reused keep-alive connection may have been closed by the server while idle; one fresh try is free.
_STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class InfinigramBackend:
    count_kind = "occurrences"

    def __init__(self, api_url: str, index: str, *, timeout: float, user_agent: str) -> None:
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
        self.cache_source = f"infinigram {api_url}"
        self.user_agent = user_agent
        self._local = threading.local()

    def close(self) -> None:
        pass  # connections belong to worker threads and close with them

    def count(self, phrases: Sequence[str]) -> BatchOutcome:
        outcome = BatchOutcome()
        for phrase in phrases:
            try:
                outcome.counts[phrase] = self._count_one(phrase)
            except TransientError as exc:
                outcome.retry[phrase] = exc
            except _RefusedError as exc:
                outcome.failed[phrase] = exc.message
        return outcome

    def _count_one(self, phrase: str) -> int:
        payload = json.dumps({"index": self.index, "query_type": "count", "query": phrase}).encode("utf-8")
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
        return count

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
