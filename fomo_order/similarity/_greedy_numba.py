"""Greedy nearest-neighbour walks on the CPU: one walk per start, starts in parallel (numba prange).

A walk steps from ``current`` to the first not-yet-visited node of its neighbour list, which is sorted by
(weight, index): that is the minimum over all unvisited nodes with ties to the lower index, as long as the
list holds one. When every listed neighbour is visited, it scans the unvisited nodes (kept in a compact
array) with exact weights. So the walk is the paper's walk exactly, whatever the list length.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from fomo_order.similarity._exact_numba import INT64_MAX, pair_weight


@nb.njit(cache=True)
def greedy_walk(start, vectors, scale, head, keys, index_bits, bound, path, visited, unvisited, where):
    """Walk from ``start``; returns (total weight, fallback scans), total -1 once it exceeds ``bound``.

    ``keys`` (N, k): each node's list as ``(weight << index_bits) | index``, sorted; ``head``: its first
    columns, contiguous, so that the slots nearly every step reads stay in cache. ``path`` (length N, or
    0 to skip recording) receives the visiting order; ``visited``, ``unvisited`` and ``where`` are
    scratch arrays of length N.
    """
    n = vectors.shape[0]
    k = keys.shape[1]
    h = head.shape[1]
    index_mask = (np.int64(1) << index_bits) - 1
    record = path.shape[0] > 0
    for node in range(n):
        visited[node] = False
        unvisited[node] = node
        where[node] = node
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
        if total > bound:
            return np.int64(-1), fallbacks
        visited[nxt] = True
        last = unvisited[remaining - 1]
        unvisited[where[nxt]] = last
        where[last] = where[nxt]
        remaining -= 1
        if record:
            path[step] = nxt
        current = nxt
    return total, fallbacks


@nb.njit(cache=True, parallel=True)
def greedy_totals(starts, vectors, scale, head, keys, index_bits, bound):
    """Total weight of the walk from each start (-1: pruned, it exceeded ``bound``) and fallback counts."""
    n = vectors.shape[0]
    totals = np.empty(starts.shape[0], dtype=np.int64)
    fallbacks = np.empty(starts.shape[0], dtype=np.int64)
    for s in nb.prange(starts.shape[0]):
        visited = np.empty(n, dtype=np.bool_)
        unvisited = np.empty(n, dtype=np.int32)
        where = np.empty(n, dtype=np.int32)
        no_path = np.empty(0, dtype=np.int64)
        totals[s], fallbacks[s] = greedy_walk(
            starts[s], vectors, scale, head, keys, index_bits, bound, no_path, visited, unvisited, where
        )
    return totals, fallbacks


@nb.njit(cache=True)
def greedy_path(start, vectors, scale, head, keys, index_bits):
    """The walk from ``start``: (path, total weight, fallback scans)."""
    n = vectors.shape[0]
    path = np.empty(n, dtype=np.int64)
    visited = np.empty(n, dtype=np.bool_)
    unvisited = np.empty(n, dtype=np.int32)
    where = np.empty(n, dtype=np.int32)
    total, fallbacks = greedy_walk(
        start, vectors, scale, head, keys, index_bits, INT64_MAX, path, visited, unvisited, where
    )
    return path, total, fallbacks
