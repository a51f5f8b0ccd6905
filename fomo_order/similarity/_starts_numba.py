"""Farthest-point sampling of start concepts with exact weights (so the same starts on every machine)."""

from __future__ import annotations

import numba as nb
import numpy as np

from fomo_order.similarity._exact_numba import pair_weight


@nb.njit(cache=True, parallel=True)
def farthest_points(vectors, scale, pool, first, count):
    """``count`` nodes of ``pool`` (sorted node indices), beginning with ``pool[first]``: each next one is
    the pool node whose lightest edge to those chosen so far is heaviest (ties: the lower index).
    ``count`` must not exceed the pool size."""
    size = pool.shape[0]
    nearest = np.empty(size, dtype=np.int64)
    chosen = np.empty(count, dtype=np.int64)
    at = first
    for c in range(count):
        node = pool[at]
        chosen[c] = node
        for p in nb.prange(size):
            if c == 0 or nearest[p] > 0:
                w = pair_weight(vectors, node, pool[p], scale)
                if c == 0 or w < nearest[p]:
                    nearest[p] = w
        nearest[at] = -1  # chosen: never again, even where duplicates leave every other node at weight 0
        # the heaviest lightest edge; pool is sorted, so the first maximum is the lowest index
        at = 0
        for p in range(1, size):
            if nearest[p] > nearest[at]:
                at = p
    return chosen
