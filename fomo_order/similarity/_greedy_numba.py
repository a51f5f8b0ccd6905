"""Greedy nearest-neighbour walks on the CPU: one walk per start, starts in parallel (numba prange).

A walk steps from ``current`` to the first not-yet-visited node of its neighbour list, which is sorted by
(weight, index): that is the minimum over all unvisited nodes with ties to the lower index, as long as the
list holds one. When every listed neighbour is visited, it scans the unvisited nodes (kept in a compact
array) with exact weights. So the walk is the paper's walk exactly, whatever the list length.

A walk that cannot end at or below ``bound`` is abandoned. Besides its weight so far, the rest of the walk
has a lower bound: every unvisited node is still to be entered by an edge no lighter than its nearest
neighbour's weight ``nn1``; and every unvisited node but the last is entered and left by two edges to two
different nodes, together no lighter than ``nn1 + nn2``. Both sums over the unvisited nodes shrink by one
term per step, so the bound costs two subtractions per step.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from fomo_order.similarity._exact_numba import INT64_MAX, pair_weight


@nb.njit(cache=True)
def greedy_walk(start, vectors, scale, head, width, keys, index_bits, bound, path, visited, unvisited, where,
                bounded, rest1, rest2, slack, more_at, more_keys, ran_out, scan_from, late_at, late_keys, late,
                late_votes, late_trigger):
    """Walk from ``start``; returns (total weight, fallback scans, steps), total -1 once it cannot end at or
    below ``bound``.

    ``keys`` (N, k): each node's list as ``(weight << index_bits) | index``, sorted; ``head``: its first
    ``width`` columns, contiguous, so that the slots nearly every step reads stay in cache (with
    ``bounded``, followed by the node's two entry bounds, see :func:`walk_table`, read with the row the
    next step reads anyway). ``rest1``, ``rest2``: the sums of the entry bounds over all nodes; ``slack``:
    ``ceil(max nn2 / 2)``. ``path`` (length N, or 0 to skip recording) receives the visiting order;
    ``visited``, ``unvisited`` and ``where`` are scratch arrays of length N (the compact array of
    unvisited nodes is built at the first scan: most walks never need it before their last steps).
    ``more_at[u] >= 0``: u's list goes on at ``more_keys[more_at[u]:]`` up to the whole row (see
    :func:`row_rests`); empty ``more_at``: lists end at ``keys``. ``ran_out[u]`` counts scans from u with at
    least ``scan_from`` nodes unvisited (the costly ones; racy counts: they only guide where lists grow);
    with fewer unvisited nodes a scan of them is cheaper than the rest of a row, and the walk scans.
    ``late`` (bool, N; empty: none): the late set S, the nodes walks reach when their lists run out;
    ``late_at[u] >= 0``: the row of ``late_keys`` with u's nearest nodes of S, sorted. Once every
    unvisited node is in S, the first unvisited node of that list is the minimum over all unvisited nodes.
    ``late_votes`` (int32, N; empty: none): at its ``late_trigger``-th costly scan a walk adds one to every
    node still unvisited (racy counts: they only propose the late set).
    """
    n = vectors.shape[0]
    k = keys.shape[1]
    index_mask = (np.int64(1) << index_bits) - 1
    record = path.shape[0] > 0
    for node in range(n):
        visited[node] = False
    compact = False
    outside = 0  # unvisited nodes outside the late set
    has_late = late.shape[0] > 0
    if has_late:
        for node in range(n):
            if not late[node]:
                outside += 1
        if not late[start]:
            outside -= 1
    if bounded:
        rest1 -= head[start, width]
        rest2 -= head[start, width + 1]
    remaining = n - 1
    visited[start] = True
    if record:
        path[0] = start
    total = np.int64(0)
    fallbacks = 0
    costly = 0
    current = start
    for step in range(1, n):
        nxt = -1
        weight = np.int64(0)
        for slot in range(width):
            key = head[current, slot]
            if not visited[key & index_mask]:
                nxt = key & index_mask
                weight = key >> index_bits
                break
        if nxt < 0:
            for slot in range(width, k):
                key = keys[current, slot]
                if not visited[key & index_mask]:
                    nxt = key & index_mask
                    weight = key >> index_bits
                    break
        if nxt < 0 and has_late and outside == 0 and late_at[current] >= 0:
            row = late_at[current]
            for slot in range(late_keys.shape[1]):
                key = late_keys[row, slot]
                if not visited[key & index_mask]:
                    nxt = key & index_mask
                    weight = key >> index_bits
                    break
        if nxt < 0 and more_at.shape[0] > 0 and more_at[current] >= 0 and remaining >= scan_from:
            # the rest of the row, sorted: its first unvisited node is the minimum (n - 1 - k entries)
            for slot in range(more_at[current], more_at[current] + n - 1 - k):
                key = more_keys[slot]
                if not visited[key & index_mask]:
                    nxt = key & index_mask
                    weight = key >> index_bits
                    break
        if nxt < 0:
            fallbacks += 1
            if ran_out.shape[0] > 0 and remaining >= scan_from:
                ran_out[current] += 1
                costly += 1
                if costly == late_trigger and late_votes.shape[0] > 0:
                    for node in range(n):
                        if not visited[node]:
                            late_votes[node] += 1
            if not compact:
                r = 0
                for node in range(n):
                    if not visited[node]:
                        unvisited[r] = node
                        where[node] = r
                        r += 1
                compact = True
            weight = INT64_MAX
            nxt = n
            for r in range(remaining):
                candidate = unvisited[r]
                w = pair_weight(vectors, current, candidate, scale)
                if w < weight or (w == weight and candidate < nxt):
                    weight = w
                    nxt = candidate
        total += weight
        if bounded:
            rest1 -= head[nxt, width]
            rest2 -= head[nxt, width + 1]
            rest = max(rest1, rest2 - slack)
            if total > bound - rest:  # total + rest > bound, without overflow near INT64_MAX
                return np.int64(-1), fallbacks, step
        elif total > bound:
            return np.int64(-1), fallbacks, step
        visited[nxt] = True
        if has_late and not late[nxt]:
            outside -= 1
        if compact:
            last = unvisited[remaining - 1]
            unvisited[where[nxt]] = last
            where[last] = where[nxt]
        remaining -= 1
        if record:
            path[step] = nxt
        current = nxt
    return total, fallbacks, n - 1


@nb.njit(cache=True)
def walk_table(keys, index_bits, width):
    """The rows walks read at every step: per node its first ``width`` keys, the lightest edge into it
    (``nn1``) and half its two lightest (``(nn1 + nn2) // 2``); with the sums of those two columns and
    ``ceil(max nn2 / 2)``: the terms of the remaining-cost bound of :func:`greedy_walk`."""
    n = keys.shape[0]
    table = np.empty((n, width + 2), dtype=np.int64)
    largest2 = np.int64(0)
    sum1 = np.int64(0)
    sum2 = np.int64(0)
    for node in range(n):
        for slot in range(width):
            table[node, slot] = keys[node, slot]
        first = keys[node, 0] >> index_bits
        second = (keys[node, 1] >> index_bits) if keys.shape[1] > 1 else first
        table[node, width] = first
        table[node, width + 1] = (first + second) // 2 if keys.shape[1] > 1 else first
        sum1 += table[node, width]
        sum2 += table[node, width + 1]
        largest2 = max(largest2, second)
    slack = (largest2 + 1) // 2 if keys.shape[1] > 1 else np.int64(0)
    return table, sum1, sum2, slack


@nb.njit(cache=True, parallel=True)
def row_rests(vectors, scale, nodes, k, index_bits):
    """For each of ``nodes``, the rest of its sorted row beyond its first ``k`` keys (``N - 1 - k`` keys),
    flat: one node after another."""
    n = vectors.shape[0]
    width = n - 1 - k
    out = np.empty(nodes.shape[0] * width, dtype=np.int64)
    for r in nb.prange(nodes.shape[0]):
        node = nodes[r]
        row = np.empty(n, dtype=np.int64)
        for j in range(n):
            row[j] = (pair_weight(vectors, node, j, scale) << index_bits) | j
        row[node] = INT64_MAX  # itself: last
        row.sort()
        out[r * width : (r + 1) * width] = row[k : n - 1]
    return out


@nb.njit(cache=True, parallel=True)
def bounded_totals(starts, vectors, scale, head, width, keys, index_bits, bound, bounded, sum1, sum2, slack,
                   more_at, more_keys, ran_out, scan_from, late_at, late_keys, late, late_votes, late_trigger):
    """Total weight of the walk from each start (-1: abandoned, it cannot end at or below ``bound``),
    fallback scans and steps taken per walk (arguments as for :func:`greedy_walk`)."""
    n = vectors.shape[0]
    totals = np.empty(starts.shape[0], dtype=np.int64)
    fallbacks = np.empty(starts.shape[0], dtype=np.int64)
    steps = np.empty(starts.shape[0], dtype=np.int64)
    for s in nb.prange(starts.shape[0]):
        visited = np.empty(n, dtype=np.bool_)
        unvisited = np.empty(n, dtype=np.int32)
        where = np.empty(n, dtype=np.int32)
        no_path = np.empty(0, dtype=np.int64)
        totals[s], fallbacks[s], steps[s] = greedy_walk(
            starts[s], vectors, scale, head, width, keys, index_bits, bound, no_path, visited, unvisited, where,
            bounded, sum1, sum2, slack, more_at, more_keys, ran_out, scan_from, late_at, late_keys, late,
            late_votes, late_trigger,
        )
    return totals, fallbacks, steps


@nb.njit(cache=True)
def greedy_totals(starts, vectors, scale, head, keys, index_bits, bound):
    """Total weight of the walk from each start (-1: its partial weight exceeded ``bound``) and fallback
    counts, without the remaining-cost bound."""
    no_rows = np.empty(0, dtype=np.int64)
    totals, fallbacks, _ = bounded_totals(starts, vectors, scale, head, head.shape[1], keys, index_bits, bound,
                                          False, np.int64(0), np.int64(0), np.int64(0), no_rows, no_rows,
                                          np.zeros(0, dtype=np.int32), 0, no_rows, np.empty((0, 0), dtype=np.int64),
                                          np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.int32), 0)
    return totals, fallbacks


@nb.njit(cache=True)
def greedy_path(start, vectors, scale, head, keys, index_bits):
    """The walk from ``start``: (path, total weight, fallback scans)."""
    n = vectors.shape[0]
    path = np.empty(n, dtype=np.int64)
    visited = np.empty(n, dtype=np.bool_)
    unvisited = np.empty(n, dtype=np.int32)
    where = np.empty(n, dtype=np.int32)
    no_rows = np.empty(0, dtype=np.int64)
    total, fallbacks, _ = greedy_walk(
        start, vectors, scale, head, head.shape[1], keys, index_bits, INT64_MAX, path, visited, unvisited, where,
        False, np.int64(0), np.int64(0), np.int64(0), no_rows, no_rows, np.zeros(0, dtype=np.int32), 0,
        no_rows, np.empty((0, 0), dtype=np.int64), np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.int32), 0,
    )
    return path, total, fallbacks
