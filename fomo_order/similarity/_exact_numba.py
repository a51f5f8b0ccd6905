"""The exact weight of one pair in numba (see :mod:`fomo_order.similarity.weights` for why it is exact)."""

from __future__ import annotations

import numba as nb
import numpy as np

INT64_MAX = np.iinfo(np.int64).max


# Reassociation lets LLVM vectorise the sum; it cannot change the result, every partial sum is exact.
@nb.njit(cache=True, fastmath={"reassoc", "contract"})
def exact_dot(vectors, i, j):
    acc = 0.0
    for t in range(vectors.shape[1]):
        acc += np.float64(vectors[i, t]) * np.float64(vectors[j, t])
    return acc


@nb.njit(cache=True)
def pair_weight(vectors, i, j, scale):
    weight = np.int64((1.0 - exact_dot(vectors, i, j)) * scale)
    return weight if weight > 0 else np.int64(0)


@nb.njit(cache=True)
def path_total(vectors, path, scale):
    total = np.int64(0)
    for step in range(1, path.shape[0]):
        total += pair_weight(vectors, path[step - 1], path[step], scale)
    return total
