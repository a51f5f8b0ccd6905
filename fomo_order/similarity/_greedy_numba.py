"""Greedy nearest-neighbour walks on the CPU: many walks per thread, advanced in turn (numba).

A walk steps from ``current`` to the first not-yet-visited node of its neighbour list, which is sorted by
(weight, index): that is the minimum over all unvisited nodes with ties to the lower index, as long as the
list holds one. Past the list it reads the rest of the node's sorted row where one was computed (rows
grow where walks keep running out), else it scans the unvisited nodes with exact weights. So the walk is
the paper's walk exactly, whatever the list length.

Why lanes: a step is a chain of dependent loads (the row of ``current`` names the next row to read), so a
lone walk waits one memory latency per step, and the rows of tens of thousands of nodes do not stay in
the nearest caches. A thread keeps ``lanes`` walks in flight: after a walk's step it prefetches the row
its next step reads and turns to the other walks; by the time it comes back the row has arrived. When a
walk's first columns are all visited it prefetches the rest of its list row and also yields its turn.
Visited flags are bits (one 64-bit word per 64 nodes), so the flags of all lanes stay in the core's cache.

A walk that cannot end at or below ``bound`` is abandoned. Besides its weight so far, the rest of the walk
has a lower bound: every unvisited node is still to be entered by an edge no lighter than its nearest
neighbour's weight ``nn1``; and every unvisited node but the last is entered and left by two edges to two
different nodes, together no lighter than ``nn1 + nn2``. Both sums over the unvisited nodes shrink by one
term per step (read from the row the step reads anyway), so the bound costs two subtractions per step.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np

from fomo_order.similarity._exact_numba import INT64_MAX, pair_weight
from fomo_order.similarity._prefetch_numba import aligned_empty, prefetch_row

_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
# _FIRST_ZERO[b]: the lowest zero bit of byte b; _ALL_EIGHT[w]: the byte with the lowest w bits set
_FIRST_ZERO = np.array([next(bit for bit in range(9) if not (b >> bit) & 1) for b in range(256)], dtype=np.int64)
_ALL_EIGHT = np.array([(1 << w) - 1 for w in range(9)], dtype=np.int64)


@nb.njit(cache=True, inline="always")
def _is_visited(bits, lane, node):
    return (bits[lane, node >> 6] >> np.uint64(node & 63)) & _ONE


@nb.njit(cache=True, inline="always")
def _visit(bits, lane, node):
    bits[lane, node >> 6] |= _ONE << np.uint64(node & 63)


@nb.njit(cache=True, inline="always")
def _first_unvisited(keys, row, first, last, bits, lane, index_mask):
    """The first key of ``keys[row, first:last]`` whose node is unvisited, or -1 (keys are >= 0)."""
    for slot in range(first, last):
        key = keys[row, slot]
        if not _is_visited(bits, lane, key & index_mask):
            return key
    return np.int64(-1)


@nb.njit(cache=True)
def _begin(bits, lane, start, n):
    """Clear the lane's flags; the bits past node n - 1 in the last word count as visited."""
    words = bits.shape[1]
    for word in range(words):
        bits[lane, word] = np.uint64(0)
    for node in range(n, words * 64):
        _visit(bits, lane, node)
    _visit(bits, lane, start)


@nb.njit(cache=True)
def _nearest_unvisited(bits, lane, vectors, current, scale):
    """(node, weight): the unvisited node nearest to ``current`` (ties: lower index), by exact weights,
    skipping 64 visited nodes at a time."""
    best = np.int64(-1)
    best_weight = INT64_MAX
    for word in range(bits.shape[1]):
        free = bits[lane, word] ^ _ALL
        if free == 0:
            continue
        for bit in range(64):
            if (free >> np.uint64(bit)) & _ONE:
                node = np.int64(word * 64 + bit)
                weight = pair_weight(vectors, current, node, scale)
                if weight < best_weight:  # nodes come in index order: a tie keeps the lower index
                    best_weight = weight
                    best = node
    return best, best_weight


@nb.njit(cache=True, nogil=True)
def _walk_lanes(starts, vectors, scale, table, width, keys, index_bits, bound, bounded, sum1, sum2, slack,
                rows_at, rows, ran_out, scan_from, late, late_at, late_keys, late_votes, late_trigger, lanes, totals,
                fallbacks, steps, path):
    """The walks from ``starts``, up to ``lanes`` at a time in turn; per walk its total (-1: abandoned, it
    cannot end at or below ``bound``), its scans of unvisited nodes and its steps, into the output arrays.

    ``table`` (N, >= width): per node its first ``width`` keys ``(weight << index_bits) | index``, sorted,
    then (with ``bounded``) its two entry bounds (see :func:`walk_table`), summed in ``sum1``, ``sum2``;
    ``slack``: ``ceil(max nn2 / 2)``. ``keys`` (N, k): the whole lists. ``rows_at[u] >= 0``: the rest of
    u's sorted row (node indices, ``N - 1 - k`` of them) starts at ``rows[rows_at[u]]``; used when at
    least ``scan_from`` nodes are unvisited (with fewer, scanning them is cheaper). ``ran_out[u]`` counts
    scans from u with at least ``scan_from`` nodes unvisited (racy across threads: it only guides where
    rows grow); empty arrays switch rows and counting off.

    The late set S (``late``, bool per node; empty: none): nodes that walks leave for last. ``late_at[u] >=
    0``: the row of ``late_keys`` with u's nearest nodes of S, sorted. Once every unvisited node is in S,
    the first unvisited node of that row is the minimum over all unvisited nodes, and the walk reads that
    row instead of its list (which, late in a walk, is mostly visited). ``late_votes`` (int32 per node;
    empty: no voting): at its ``late_trigger``-th scan with at least ``scan_from`` nodes unvisited a walk
    adds one to every node still unvisited (racy counts: they only propose S).

    ``path`` (int64, N; empty: not recorded): the visiting order of the walk, when ``starts`` holds one.
    """
    n = vectors.shape[0]
    k = keys.shape[1]
    index_mask = (np.int64(1) << index_bits) - 1
    count = starts.shape[0]
    in_flight = min(lanes, count)
    bits = np.empty((in_flight, (n + 63) >> 6), dtype=np.uint64)
    walk = np.full(in_flight, -1, dtype=np.int64)  # position in ``starts`` of the lane's walk; -1: idle
    current = np.empty(in_flight, dtype=np.int64)
    total = np.zeros(in_flight, dtype=np.int64)
    rest1 = np.zeros(in_flight, dtype=np.int64)
    rest2 = np.zeros(in_flight, dtype=np.int64)
    taken = np.zeros(in_flight, dtype=np.int64)
    scans = np.zeros(in_flight, dtype=np.int64)
    deferred = np.zeros(in_flight, dtype=np.bool_)  # the lane's list row was prefetched: scan it this turn
    outside = np.zeros(in_flight, dtype=np.int64)  # unvisited nodes not in the late set
    costly = np.zeros(in_flight, dtype=np.int64)
    has_rows = rows_at.shape[0] > 0
    counting = ran_out.shape[0] > 0
    has_late = late.shape[0] > 0
    voting = late_votes.shape[0] > 0
    late_width = late_keys.shape[1]
    outside_all = 0
    if has_late:
        for node in range(n):
            if not late[node]:
                outside_all += 1
    recording = path.shape[0] > 0
    if recording:
        path[0] = starts[0]
    following = 0
    active = 0
    for lane in range(in_flight):
        _begin(bits, lane, starts[following], n)
        walk[lane], current[lane] = following, starts[following]
        rest1[lane], rest2[lane] = sum1, sum2
        outside[lane] = outside_all - (1 if has_late and not late[starts[following]] else 0)
        prefetch_row(table, current[lane], 0)
        following += 1
        active += 1
    while active > 0:
        for lane in range(in_flight):
            position = walk[lane]
            if position < 0:
                continue
            node = current[lane]
            nxt = np.int64(-1)
            weight = np.int64(0)
            if deferred[lane]:
                deferred[lane] = False
            else:
                # ``node`` was just entered: its entry bounds leave the rest (read here, where its row is)
                if bounded:
                    rest1[lane] -= table[node, width]
                    rest2[lane] -= table[node, width + 1]
                    over = total[lane] > bound - max(rest1[lane], rest2[lane] - slack)  # no overflow near MAX
                else:
                    over = total[lane] > bound
                if over or taken[lane] == n - 1:
                    totals[position] = -1 if over else total[lane]
                    fallbacks[position] = scans[lane]
                    steps[position] = taken[lane]
                    if following < count:
                        start = starts[following]
                        _begin(bits, lane, start, n)
                        walk[lane], current[lane] = following, start
                        total[lane], rest1[lane], rest2[lane], taken[lane], scans[lane] = 0, sum1, sum2, 0, 0
                        costly[lane] = 0
                        outside[lane] = outside_all - (1 if has_late and not late[start] else 0)
                        prefetch_row(table, start, 0)
                        following += 1
                    else:
                        walk[lane] = -1
                        active -= 1
                    continue
                if has_late and outside[lane] == 0 and late_at[node] >= 0:
                    key = _first_unvisited(late_keys, late_at[node], 0, late_width, bits, lane, index_mask)
                    if key >= 0:
                        nxt, weight = key & index_mask, key >> index_bits
                    else:
                        scans[lane] += 1
                        nxt, weight = _nearest_unvisited(bits, lane, vectors, node, scale)
                else:
                    # the first 8 slots without branches (which of them holds the next node is a coin toss
                    # for the branch predictor): their 8 visited flags as one byte, its lowest zero bit
                    flags = 0
                    for slot in range(min(8, width)):
                        flags |= np.int64(_is_visited(bits, lane, table[node, slot] & index_mask)) << slot
                    if flags != _ALL_EIGHT[min(8, width)]:
                        key = table[node, _FIRST_ZERO[flags]]
                        nxt = key & index_mask
                        weight = key >> index_bits
                    else:
                        key = _first_unvisited(table, node, 8, width, bits, lane, index_mask)
                        if key >= 0:
                            nxt, weight = key & index_mask, key >> index_bits
                if nxt < 0 and k > width:
                    deferred[lane] = True
                    prefetch_row(keys, node, width)
                    continue
            if nxt < 0:
                key = _first_unvisited(keys, node, width, k, bits, lane, index_mask)
                if key >= 0:
                    nxt, weight = key & index_mask, key >> index_bits
            if nxt < 0:
                remaining = n - 1 - taken[lane]
                if has_rows and rows_at[node] >= 0 and remaining >= scan_from:
                    # the rest of the sorted row: its first unvisited node is the minimum
                    first = rows_at[node]
                    for slot in range(first, first + n - 1 - k):
                        candidate = np.int64(rows[slot])
                        if not _is_visited(bits, lane, candidate):
                            nxt = candidate
                            break
                    weight = pair_weight(vectors, node, nxt, scale)
                else:
                    scans[lane] += 1
                    if counting and remaining >= scan_from:
                        ran_out[node] += 1
                    if voting and remaining >= scan_from:
                        costly[lane] += 1
                        if costly[lane] == late_trigger:
                            for other in range(n):
                                if not _is_visited(bits, lane, other):
                                    late_votes[other] += 1
                    nxt, weight = _nearest_unvisited(bits, lane, vectors, node, scale)
            total[lane] += weight
            _visit(bits, lane, nxt)
            current[lane] = nxt
            taken[lane] += 1
            if recording:
                path[taken[lane]] = nxt
            if has_late and not late[nxt]:
                outside[lane] -= 1
            if has_late and outside[lane] == 0 and late_at[nxt] >= 0:
                prefetch_row(late_keys, late_at[nxt], 0)
                if bounded:
                    prefetch_row(table, nxt, width)
            else:
                prefetch_row(table, nxt, 0)
                if table.shape[1] * 8 > 64:
                    prefetch_row(table, nxt, 8)


def bounded_totals(starts, vectors, scale, table, width, keys, index_bits, bound, bounded, sum1, sum2, slack,
                   rows_at, rows, ran_out, scan_from, late, late_at, late_keys, late_votes, late_trigger, lanes, chunk):
    """Total weight of the walk from each start (-1: abandoned, it cannot end at or below ``bound``),
    scans of unvisited nodes and steps per walk (arguments as for :func:`_walk_lanes`); ``chunk`` starts
    per task, tasks handed out one at a time to ``numba.get_num_threads()`` threads.

    Threads of Python's own (the kernel releases the GIL) rather than a ``parallel=True`` kernel: that
    would cost a first run many seconds more of compilation, for the same work."""
    count = starts.shape[0]
    totals = np.empty(count, dtype=np.int64)
    fallbacks = np.empty(count, dtype=np.int64)
    steps = np.empty(count, dtype=np.int64)
    no_path = np.empty(0, dtype=np.int64)

    def task(first):
        last = min(count, first + chunk)
        _walk_lanes(starts[first:last], vectors, scale, table, width, keys, index_bits, bound, bounded, sum1, sum2,
                    slack, rows_at, rows, ran_out, scan_from, late, late_at, late_keys, late_votes, late_trigger,
                    lanes, totals[first:last], fallbacks[first:last], steps[first:last], no_path)

    firsts = range(0, count, chunk)
    threads = min(nb.get_num_threads(), len(firsts))
    if threads <= 1:
        for first in firsts:
            task(first)
    else:
        with ThreadPoolExecutor(threads) as pool:
            for _ in pool.map(task, firsts):  # re-raises a task's exception
                pass
    return totals, fallbacks, steps


def walk_table(keys: np.ndarray, index_bits: int, width: int):
    """The rows walks read at every step, one 128-byte aligned row per node when ``width`` is 14: its
    first ``width`` keys, the lightest edge into it (``nn1``) and half its two lightest
    (``(nn1 + nn2) // 2``); with the sums of those two columns and ``ceil(max nn2 / 2)``: the terms of the
    remaining-cost bound. Returns (table, sum1, sum2, slack)."""
    table = aligned_empty((keys.shape[0], width + 2), np.int64)
    table[:, :width] = keys[:, :width]
    first = keys[:, 0] >> index_bits
    table[:, width] = first
    if keys.shape[1] > 1:
        second = keys[:, 1] >> index_bits
        table[:, width + 1] = (first + second) // 2
        slack = (int(second.max()) + 1) // 2
    else:
        table[:, width + 1] = first
        slack = 0
    return table, int(table[:, width].sum()), int(table[:, width + 1].sum()), slack


@nb.njit(cache=True, parallel=True)
def row_rests(vectors, scale, nodes, k, index_bits):
    """For each of ``nodes``, the rest of its sorted row beyond its first ``k`` entries (``N - 1 - k`` node
    indices, int32), flat: one node after another."""
    n = vectors.shape[0]
    width = n - 1 - k
    index_mask = (np.int64(1) << index_bits) - 1
    out = np.empty(nodes.shape[0] * width, dtype=np.int32)
    for r in nb.prange(nodes.shape[0]):
        node = nodes[r]
        row = np.empty(n, dtype=np.int64)
        for j in range(n):
            row[j] = (pair_weight(vectors, node, j, scale) << index_bits) | j
        row[node] = INT64_MAX  # itself: last
        row.sort()
        for slot in range(width):
            out[r * width + slot] = np.int32(row[k + slot] & index_mask)
    return out


def greedy_totals(starts, vectors, scale, head, keys, index_bits, bound, lanes=16):
    """Total weight of the walk from each start (-1: its partial weight exceeded ``bound``) and scans of
    unvisited nodes, without the remaining-cost bound or grown rows."""
    none64, none32 = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
    totals, fallbacks, _ = bounded_totals(
        np.asarray(starts, dtype=np.int64), vectors, scale, head, head.shape[1], keys, index_bits, bound, False,
        0, 0, 0, none64, none32, none32, 0, np.empty(0, dtype=np.bool_), none64, np.empty((0, 0), dtype=np.int64),
        none32, 0, lanes, max(lanes, 4 * lanes),
    )
    return totals, fallbacks


def greedy_path(start, vectors, scale, head, keys, index_bits):
    """The walk from ``start``: (path, total weight, scans of unvisited nodes), by the kernel of the search
    (one compiled kernel, not two, for a first run to compile)."""
    n = vectors.shape[0]
    path = np.empty(n, dtype=np.int64)
    totals, fallbacks, steps = (np.empty(1, dtype=np.int64) for _ in range(3))
    none64, none32 = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
    _walk_lanes(np.array([start], dtype=np.int64), vectors, scale, head, head.shape[1], keys, index_bits, INT64_MAX,
                False, 0, 0, 0, none64, none32, none32, 0, np.empty(0, dtype=np.bool_), none64,
                np.empty((0, 0), dtype=np.int64), none32, 0, 1, totals, fallbacks, steps, path)
    return path, int(totals[0]), int(fallbacks[0])
