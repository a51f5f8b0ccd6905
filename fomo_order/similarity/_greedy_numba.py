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

NO_BOUND = np.empty(0, dtype=np.int64)


@nb.njit(cache=True)
def greedy_walk(start, vectors, scale, head, keys, index_bits, bound, path, visited, unvisited, where,
                entry1, entry2, slack):
    """Walk from ``start``; returns (total weight, fallback scans, steps), total -1 once it cannot end at or
    below ``bound``.

    ``keys`` (N, k): each node's list as ``(weight << index_bits) | index``, sorted; ``head``: its first
    columns, contiguous, so that the slots nearly every step reads stay in cache. ``path`` (length N, or
    0 to skip recording) receives the visiting order; ``visited``, ``unvisited`` and ``where`` are
    scratch arrays of length N. ``entry1[u]``: the weight of u's nearest neighbour; ``entry2[u]``:
    ``(nn1(u) + nn2(u)) // 2``; ``slack``: ``ceil(max nn2 / 2)``; empty ``entry1``: no remaining-cost bound.
    """
    n = vectors.shape[0]
    k = keys.shape[1]
    h = head.shape[1]
    index_mask = (np.int64(1) << index_bits) - 1
    record = path.shape[0] > 0
    bounded = entry1.shape[0] > 0
    rest1 = np.int64(0)
    rest2 = np.int64(0)
    for node in range(n):
        visited[node] = False
        unvisited[node] = node
        where[node] = node
    if bounded:
        for node in range(n):
            rest1 += entry1[node]
            rest2 += entry2[node]
        rest1 -= entry1[start]
        rest2 -= entry2[start]
    remaining = n
    visited[start] = True
    last = unvisited[remaining - 1]
    unvisited[where[start]] = last
    where[last] = where[start]
    remaining -= 1
    if record:
        path[0] = start
    total = np.int64(0)
    fallbacks = 0
    current = start
    for step in range(1, n):
        nxt = -1
        weight = np.int64(0)
        for slot in range(h):
            key = head[current, slot]
            if not visited[key & index_mask]:
                nxt = key & index_mask
                weight = key >> index_bits
                break
        if nxt < 0:
            for slot in range(h, k):
                key = keys[current, slot]
                if not visited[key & index_mask]:
                    nxt = key & index_mask
                    weight = key >> index_bits
                    break
        if nxt < 0:
            fallbacks += 1
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
            rest1 -= entry1[nxt]
            rest2 -= entry2[nxt]
            rest = max(rest1, rest2 - slack)
            if total > bound - rest:  # total + rest > bound, without overflow near INT64_MAX
                return np.int64(-1), fallbacks, step
        elif total > bound:
            return np.int64(-1), fallbacks, step
        visited[nxt] = True
        last = unvisited[remaining - 1]
        unvisited[where[nxt]] = last
        where[last] = where[nxt]
        remaining -= 1
        if record:
            path[step] = nxt
        current = nxt
    return total, fallbacks, n - 1


@nb.njit(cache=True)
def entry_bounds(keys, index_bits):
    """Per node, the lightest edge into it (``nn1``) and half its two lightest (``(nn1 + nn2) // 2``), and
    ``ceil(max nn2 / 2)``: the terms of the remaining-cost bound of :func:`greedy_walk`."""
    n = keys.shape[0]
    entry1 = np.empty(n, dtype=np.int64)
    entry2 = np.empty(n, dtype=np.int64)
    largest2 = np.int64(0)
    for node in range(n):
        first = keys[node, 0] >> index_bits
        second = (keys[node, 1] >> index_bits) if keys.shape[1] > 1 else first
        entry1[node] = first
        entry2[node] = (first + second) // 2 if keys.shape[1] > 1 else first
        largest2 = max(largest2, second)
    slack = (largest2 + 1) // 2 if keys.shape[1] > 1 else np.int64(0)
    return entry1, entry2, slack


@nb.njit(cache=True, parallel=True)
def bounded_totals(starts, vectors, scale, head, keys, index_bits, bound, entry1, entry2, slack):
    """Total weight of the walk from each start (-1: abandoned, it cannot end at or below ``bound``),
    fallback scans and steps taken per walk."""
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
            starts[s], vectors, scale, head, keys, index_bits, bound, no_path, visited, unvisited, where,
            entry1, entry2, slack,
        )
    return totals, fallbacks, steps


@nb.njit(cache=True)
def greedy_totals(starts, vectors, scale, head, keys, index_bits, bound):
    """Total weight of the walk from each start (-1: its partial weight exceeded ``bound``) and fallback
    counts, without the remaining-cost bound."""
    totals, fallbacks, _ = bounded_totals(starts, vectors, scale, head, keys, index_bits, bound, NO_BOUND,
                                          NO_BOUND, np.int64(0))
    return totals, fallbacks


@nb.njit(cache=True)
def greedy_path(start, vectors, scale, head, keys, index_bits):
    """The walk from ``start``: (path, total weight, fallback scans)."""
    n = vectors.shape[0]
    path = np.empty(n, dtype=np.int64)
    visited = np.empty(n, dtype=np.bool_)
    unvisited = np.empty(n, dtype=np.int32)
    where = np.empty(n, dtype=np.int32)
    total, fallbacks, _ = greedy_walk(
        start, vectors, scale, head, keys, index_bits, INT64_MAX, path, visited, unvisited, where,
        NO_BOUND, NO_BOUND, np.int64(0),
    )
    return path, total, fallbacks
