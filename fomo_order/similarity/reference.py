"""The naive reference of the paper's concept-similarity ordering: O(N^3) time, O(N^2) memory.

For tests and benchmarks only. It shares nothing with the fast kernels but the weight definition
(:mod:`fomo_order.similarity.weights`): per start, a masked argmin over the full weight row at every step.
"""

from __future__ import annotations

import numpy as np

from fomo_order.similarity.weights import exact_weights, fixed_point_for, quantize

_UNREACHABLE = np.iinfo(np.int64).max


def naive_walk(weights: np.ndarray, start: int) -> tuple[np.ndarray, int]:
    """One greedy walk over a full integer weight matrix: (path, total weight in integer units)."""
    n = weights.shape[0]
    visited = np.zeros(n, dtype=bool)
    path = np.empty(n, dtype=np.int64)
    path[0] = start
    visited[start] = True
    total = 0
    current = start
    for step in range(1, n):
        row = np.where(visited, _UNREACHABLE, weights[current])
        nxt = int(np.argmin(row))  # the first minimum: ties go to the lower index
        total += int(row[nxt])
        visited[nxt] = True
        path[step] = nxt
        current = nxt
    return path, total


def naive_greedy_costs(embeddings: np.ndarray) -> np.ndarray:
    """The greedy cost (integer units) of the walk from every start."""
    fixed = fixed_point_for(embeddings.shape[0])
    weights = exact_weights(quantize(embeddings, fixed), slice(None), fixed)
    return np.array([naive_walk(weights, start)[1] for start in range(weights.shape[0])], dtype=np.int64)


def naive_greedy_all_starts(embeddings: np.ndarray) -> tuple[np.ndarray, float, int]:
    """The paper's path by brute force: (path, cost, start) of the cheapest greedy walk over all starts.

    Equal costs go to the lower start index. The cost is the sum of ``1 - cos`` along the path.
    """
    n = embeddings.shape[0]
    fixed = fixed_point_for(n)
    weights = exact_weights(quantize(embeddings, fixed), slice(None), fixed)
    best_start, best_total, best_path = -1, None, None
    for start in range(n):
        path, total = naive_walk(weights, start)
        if best_total is None or total < best_total:  # strict: an equal cost keeps the lower start
            best_start, best_total, best_path = start, total, path
    assert best_path is not None and best_total is not None
    return best_path, fixed.to_float(best_total), best_start
