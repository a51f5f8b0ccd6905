"""The search of a small catalog in plain numpy (:mod:`._greedy_numpy`), and when it serves.

Up to :data:`NUMPY_WALKS_MAX` concepts a plain search (all starts, ``start_rank`` or a given start; no
refinement, no spanning-tree bound, no sampled starts, no Ray) on the CPU walks in numpy when numba is not
loaded yet, as in every fresh ``fomo-order`` process: importing numba and loading its cached kernels
costs about 0.4 s, more than these walks take up to that size (0.06 s at 821 concepts, 0.3 s at 1,536 on
2 cores; 0.45-0.6 s at 2,048, where numba's walks take 0.17 s). The result is the same either way.
"""

from __future__ import annotations

import sys

import numpy as np

from fomo_order.progress import Reporter
from fomo_order.similarity.weights import FixedPoint

NUMPY_WALKS_MAX = 1536


def numba_loaded() -> bool:
    return sys.modules.get("numba") is not None  # None: an import that failed, or was blocked


def numpy_walks_serve(
    n: int, where: str, refining: bool, lower_bound: bool, sampled: bool, ray_address: str | None
) -> bool:
    """Whether a search of ``n`` concepts walks in numpy; where numba is already loaded (a notebook, a test
    session) its walks are faster, and the spanning tree, local search and sampling are numba's."""
    return (where == "cpu" and ray_address is None and not refining and not lower_bound and not sampled
            and n <= NUMPY_WALKS_MAX and not numba_loaded())


def numpy_search(
    quantized: np.ndarray, fixed: FixedPoint, start: int | None, start_rank: int, reporter: Reporter
) -> tuple[np.ndarray, int, int]:
    """(path, total in integer units, start) of the walk from ``start``, or else of the start that ranks
    ``start_rank`` by (total, start index) among all starts."""
    from fomo_order.similarity import _greedy_numpy

    n = quantized.shape[0]
    keys = _greedy_numpy.full_keys(quantized, fixed)
    if start is not None:
        path, total = _greedy_numpy.greedy_walk(int(start), keys, fixed.index_bits)
        return path, total, int(start)
    reporter.start(n, "greedy walks", "walks")
    totals = _greedy_numpy.lockstep_totals(np.arange(n, dtype=np.int64), keys, fixed.index_bits)
    reporter.advance(n)
    reporter.finish()
    chosen = int(np.lexsort((np.arange(n), totals))[start_rank - 1])  # equal totals: lower start first
    path, total = _greedy_numpy.greedy_walk(chosen, keys, fixed.index_bits)
    if total != totals[chosen]:
        raise AssertionError("the path's weight differs from the search's")  # the two walks disagree: a bug
    return path, total, chosen
