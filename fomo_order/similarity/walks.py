"""The walks from many starts on the CPU (numba): their order, their rounds and what they share.

A walk is abandoned once its weight so far plus a lower bound on the rest exceeds the K-th best complete
walk (exact, as weights are >= 0). The walks run in rounds, each in parallel; between rounds the bound
tightens and the aids grow (:class:`WalkAids`): a walk whose listed neighbours are all visited reads the
rest of the node's sorted row where walks kept running out there, reads lists among the late set once
only such nodes are left, or else scans its unvisited nodes with exact weights.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from fomo_order.progress import SILENT, Reporter
from fomo_order.similarity.lists import HEAD_WIDTH, NeighbourLists, neighbour_lists
from fomo_order.similarity.weights import FixedPoint

NO_BOUND = int(np.iinfo(np.int64).max)
# Lists grow (to whole rows) at nodes whose walks ran out RAN_OUT_TIMES times with at least
# max(SCAN_FROM_MIN, N / SCAN_FROM_FRACTION) nodes unvisited, within ROW_BUDGET_BYTES per search (or Ray task).
RAN_OUT_TIMES, SCAN_FROM_MIN, SCAN_FROM_FRACTION = 2, 256, 32
ROW_BUDGET_BYTES = 2048 << 20
# Walks in flight per thread (each prefetches its next row while the others step), and a round's size
# in tasks of LANES walks per thread.
LANES, ROUND_TASKS = 16, 8
# The late set: the nodes unvisited when walks made their LATE_TRIGGER-th costly scan, used when it has
# LATE_MIN to LATE_MAX_FRACTION x N nodes; lists of LATE_NEIGHBOURS among them.
LATE_TRIGGER, LATE_MIN, LATE_MAX_FRACTION, LATE_NEIGHBOURS = 2, 256, 0.8, 512
LATE_WHEN = 8  # ... when the walks so far made at least 8 costly scans each on average
SAMPLE_POOL = 4  # farthest-point sampling draws starts from 4 K concepts (K: the number of starts)
COMPILING = "compiling search kernels, first run only"  # the note while numba compiles (seconds)


class WalkEntry(NamedTuple):
    """How walks read their ``table`` (see :func:`walk_setup`) and bound the rest of a walk."""

    width: int  # key columns at the front of each table row
    bounded: bool  # the table holds the two entry bounds after the keys, and walks are pruned
    sum1: int  # the sum over all nodes of the lightest edge into each (``nn1``)
    sum2: int  # the sum over all nodes of ``(nn1 + nn2) // 2``
    slack: int  # ``ceil(max nn2 / 2)``


def walk_setup(lists: NeighbourLists, fixed: FixedPoint, keep: int | None) -> tuple[np.ndarray, WalkEntry]:
    """The rows walks read at every step and how to read them: the lists' head, or with ``keep`` (pruned
    walks) the first keys and the two entry bounds of each node in one 128-byte row."""
    if keep is None:
        head = lists.head
        return head, WalkEntry(head.shape[1], False, 0, 0, 0)
    from fomo_order.similarity import _greedy_numba

    width = min(HEAD_WIDTH - 2, lists.keys.shape[1])
    table, sum1, sum2, slack = _greedy_numba.walk_table(lists.keys, fixed.index_bits, width)
    return table, WalkEntry(width, True, int(sum1), int(sum2), int(slack))


@dataclass
class WalkAids:
    """What the walks of a search share beyond the lists, built between rounds where walks ran out:
    the rest of some nodes' sorted rows (``rows_at``, ``rows``) and the late set with its lists
    (``late``, ``late_at``, ``late_keys``); see :func:`_greedy_numba._walk_lanes`. ``growing``: rounds may
    still add to them (counts of costly scans in ``ran_out``, votes for the late set in ``late_votes``)."""

    rows_at: np.ndarray
    rows: np.ndarray
    late: np.ndarray
    late_at: np.ndarray
    late_keys: np.ndarray
    ran_out: np.ndarray
    late_votes: np.ndarray
    growing: bool
    row_width: int  # N - 1 - k: the length of a grown row
    grown: int = 0
    rows_left: int = 0

    @classmethod
    def start(cls, n: int, k: int, growing: bool) -> WalkAids:
        growing = growing and n - 1 - k > 0
        return cls(
            rows_at=np.full(n if growing else 0, -1, dtype=np.int64),
            rows=np.empty(0, dtype=np.int32),  # allocated (untouched pages cost nothing) when first needed
            late=np.zeros(0, dtype=np.bool_),
            late_at=np.empty(0, dtype=np.int64),
            late_keys=np.empty((0, 0), dtype=np.int64),
            ran_out=np.zeros(n if growing else 0, dtype=np.int32),
            late_votes=np.zeros(n if growing else 0, dtype=np.int32),
            growing=growing,
            row_width=n - 1 - k,
            rows_left=ROW_BUDGET_BYTES // max(1, 4 * (n - 1 - k)) if growing else 0,
        )

    def frozen(self) -> WalkAids:
        """The same aids to read as they are (what walks elsewhere get): nothing grows or votes."""
        none = np.zeros(0, dtype=np.int32)
        return replace(self, rows=self.rows[: self.grown * self.row_width], ran_out=none, late_votes=none,
                       growing=False, rows_left=0)


def tightened_bound(totals: np.ndarray, keep: int | None, bound: int) -> int:
    """``bound``, or the ``keep``-th best complete total (>= 0) if lower: no walk beyond it can be among
    the ``keep`` best. ``keep=None``: no pruning, the bound stays."""
    if keep is not None:
        complete = totals[totals >= 0]
        if complete.size >= keep:
            bound = min(bound, int(np.partition(complete, keep - 1)[keep - 1]))
    return bound


def walk_rounds(
    order: np.ndarray,
    quantized: np.ndarray,
    table: np.ndarray,
    keys: np.ndarray,
    fixed: FixedPoint,
    keep: int | None,
    entry: WalkEntry,
    bound: int = NO_BOUND,
    reporter: Reporter = SILENT,
    aids: WalkAids | None = None,
) -> tuple[np.ndarray, dict, WalkAids]:
    """The walks from ``order`` (totals in that order, -1: abandoned) in rounds, in parallel within a round.

    ``table`` and ``entry``: from :func:`walk_setup`. Between rounds the bound (the ``keep``-th best
    complete total so far, or the ``bound`` given if lower) tightens, and the aids grow (``aids``: start
    from these; default: none yet, growing when ``keep`` is set); the first rounds are small, so that a
    bound exists early. Walks are abandoned only when they cannot be among the ``keep`` best, so the
    ``keep`` best totals are exact. Returns the totals, counts of the work done and the aids as they are
    at the end.
    """
    import numba

    from fomo_order.similarity import _greedy_numba

    n = quantized.shape[0]
    threads = numba.get_num_threads()
    totals = np.full(len(order), -1, dtype=np.int64)
    fallbacks = steps = 0
    aids = aids if aids is not None else WalkAids.start(n, keys.shape[1], keep is not None)
    scan_from = max(SCAN_FROM_MIN, n // SCAN_FROM_FRACTION)
    first = 0
    while first < len(order):
        # a round: a few tasks of LANES walks per thread at first (the bound exists early), then more
        size = threads * LANES * (1 if first == 0 else min(ROUND_TASKS, 1 + first // (threads * LANES)))
        # tasks of LANES walks, handed out one by one (walks end at different steps once pruned)
        round_totals, round_fallbacks, round_steps = _greedy_numba.bounded_totals(
            order[first : first + size], quantized, fixed.scale, table, entry.width, keys, fixed.index_bits, bound,
            entry.bounded, entry.sum1, entry.sum2, entry.slack, aids.rows_at, aids.rows, aids.ran_out, scan_from,
            aids.late, aids.late_at, aids.late_keys, aids.late_votes, LATE_TRIGGER, LANES, LANES,
        )
        totals[first : first + size] = round_totals
        reporter.advance(len(round_totals))
        first += len(round_totals)
        fallbacks += int(round_fallbacks.sum())
        steps += int(round_steps.sum())
        bound = tightened_bound(totals, keep, bound)
        _grow_aids(aids, quantized, keys.shape[1], fixed, first, reporter)
    work = {"fallback_scans": fallbacks, "walk_steps": steps, "grown_rows": aids.grown,
            "late_set": int(aids.late.sum())}
    return totals, work, aids


def _grow_aids(
    aids: WalkAids, quantized: np.ndarray, k: int, fixed: FixedPoint, walked: int, reporter: Reporter
) -> None:
    """After a round (``walked`` walks so far): the late set once voted for, rows where walks ran out."""
    from fomo_order._numba_cache import cached
    from fomo_order.similarity import _greedy_numba

    n = quantized.shape[0]
    if aids.late_votes.size and aids.late_votes.any():
        # Lists of their own for the nodes still unvisited at walks' second costly scan, when walks
        # scan often (else their lists serve as well) and the nodes are a part of all nodes.
        late_nodes = np.flatnonzero(aids.late_votes).astype(np.int64)
        costly_per_walk = aids.ran_out.sum() / walked  # ran_out counts the costly scans of every round so far
        if costly_per_walk >= LATE_WHEN and LATE_MIN <= len(late_nodes) <= LATE_MAX_FRACTION * n:
            aids.late, aids.late_at, aids.late_keys = _late_lists(quantized, late_nodes, fixed)
            aids.ran_out[late_nodes] = 0
        aids.late_votes = np.zeros(0, dtype=np.int32)  # proposed once
    if aids.growing and aids.rows_left > 0:
        # Lists grow where walks run out: a node from which walks keep scanning many unvisited nodes
        # gets the rest of its sorted row (once, shared by all later walks), as long as the budget lasts.
        grow = np.flatnonzero((aids.ran_out >= RAN_OUT_TIMES) & (aids.rows_at < 0))[: aids.rows_left]
        if grow.size:
            if aids.rows.size == 0:
                aids.rows = np.empty(aids.rows_left * aids.row_width, dtype=np.int32)
                if not cached([_greedy_numba.row_rests]):
                    reporter.note(COMPILING)
            at = aids.grown * aids.row_width
            aids.rows_at[grow] = at + np.arange(grow.size) * aids.row_width
            aids.rows[at : at + grow.size * aids.row_width] = _greedy_numba.row_rests(
                quantized, fixed.scale, grow, k, fixed.index_bits
            )
            aids.grown += grow.size
            aids.rows_left -= grow.size


def _late_lists(quantized: np.ndarray, nodes: np.ndarray, fixed: FixedPoint):
    """(membership flags, row of each node in the lists or -1, the lists): each node of ``nodes`` (sorted)
    with its nearest other nodes of ``nodes``, as sorted keys with global indices."""
    n = quantized.shape[0]
    m = min(len(nodes) - 1, LATE_NEIGHBOURS)
    local = neighbour_lists(np.ascontiguousarray(quantized[nodes]), m, fixed, "cpu").keys
    mask = (np.int64(1) << fixed.index_bits) - 1
    # local indices -> global ones; ``nodes`` is sorted, so the (weight, index) order stays the same
    late_keys = (local & ~mask) | nodes[local & mask]
    late = np.zeros(n, dtype=np.bool_)
    late[nodes] = True
    late_at = np.full(n, -1, dtype=np.int64)
    late_at[nodes] = np.arange(len(nodes))
    return late, late_at, late_keys


def sample_starts(quantized: np.ndarray, count: int, rng: np.random.Generator, fixed: FixedPoint) -> np.ndarray:
    """``count`` start concepts spread over the space, the same for the same ``rng`` state on any machine.

    Farthest-point sampling with exact weights: the first start is drawn from ``rng``, each next one is
    the concept farthest from those chosen so far. Outlying concepts, where light greedy paths tend to
    start, are found early, and no region of the space goes without a start. For large N it samples from
    a pool of ``SAMPLE_POOL`` x ``count`` concepts drawn from ``rng`` (each draw costs O(pool x d)).
    Returned in the order chosen; every node when ``count >= N``.
    """
    from fomo_order.similarity import _starts_numba

    n = quantized.shape[0]
    if count >= n:
        return np.arange(n, dtype=np.int64)
    size = min(n, SAMPLE_POOL * count)
    pool = np.arange(n, dtype=np.int64) if size == n else np.sort(rng.choice(n, size, replace=False))
    first = int(rng.integers(size))
    return _starts_numba.farthest_points(quantized, fixed.scale, pool, first, count)


def start_order(lists: NeighbourLists, fixed: FixedPoint) -> np.ndarray:
    """The order in which the exact search walks its starts: it changes the time, never the result.

    Starts whose nearest neighbour is far come first: a walk from an outlying concept pays its long edge
    once, at the start, where other walks return to it late with a longer jump; so these walks tend to
    be light, and the bound that abandons the other walks is tight early.
    """
    nearest = lists.keys[:, 0] >> fixed.index_bits
    return np.lexsort((np.arange(len(nearest)), -nearest)).astype(np.int64)
