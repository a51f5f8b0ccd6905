"""The all-start walks on a Ray cluster: the arrays go to the object store once, shards of starts go out
as tasks, the totals come back. The first walks run here, where the rows and late lists that walks need
beyond their neighbour lists are grown once (see :class:`~fomo_order.similarity.walks.WalkAids`), so
that no task repeats that work. Each task then walks its shard in rounds (as on one machine) from the
best bound known when it was sent, so walks that cannot be among the best are abandoned on every node;
the best totals are exact whatever the schedule, so the path is the one the local search finds.

``ray`` is imported only here, when a search asks for it.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from dataclasses import replace
from typing import Any

import numpy as np

from fomo_order.errors import ParameterError
from fomo_order.similarity import walks
from fomo_order.similarity.walks import NO_BOUND, WalkEntry, tightened_bound, walk_rounds
from fomo_order.similarity.weights import FixedPoint

SHARDS_PER_CPU = 4  # enough tasks that a fast worker takes over the work of a slow one
# Walks here before the tasks go out, per thread and lane: the first rounds of the local search, which
# decide the late set and grow most rows.
WARM_UP_WALKS_PER_LANE = 4


# A cluster that does not answer must not hold a run for minutes: Ray's own client waits on the GCS and
# retries for well over a minute, with Ctrl-C and SIGTERM unheard while it does.
CONNECT_TIMEOUT_S = 20.0
PROBE_TIMEOUT_S = 5.0


def connect(address: str) -> bool:
    """Join the cluster at ``address`` (``local``: start a Ray runtime here); True when this call started
    the connection (and so must end it). A runtime already initialised in this process is used as it is.
    An address that refuses or does not answer fails within ``CONNECT_TIMEOUT_S`` seconds."""
    try:
        import ray
    except ImportError:
        raise ParameterError("ray_address", "Ray is not installed (pip install 'fomo-order[ray]')") from None
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address == "local":
        _init_or_explain(ray, address, options)
        return True
    _probe(address)
    _init_within(ray, address, {**options, "address": address}, CONNECT_TIMEOUT_S)
    return True


def _init_or_explain(ray: Any, address: str, options: dict[str, Any]) -> None:
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParameterError("ray_address", f"cannot connect to the Ray cluster at {address!r}: {first_line}") from None


def _probe(address: str) -> None:
    """A TCP connection to a ``HOST:PORT`` address first: a refused or silent port is told in seconds, in
    the words of the socket, before Ray's client starts waiting (other forms go to Ray as they are)."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not port.isdigit() or not host:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except TimeoutError:
        raise ParameterError(
            "ray_address", f"cannot connect to the Ray cluster at {address!r}: no answer within {PROBE_TIMEOUT_S:g} s"
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ParameterError("ray_address", f"cannot connect to the Ray cluster at {address!r}: {reason}") from None


def _init_within(ray: Any, address: str, options: dict[str, Any], timeout: float) -> None:
    """``ray.init`` in a daemon thread, so that this (main) thread keeps hearing Ctrl-C and SIGTERM and
    gives up after ``timeout`` seconds; Ray's retry lines on standard error are held back meanwhile (the
    failure is told in one line)."""
    outcome: dict[str, BaseException | None] = {}

    def join() -> None:
        try:
            _init_or_explain(ray, address, options)
            outcome["error"] = None
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc

    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _terminated)
    quiet = _QuietStderr()
    try:
        with quiet:
            thread = threading.Thread(target=join, name="ray-connect", daemon=True)
            thread.start()
            thread.join(timeout)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if "error" not in outcome:
        raise ParameterError(
            "ray_address", f"cannot connect to the Ray cluster at {address!r}: no answer within {timeout:g} s"
        )
    if outcome["error"] is not None:
        raise outcome["error"]


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM while connecting ends the run as Ctrl-C does: one line, nothing written


class _QuietStderr:
    """File descriptor 2 pointed at /dev/null, and back: Ray's C++ client writes its retries there."""

    saved: int | None = None

    def __enter__(self) -> None:
        try:
            sys.stderr.flush()
            self.saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
        except (OSError, ValueError, AttributeError):  # no standard error to quiet
            return
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc_info: object) -> None:
        if self.saved is not None:
            os.dup2(self.saved, 2)
            os.close(self.saved)


def _walk_shard(order, quantized, table, keys, aids, fraction_bits, index_bits, keep, entry, bound):
    """One task: the walks from ``order`` with one thread (the task holds one CPU of the cluster), reading
    the aids grown before the tasks went out."""
    import numba

    numba.set_num_threads(1)
    fixed = FixedPoint(fraction_bits=fraction_bits, index_bits=index_bits)
    # The object store hands out read-only arrays; the kernel types its (empty) count arrays as writable.
    none = np.zeros(0, dtype=np.int32)
    aids = replace(aids, ran_out=none, late_votes=none)
    totals, work, _ = walk_rounds(order, quantized, table, keys, fixed, keep, entry, bound, aids=aids)
    return totals, work


def ray_totals(
    quantized: np.ndarray, table: np.ndarray, keys: np.ndarray, fixed: FixedPoint, order: np.ndarray,
    keep: int | None, entry: WalkEntry, address: str,
) -> tuple[np.ndarray, dict]:
    """Totals of the walks from ``order`` (in that order; -1: abandoned), computed by Ray tasks after the
    first walks here (``WARM_UP_WALKS_PER_LANE`` per thread and lane, at most a quarter of them)."""
    import numba

    started = connect(address)
    import ray

    try:
        warm = min(len(order) // 4, numba.get_num_threads() * walks.LANES * WARM_UP_WALKS_PER_LANE)
        totals = np.full(len(order), -1, dtype=np.int64)
        totals[:warm], work, aids = walk_rounds(order[:warm], quantized, table, keys, fixed, keep, entry)
        bound = tightened_bound(totals, keep, NO_BOUND)
        rest = order[warm:]
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        shard = max(1, -(-len(rest) // (cpus * SHARDS_PER_CPU)))
        ranges = [(first, min(len(rest), first + shard)) for first in range(0, len(rest), shard)]
        # put once: every task reads the same copies from the object store (zero-copy on each node)
        shared_quantized, shared_table, shared_keys = (ray.put(array) for array in (quantized, table, keys))
        shared_aids = ray.put(aids.frozen())
        task = ray.remote(num_cpus=1)(_walk_shard)
        running: dict[Any, tuple[int, int]] = {}
        pending = list(ranges)
        while pending or running:
            while pending and len(running) < cpus:
                first, last = pending.pop(0)
                ref = task.remote(rest[first:last], shared_quantized, shared_table, shared_keys, shared_aids,
                                  fixed.fraction_bits, fixed.index_bits, keep, entry, bound)
                running[ref] = (first, last)
            done, _ = ray.wait(list(running), num_returns=1)
            first, last = running.pop(done[0])
            shard_totals, shard_work = ray.get(done[0])
            totals[warm + first : warm + last] = shard_totals
            for name in ("fallback_scans", "walk_steps"):
                work[name] += shard_work[name]
            bound = tightened_bound(totals, keep, bound)
        work["ray_tasks"] = len(ranges)
        work["walks_here"] = warm
        return totals, work
    finally:
        if started:
            ray.shutdown()
