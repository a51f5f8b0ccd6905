"""Greedy walks in plain numpy for small catalogs, where importing numba would cost more than the walks.

Every start walks at once, one step per loop iteration ("lockstep"): the walk at node ``c`` takes the
first unvisited node of ``c``'s sorted head, else of its sorted tier of ``TIER`` keys, else the minimum
key of ``c``'s unvisited nodes in the full key matrix. Keys are ``(weight << index_bits) | index`` from
the exact integer weights (:mod:`.weights`), so the smallest key is the lightest edge with the tie rule
"lower index first", and the totals are the numba and Triton kernels' to the bit. Time is O(N^2) per
step in the worst case and memory O(N^2): :data:`~fomo_order.similarity.small.NUMPY_WALKS_MAX` bounds N.
"""

from __future__ import annotations

import numpy as np

from fomo_order.similarity.weights import FixedPoint, exact_weights

NO_KEY = np.iinfo(np.int64).max
# Measured on FoMo-in-Flux subsets of 821-2,048 concepts: a head of 16 and a tier of 256 keys make the
# fewest full-row scans for the least gathering per step.
HEAD, TIER = 16, 256


def full_keys(quantized: np.ndarray, fixed: FixedPoint) -> np.ndarray:
    """The (N, N) int64 keys of every edge; the diagonal (no edge) is the largest int64."""
    n = quantized.shape[0]
    keys = (exact_weights(quantized, slice(None), fixed) << fixed.index_bits) | np.arange(n, dtype=np.int64)
    np.fill_diagonal(keys, NO_KEY)
    return keys


def sorted_tier(keys: np.ndarray, width: int) -> np.ndarray:
    """Per row, its ``width`` smallest keys, sorted (``width`` < N)."""
    return np.sort(np.partition(keys, width - 1, axis=1)[:, :width], axis=1)


def lockstep_totals(starts: np.ndarray, keys: np.ndarray, index_bits: int) -> np.ndarray:
    """The total weight (integer units) of the greedy walk from each of ``starts``, all walked together."""
    n = keys.shape[0]
    index_mask = (1 << index_bits) - 1
    tier = sorted_tier(keys, min(TIER, n - 1))
    head = np.ascontiguousarray(tier[:, :HEAD])
    head_nodes, tier_nodes = head & index_mask, tier & index_mask
    head_flat, tier_flat = head.ravel(), tier.ravel()
    walks = len(starts)
    lanes = np.arange(walks)
    row_base = lanes * n  # walk w's visited flags are visited_flat[w * n : (w + 1) * n]
    current = np.asarray(starts, dtype=np.int64).copy()
    visited = np.zeros((walks, n), dtype=bool)
    visited_flat = visited.ravel()
    visited_flat[row_base + current] = True
    totals = np.zeros(walks, dtype=np.int64)
    for _ in range(n - 1):
        free = ~visited_flat[head_nodes[current] + row_base[:, None]]
        position = free.argmax(axis=1)  # the first unvisited in the head, or 0 where there is none
        key = head_flat[current * head.shape[1] + position]
        missed = np.flatnonzero(~free[lanes, position])
        if len(missed):
            at = current[missed]
            free = ~visited_flat[tier_nodes[at] + row_base[missed, None]]
            position = free.argmax(axis=1)
            key[missed] = tier_flat[at * tier.shape[1] + position]
            scan = missed[~free[np.arange(len(missed)), position]]
            if len(scan):
                key[scan] = np.where(visited[scan], NO_KEY, keys[current[scan]]).min(axis=1)
        following = key & index_mask
        totals += key >> index_bits
        visited_flat[row_base + following] = True
        current = following
    return totals


def greedy_walk(start: int, keys: np.ndarray, index_bits: int) -> tuple[np.ndarray, int]:
    """The greedy walk from ``start``: (path, total weight in integer units)."""
    n = keys.shape[0]
    index_mask = (1 << index_bits) - 1
    unvisited = np.ones(n, dtype=bool)
    path = np.empty(n, dtype=np.int64)
    path[0] = current = start
    unvisited[start] = False
    total = 0
    for step in range(1, n):
        key = int(keys[current][unvisited].min())
        current = key & index_mask
        total += key >> index_bits
        unvisited[current] = False
        path[step] = current
    return path, total
