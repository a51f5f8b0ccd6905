"""A deadline for a whole HTTP request: connect, send, and the full answer, however slowly it comes.

A socket timeout bounds each read, not the request: a server that trickles its answer a byte at a time
keeps a client waiting forever. Inside ``with RequestDeadline(seconds) as deadline:`` every connection the
thread uses for its request (urllib3's, through the connection classes below: elasticsearch-py's transport
and requests both use urllib3) is shut down when the deadline passes, by one watchdog thread for the whole
process; the blocked read then returns at once, the library raises its connection error, and
``deadline.expired`` tells the caller that the cause was the deadline. The connections are watched through a
duplicate of their file descriptor: shutting that down ends the connection whatever wraps the socket (TLS
included, its handshake too), and it can never be another file's descriptor.

Used by :mod:`fomo_order.frequencies.wimbd` (:func:`urllib3_node_class`) and
:mod:`fomo_order.frequencies.infinigram` (:func:`http_adapter`). Heavy imports stay inside the functions.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from urllib3.connectionpool import HTTPConnectionPool

_local = threading.local()
_PRUNE_AT = 1024


class RequestDeadline:
    """``seconds`` from entering for everything the thread sends and receives; ``expired`` once they passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._finished = False
        self._handles: list[tuple[socket.socket, bool]] = []  # (handle, whether it is our duplicate)
        self._previous: RequestDeadline | None = None

    def __enter__(self) -> RequestDeadline:
        self._previous = getattr(_local, "deadline", None)
        _local.deadline = self
        _WATCHDOG.schedule(time.monotonic() + self.seconds, self)
        return self

    def __exit__(self, *exc: object) -> None:
        _local.deadline = self._previous
        with self._lock:
            self._finished = True
            handles, self._handles = self._handles, []
        for handle, owned in handles:
            if owned:
                handle.close()

    def watch(self, sock: socket.socket | None) -> None:
        """Shut ``sock``'s connection down when the deadline passes (at once if it has)."""
        if sock is None:
            return
        try:
            handle, owned = _duplicate(sock), True
        except OSError:  # closed already, or a platform that cannot duplicate a socket's descriptor
            handle, owned = sock, False
        with self._lock:
            if not self._finished:
                self._handles.append((handle, owned))
                if self.expired:
                    _shut(handle)
                return
        if owned:
            handle.close()

    @property
    def finished(self) -> bool:
        return self._finished

    def expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            for handle, _ in self._handles:
                _shut(handle)


def current_deadline() -> RequestDeadline | None:
    return getattr(_local, "deadline", None)


def _duplicate(sock: socket.socket) -> socket.socket:
    """A plain socket on a new descriptor for ``sock``'s connection (shutting it down ends that connection)."""
    fd = os.dup(sock.fileno())
    try:
        return socket.socket(fileno=fd)
    except OSError:
        os.close(fd)
        raise


def _shut(handle: socket.socket) -> None:
    with contextlib.suppress(OSError):
        socket.socket.shutdown(handle, socket.SHUT_RDWR)  # the plain socket's: a TLS wrapper's would unwrap


class _Watchdog:
    """One daemon thread that expires deadlines in time order (a heap); finished ones are skipped."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, RequestDeadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._prune_at = _PRUNE_AT

    def schedule(self, when: float, deadline: RequestDeadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (when, next(self._order), deadline))
            if len(self._heap) >= self._prune_at:  # finished deadlines wait for their time: drop them now and then
                self._heap = [entry for entry in self._heap if not entry[2].finished]
                heapq.heapify(self._heap)
                self._prune_at = max(_PRUNE_AT, 2 * len(self._heap))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="request-deadlines", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                when, _, deadline = self._heap[0]
                now = time.monotonic()
                if when > now:
                    self._wake.wait(when - now)
                    continue
                heapq.heappop(self._heap)
            deadline.expire()


_WATCHDOG = _Watchdog()


class _DeadlineConnection:
    """Mixed into a urllib3 connection class: the thread's deadline watches every socket the connection uses."""

    def _new_conn(self) -> Any:
        sock = super()._new_conn()  # type: ignore[misc]
        deadline = current_deadline()
        if deadline is not None:
            deadline.watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        deadline = current_deadline()
        if deadline is not None:
            deadline.watch(getattr(self, "sock", None))  # a kept-alive connection's socket
        return super().request(*args, **kwargs)  # type: ignore[misc]


@cache
def deadline_connection_class(connection_class: type) -> type:
    """``connection_class`` (a urllib3 connection class) whose sockets the thread's deadline watches."""
    return type(f"Deadline{connection_class.__name__}", (_DeadlineConnection, connection_class), {})


@cache
def deadline_pool_class(pool_class: type[HTTPConnectionPool]) -> type:
    """``pool_class`` (a urllib3 connection pool class) making :func:`deadline_connection_class` connections."""
    connection = deadline_connection_class(pool_class.ConnectionCls)
    return type(f"Deadline{pool_class.__name__}", (pool_class,), {"ConnectionCls": connection})


def _deadline_pools(manager: Any) -> Any:
    manager.pool_classes_by_scheme = {
        scheme: deadline_pool_class(pool) for scheme, pool in manager.pool_classes_by_scheme.items()
    }
    return manager


def http_adapter(**kwargs: Any) -> Any:
    """A ``requests`` HTTPAdapter (``kwargs`` as HTTPAdapter's) whose requests a :class:`RequestDeadline` bounds."""
    return _adapter_class()(**kwargs)


@cache
def _adapter_class() -> type:
    from requests.adapters import HTTPAdapter

    class DeadlineAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            _deadline_pools(self.poolmanager)

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            known = proxy in self.proxy_manager
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            return manager if known else _deadline_pools(manager)

    return DeadlineAdapter


@cache
def urllib3_node_class() -> type:
    """elastic-transport's urllib3 node, whose requests a :class:`RequestDeadline` bounds."""
    from elastic_transport import Urllib3HttpNode

    class DeadlineUrllib3HttpNode(Urllib3HttpNode):
        def __init__(self, config: Any) -> None:
            super().__init__(config)
            self.pool.ConnectionCls = deadline_connection_class(self.pool.ConnectionCls)

    return DeadlineUrllib3HttpNode
