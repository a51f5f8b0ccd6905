"""Loopback stand-ins for the servers ``fetch-frequencies`` talks to, with faults on demand.

- :class:`ElasticsearchStandIn` answers ``_msearch`` and ``_count`` as Elasticsearch 8 does (status codes,
  error objects, the ``X-Elastic-Product: Elasticsearch`` header the official client checks, refusal of a
  9.x client's ``compatible-with=9`` media types), counting a phrase as :func:`es_count`.
- :class:`InfinigramStandIn` answers the infini-gram API's ``count`` queries as :func:`infinigram_count`,
  CNF OR clauses as the sum over their terms.

Faults are queued with :meth:`StandIn.inject` and consumed one per request, in order: ``Fault("429",
retry_after=1)``, ``Fault("500")``, ``Fault("timeout", seconds=2)``, ``Fault("malformed")``, ``Fault("drop")``,
``Fault("count", value=-7)`` (every count of the answer replaced by ``value``, which need not be a count),
``Fault("trickle", seconds=0.02)`` (the whole answer, status line and headers included, one byte every
``seconds``; ``"trickle-body"``: the headers at once, then the body so), ``Fault("echo", status=500)`` (an
error whose body repeats the request's headers, ``Authorization`` first and also base64-decoded,
percent-encoded and re-encoded URL-safe, as a careless proxy or debug page might).
``ElasticsearchStandIn(echo_credentials=True)`` repeats the request's ``Authorization`` header in its error
messages (as a careless proxy might), so that tests can check the key never reaches the user.
Every request is logged (the phrases it asked for), so tests can tell what was asked and how often.
Used by the tests and by ``benchmarks/bench_frequencies.py`` (which puts the repository root on ``sys.path``);
not part of the package; standard library only.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import json
import socket
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

C4_OTHER_SUBSETS = 1_000_000  # added to a c4 count when the query lacks WIMBD's subset filter


def es_count(phrase: str) -> int:
    """The stand-in's document count for a phrase (with the ``subset: en`` filter on ``c4``)."""
    return zlib.crc32(phrase.encode("utf-8")) % 100_000


def infinigram_count(phrase: str) -> int:
    return zlib.crc32(("ig:" + phrase).encode("utf-8")) % 1_000_000


@dataclass
class Fault:
    # "429", "500", "503", "timeout", "malformed", "drop", "ok" (no fault), "error-item" (msearch), "count",
    # "trickle", "trickle-body", "echo"
    kind: str
    retry_after: float | None = None
    seconds: float = 0.0  # "timeout": the wait before answering; "trickle": the pause between bytes
    status: int = 429  # for "error-item" and "echo"
    value: Any = None  # for "count": what every count of the answer becomes (any JSON value, e.g. -7, 2**70, "x")


@dataclass
class Request:
    path: str
    phrases: list[str]
    headers: dict[str, str]
    body: Any
    received_at: float = 0.0
    answered: bool = False
    fault: str | None = None
    client_port: int = 0  # which connection it came on (a kept-alive connection sends many requests)


@dataclass
class _State:
    faults: list[Fault] = field(default_factory=list)
    log: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    max_in_flight: int = 0
    connections: set = field(default_factory=set)  # open client sockets


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:  # dropped and timed-out connections are on purpose
        pass


class StandIn:
    """A threaded HTTP/1.1 server on 127.0.0.1 with a random port; use as a context manager."""

    echo_as_text = False  # the body of an "echo" fault: plain text, or Elasticsearch's error object

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.state = _State()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # What tests use ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def inject(self, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    @property
    def requests(self) -> list[Request]:
        with self.state.lock:
            return list(self.state.log)

    def phrases_asked(self) -> Counter:
        """How many times each phrase was sent (in any request, answered or not)."""
        asked: Counter = Counter()
        for request in self.requests:
            asked.update(request.phrases)
        return asked

    @property
    def max_in_flight(self) -> int:
        """The most requests the server was handling at one time."""
        with self.state.lock:
            return self.state.max_in_flight

    def close_idle_connections(self) -> None:
        """Close every kept-alive connection, as a server does after an idle timeout."""
        with self.state.lock:
            connections = list(self.state.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with self.state.lock:
                if not self.state.connections:
                    return
            time.sleep(0.01)

    def clear(self) -> None:
        with self.state.lock:
            self.state.log.clear()
            self.state.faults.clear()
            self.state.max_in_flight = 0

    def start(self) -> StandIn:
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # For subclasses ------------------------------------------------------------------------------

    def respond(self, handler: _Handler, path: str, body: bytes) -> tuple[int, dict[str, str], bytes, list[str]]:
        raise NotImplementedError

    def _next_fault(self) -> Fault | None:
        with self.state.lock:
            return self.state.faults.pop(0) if self.state.faults else None

    def _handler_class(self):
        standin = self

        class Handler(_Handler):
            owner = standin

        return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body leave in two packets and wait for a delayed ACK
    owner: StandIn

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.owner.state.lock:
            self.owner.state.connections.add(self.connection)

    def finish(self) -> None:
        with self.owner.state.lock:
            self.owner.state.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        state = self.owner.state
        with state.lock:
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            self._answer()
        finally:
            with state.lock:
                state.in_flight -= 1

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        owner = self.owner
        status, headers, payload, phrases = owner.respond(self, self.path, body)
        request = Request(
            path=self.path,
            phrases=phrases,
            headers=dict(self.headers.items()),
            body=body,
            received_at=time.monotonic(),
            client_port=self.client_address[1],
        )
        fault = owner._next_fault() if status == 200 else None
        request.fault = fault.kind if fault else None
        with owner.state.lock:
            owner.state.log.append(request)
        if owner.latency:
            time.sleep(owner.latency)
        if fault is not None:
            answer = self._apply(fault, status, headers, payload)
            if answer is None:  # the connection was dropped
                return
            status, headers, payload = answer
            if fault.kind in ("trickle", "trickle-body"):
                request.answered = self._trickle(status, headers, payload, fault)
                return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        request.answered = True

    def _trickle(self, status: int, headers: dict[str, str], payload: bytes, fault: Fault) -> bool:
        """Send the answer one byte every ``fault.seconds`` (its head at once for "trickle-body"); whether the
        client stayed for all of it."""
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        lines += [f"{name}: {value}" for name, value in {**headers, "Content-Length": str(len(payload))}.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        slow = head + payload
        try:
            if fault.kind == "trickle-body":
                self.wfile.write(head)
                slow = payload
            for offset in range(len(slow)):
                self.wfile.write(slow[offset : offset + 1])
                time.sleep(fault.seconds)
        except OSError:  # the client gave up: what this fault is for
            self.close_connection = True
            return False
        return True

    def _echo(self, fault: Fault, json_headers: dict[str, str]):
        """An error whose text repeats the request's headers, the credential in several spellings first."""
        authorization = self.headers.get("Authorization") or ""
        token = authorization.split(" ", 1)[-1]
        try:
            decoded = base64.b64decode(token, validate=True).decode("latin-1")
        except (binascii.Error, ValueError):
            decoded = ""
        spellings = [
            f"Authorization: {authorization}",
            f"decoded: {decoded}",
            f"quoted: {quote(authorization, safe='')}",
            f"urlsafe: {base64.urlsafe_b64encode(decoded.encode('latin-1')).decode().rstrip('=')}",
            f"token: {token}",
        ]
        others = [f"{name}: {value}" for name, value in self.headers.items() if name.lower() != "authorization"]
        reason = "request rejected; it had " + "; ".join(spellings + others)
        if self.owner.echo_as_text:
            return fault.status, {"Content-Type": "text/plain"}, reason.encode("utf-8")
        body = json.dumps(_es_error("echo_exception", reason, fault.status)).encode()
        return fault.status, json_headers, body

    def _apply(self, fault: Fault, status, headers, payload):
        json_headers = {k: v for k, v in headers.items() if k.lower() in ("content-type", "x-elastic-product")}
        if fault.kind in ("ok", "trickle", "trickle-body"):
            return status, headers, payload
        if fault.kind == "echo":
            return self._echo(fault, json_headers)
        if fault.kind in ("429", "500", "502", "503"):
            code = int(fault.kind)
            extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            reason = "rejected execution (queue capacity reached)" if code == 429 else "internal failure"
            if getattr(self.owner, "echo_credentials", False):
                reason += f" (request had Authorization: {self.headers.get('Authorization')})"
            kind = "es_rejected_execution_exception" if code == 429 else "internal_server_error"
            return code, {**json_headers, **extra}, json.dumps(_es_error(kind, reason, code)).encode()
        if fault.kind == "timeout":
            time.sleep(fault.seconds)
            return status, headers, payload
        if fault.kind == "malformed":
            return 200, json_headers, payload[: max(1, len(payload) // 2)] + b"\x00}{"
        if fault.kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault.kind == "count":
            answer = json.loads(payload)
            if "responses" in answer:
                for item in answer["responses"]:
                    if isinstance(item.get("hits"), dict):
                        item["hits"]["total"]["value"] = fault.value
            elif "count" in answer:
                answer["count"] = fault.value
            return status, headers, json.dumps(answer).encode()
        if fault.kind == "error-item":
            answer = json.loads(payload)
            if fault.status == 429:
                kind, reason = "es_rejected_execution_exception", "rejected execution of search"
            else:
                kind, reason = "query_shard_exception", "failed to create query"
            answer["responses"][0] = _es_error(kind, reason, fault.status)
            return status, headers, json.dumps(answer).encode()
        raise ValueError(f"unknown fault {fault.kind!r}")


def _es_error(kind: str, reason: str, status: int, **extra: Any) -> dict:
    cause = {"type": kind, "reason": reason, **extra}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


class ElasticsearchStandIn(StandIn):
    """``_msearch``/``_count`` over indices ``indices``; an API key is required when ``api_key`` is set."""

    def __init__(
        self,
        latency: float = 0.0,
        indices: tuple[str, ...] = ("c4", "other"),
        api_key: str | None = None,
        product_header: bool = True,
        echo_credentials: bool = False,
    ):
        super().__init__(latency)
        self.indices = set(indices)
        self.api_key = api_key
        self.product_header = product_header
        self.echo_credentials = echo_credentials

    def respond(self, handler, path, body):
        accept = handler.headers.get("Accept", "") or ""
        content_type = handler.headers.get("Content-Type", "") or ""
        compatible = "compatible-with=8" in accept
        media = "application/vnd.elasticsearch+json;compatible-with=8" if compatible else "application/json"
        headers = {"Content-Type": media}
        if self.product_header:
            headers["X-Elastic-Product"] = "Elasticsearch"
        if any("compatible-with=" in h and "compatible-with=8" not in h for h in (accept, content_type)):
            error = _es_error(
                "media_type_header_exception",
                "Invalid media-type value on headers [Accept, Content-Type]",
                400,
            )
            return 400, headers, json.dumps(error).encode(), []
        if self.api_key is not None and handler.headers.get("Authorization") != f"ApiKey {self.api_key}":
            reason = (
                "unable to authenticate with provided credentials and anonymous access is not allowed for this request"
            )
            if self.echo_credentials:
                reason += f" (Authorization: {handler.headers.get('Authorization')})"
            error = _es_error("security_exception", reason, 401)
            challenge = {"WWW-Authenticate": 'ApiKey, Basic realm="security"'}
            return 401, {**headers, **challenge}, json.dumps(error).encode(), []
        route = path.split("?")[0].strip("/").split("/")
        if route[-1] == "_msearch":
            return self._msearch(route[0] if len(route) == 2 else None, body, headers)
        if route[-1] == "_count" and len(route) == 2:
            return self._count(route[0], body, headers)
        if route == [""]:
            info = {"name": "standin", "version": {"number": "8.11.1"}, "tagline": "You Know, for Search"}
            return 200, headers, json.dumps(info).encode(), []
        return 404, headers, json.dumps(_es_error("no_handler_found", f"no handler for {path}", 404)).encode(), []

    def _msearch(self, path_index, body, headers):
        lines = [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]
        responses, phrases = [], []
        for header, search in zip(lines[0::2], lines[1::2], strict=True):
            index = header.get("index", path_index)
            phrase, count = self._search_count(index, search.get("query"))
            phrases.append(phrase)
            if index not in self.indices:
                responses.append({**_es_error("index_not_found_exception", f"no such index [{index}]", 404,
                                              index=index), "status": 404})
                continue
            responses.append({
                "took": 1,
                "timed_out": False,
                "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                "hits": {"total": {"value": count, "relation": "eq"}, "max_score": None, "hits": []},
                "status": 200,
            })
        return 200, headers, json.dumps({"took": 1, "responses": responses}).encode(), phrases

    def _count(self, index, body, headers):
        query = json.loads(body).get("query") if body else None
        phrase, count = self._search_count(index, query)
        if index not in self.indices:
            error = _es_error("index_not_found_exception", f"no such index [{index}]", 404, index=index)
            return 404, headers, json.dumps(error).encode(), [phrase]
        answer = {"count": count, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}
        return 200, headers, json.dumps(answer).encode(), [phrase]

    @staticmethod
    def _search_count(index: str | None, query: Any) -> tuple[str, int]:
        clauses = []
        boolean = (query or {}).get("bool", {})
        for key in ("filter", "must", "should"):
            value = boolean.get(key, [])
            clauses.extend(value if isinstance(value, list) else [value])
        phrase = None
        has_subset = False
        for clause in clauses:
            if "match_phrase" in clause:
                value = clause["match_phrase"]["text"]
                phrase = value["query"] if isinstance(value, dict) else value
            if clause.get("term") == {"subset": "en"}:
                has_subset = True
        if phrase is None:
            return "", 0
        count = es_count(phrase)
        if index == "c4" and not has_subset:
            count += C4_OTHER_SUBSETS
        return phrase, count


class InfinigramStandIn(StandIn):
    """The ``count`` query as the infini-gram API server reads it (its ``api_server.py`` and engine).

    A query string holding `` AND `` or `` OR `` is a CNF: clauses split on `` AND ``, terms on `` OR ``
    (case-sensitive, no escape), at most 4 of each and 1000 characters. One clause counts the occurrences
    of any of its terms: the sum of :func:`infinigram_count`. Above ``max_clause_freq`` matches (the
    request's, else 50,000 as the API's default) the engine subsamples the clause and answers ``approx:
    true`` with the sample scaled by an integer factor, as the engine does (one shard). Several clauses (a
    co-occurrence count) get an unrelated number, so that a client sending one by mistake is caught.
    """

    echo_as_text = True

    def __init__(
        self, latency: float = 0.0, indices: tuple[str, ...] = ("v4_c4train_llama",), max_clause_freq: int = 50_000
    ):
        super().__init__(latency)
        self.indices = set(indices)
        self.max_clause_freq = max_clause_freq

    def respond(self, handler, path, body):
        headers = {"Content-Type": "application/json"}
        try:
            request = json.loads(body)
        except json.JSONDecodeError:
            return 400, headers, b'{"detail": "malformed request"}', []
        query = request.get("query", "")

        def error(message: str):
            return 200, headers, json.dumps({"error": message}).encode(), [query]

        if request.get("index") not in self.indices:
            return error(f"Invalid index: {request.get('index')}")
        if request.get("query_type") != "count":
            return error("Invalid query_type")
        if query == "":
            return error("Please enter at least one token")
        if len(query) > 1000:
            return error("Please limit your input to <= 1000 characters!")
        approx = False
        if " AND " not in query and " OR " not in query:
            count = infinigram_count(query)
        else:
            cnf = [clause.split(" OR ") for clause in query.split(" AND ")]
            if len(cnf) > 4:
                return error("Please enter at most 4 disjunctive clauses!")
            if any(len(clause) > 4 for clause in cnf):
                return error("Please enter at most 4 terms in each disjunctive clause!")
            if len(cnf) > 1:
                count = infinigram_count("AND:" + query) % 1000
            else:
                count, approx = self._clause_count(cnf[0], request.get("max_clause_freq") or self.max_clause_freq)
        answer = {"count": count, "approx": approx, "latency": 0.5, "token_ids": [1], "tokens": ["x"]}
        return 200, headers, json.dumps(answer).encode(), [query]

    @staticmethod
    def _clause_count(terms: list[str], cap: int) -> tuple[int, bool]:
        lengths = [infinigram_count(term) for term in terms]
        total = sum(lengths)
        if total <= cap:
            return total, False
        sampled = sum(-(-length * cap // total) for length in lengths)  # ceil, per term
        return sampled * (total // sampled), True
