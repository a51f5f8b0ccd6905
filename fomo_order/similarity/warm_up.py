"""Compile every CPU kernel of the search ahead of the first search (numba keeps them in its cache).

A first search compiles the kernels it calls (seconds; the progress line says so); an installation can
instead pay for all of them once, e.g. ``make install`` running ``python -m fomo_order.similarity.warm_up``.
The kernels get the argument types a real search passes, on a tiny made-up set, so the search finds
them in the cache whatever its size and options.
"""

from __future__ import annotations

import time

import numpy as np

from fomo_order.progress import SILENT
from fomo_order.similarity.weights import fixed_point_for, quantize


def compile_kernels() -> float:
    """Compile (or load from numba's cache) the search's CPU kernels; returns the seconds it took."""
    from fomo_order.similarity import _greedy_numba, lists
    from fomo_order.similarity.search import similarity_path

    began = time.perf_counter()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    similarity_path(x, device="cpu", refine="2opt")  # walks, path, local search, spanning tree
    similarity_path(x, device="cpu", starts=8)  # farthest-point sampling
    fixed = fixed_point_for(len(x))
    quantized = quantize(x, fixed)
    lists._screened_keys(quantized, 12, fixed, None, SILENT)  # the screen of lists beyond EXACT_LISTS_MAX
    lists._screened_keys(quantized, 12, fixed, None, SILENT, block=40)  # tiles that serve two blocks' rows
    _greedy_numba.row_rests(quantized, fixed.scale, np.array([0, 5], dtype=np.int64), 12, fixed.index_bits)
    return time.perf_counter() - began


if __name__ == "__main__":
    print(f"fomo-order: search kernels compiled or loaded from numba's cache in {compile_kernels():.1f} s")
