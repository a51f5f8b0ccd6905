"""Per-node lists of the ``k`` nearest other nodes, exact, sorted by (weight, index).

On the CPU beyond ``EXACT_LISTS_MAX`` nodes from float32 tiles of the similarity matrix: each tile of
the symmetric matrix is computed once for the rows of both its blocks, screened with a proven error
margin, and the candidates re-ranked with exact weights; up to it from exact float64 rows. On CUDA from
exact float64 tiles (see :mod:`fomo_order.similarity.devices`). The N x N matrix is never held.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fomo_order.progress import SILENT, Reporter
from fomo_order.similarity.weights import FixedPoint, weights_from_dots

MIN_NEIGHBOURS, MAX_NEIGHBOURS = 256, 2048
HEAD_WIDTH = 16
SYMMETRIC_BLOCK = 2048  # rows per block of the CPU lists: tiles of 2048 x 2048 float32 (16 MiB)
EXACT_BLOCK = 256  # rows whose candidates get exact dot products together (their vectors stay in cache)
CPU_TILE_BYTES = 32 << 20  # float64 tiles of exact weights, where the screen cannot serve
# Up to this many nodes the CPU lists come from exact float64 products in full rows (numpy's BLAS, tens of
# milliseconds): no screening kernel to compile, which would cost a first run several seconds.
EXACT_LISTS_MAX = 2048


@dataclass(frozen=True)
class NeighbourLists:
    """Per node, its ``k`` nearest other nodes as sorted int64 keys ``(weight << index_bits) | index``."""

    keys: np.ndarray  # (N, k), CPU
    index_bits: int

    @property
    def head(self) -> np.ndarray:
        """The first columns, contiguous: nearly every greedy step finds its node there."""
        return np.ascontiguousarray(self.keys[:, :HEAD_WIDTH])

    @property
    def indices(self) -> np.ndarray:
        return self.keys & ((1 << self.index_bits) - 1)

    @property
    def weights(self) -> np.ndarray:
        return self.keys >> self.index_bits


def default_neighbours(n: int) -> int:
    """List length k: longer lists make fewer walks fall back to a scan of their unvisited nodes, but cost
    O(N k) memory, exact dot products and sorting. Measured on the FoMo-in-Flux embeddings: k = 2048 is
    best at N = 18,381, k = 256 at N = 2,000. (Sampled starts use the same: with 512 the lists of the
    issue-12 55,143 set hold no copies, and the first walks, before any rows grow, scan for minutes.)"""
    return int(min(MAX_NEIGHBOURS, max(MIN_NEIGHBOURS, n // 8)))


def float32_matmul_error_bound(dim: int) -> float:
    """A bound on |float32 dot - exact dot| for vectors of norm <= 1 + 1e-3, any summation order.

    The classic bound is gamma_d * sum |x_i y_i| <= gamma_d * |x| |y| with gamma_d = d u / (1 - d u),
    u = 2**-24; doubled for safety.
    """
    u = 2.0**-24
    gamma = dim * u / (1.0 - dim * u)
    return 2.0 * gamma * (1.0 + 1e-3) ** 2


def neighbour_lists(
    quantized: np.ndarray,
    k: int,
    fixed: FixedPoint,
    where: str,
    diagnostics: dict | None = None,
    reporter: Reporter = SILENT,
) -> NeighbourLists:
    """Exact k-nearest lists: float32 screening + exact re-ranking on the CPU, exact float64 tiles on CUDA."""
    n = quantized.shape[0]
    reporter.start(n, "neighbour lists", "concepts")
    try:
        if where == "cuda":
            from fomo_order.similarity.devices import device_neighbour_keys

            return NeighbourLists(device_neighbour_keys(quantized, k, fixed, where), fixed.index_bits)
        if n <= EXACT_LISTS_MAX:
            keys = exact_keys(quantized, np.arange(n), k, fixed)
            reporter.advance(n)
            return NeighbourLists(keys, fixed.index_bits)
        return NeighbourLists(_screened_keys(quantized, k, fixed, diagnostics, reporter), fixed.index_bits)
    finally:
        reporter.finish()


def _screened_keys(quantized, k, fixed, diagnostics, reporter) -> np.ndarray:
    """The CPU lists: candidates within the float32 error margin of each row's k-th best, then exact keys."""
    from fomo_order.similarity import _knn_numba

    n = quantized.shape[0]
    keys = np.empty((n, k), dtype=np.int64)
    bound = float32_matmul_error_bound(quantized.shape[1])
    margin = 2.0 * bound
    capacity = min(n - 1, k + max(k // 2, 64))  # candidates a row holds between compactions
    columns = np.empty((n, capacity), dtype=np.int32)
    values = np.empty((n, capacity), dtype=np.float32)
    counts = np.zeros(n, dtype=np.int64)
    floors = np.full(n, -np.inf)
    overflow = np.zeros(n, dtype=np.bool_)
    block = SYMMETRIC_BLOCK
    flipped = np.empty((block, block), dtype=np.float32)
    for first in range(0, n, block):
        rows = quantized[first : first + block]
        for other in range(first, n, block):
            tile = rows @ quantized[other : other + block].T  # float32 BLAS; its error is within ``bound``
            _knn_numba.absorb(tile, first, other, k, margin, columns, values, counts, floors, overflow)
            if other != first:  # the same tile serves the other block's rows, read as rows of its transpose
                view = flipped[: tile.shape[1], : tile.shape[0]]
                _knn_numba.transpose_into(tile, view)
                _knn_numba.absorb(view, other, first, k, margin, columns, values, counts, floors, overflow)
        reporter.advance(min(block, n - first))
    worst = 0.0
    for first in range(0, n, EXACT_BLOCK):
        last = min(n, first + EXACT_BLOCK)
        row_start, candidates, approximate = _knn_numba.finish_candidates(first, last, k, margin, columns, values,
                                                                          counts)
        dots = _knn_numba.exact_candidate_dots(quantized, first, row_start, candidates)
        error = _knn_numba.sorted_keys(first, row_start, candidates, approximate, dots, fixed.scale,
                                       fixed.index_bits, keys)
        worst = max(worst, error)
    del columns, values
    if overflow.any():  # more near-duplicates than a buffer holds: those rows exactly, in full
        rows = np.flatnonzero(overflow)
        keys[rows] = exact_keys(quantized, rows, k, fixed)
        if diagnostics is not None:
            diagnostics["full_rows_for_lists"] = len(rows)
    if worst > bound:
        # The float32 matmul broke its error bound (an unusual BLAS): fall back to exact float64 tiles.
        keys = exact_keys(quantized, np.arange(n), k, fixed)
        if diagnostics is not None:
            diagnostics["screening_fallback"] = True
    return keys


def exact_keys(quantized: np.ndarray, rows: np.ndarray, k: int, fixed: FixedPoint) -> np.ndarray:
    """The k nearest of each of ``rows`` by (weight, index), exact, from full rows of float64 dot products
    (exact in any summation order, see :mod:`~fomo_order.similarity.weights`), ``CPU_TILE_BYTES`` at a time."""
    n = quantized.shape[0]
    wide = quantized.astype(np.float64)
    columns = np.arange(n, dtype=np.int64)
    out = np.empty((len(rows), k), dtype=np.int64)
    step = max(1, min(n, CPU_TILE_BYTES // (24 * n)))
    for first in range(0, len(rows), step):
        chunk = np.asarray(rows[first : first + step], dtype=np.int64)
        row_keys = (weights_from_dots(wide[chunk] @ wide.T, fixed) << fixed.index_bits) | columns
        row_keys[np.arange(len(chunk)), chunk] = np.iinfo(np.int64).max
        nearest = np.partition(row_keys, k - 1, axis=1)[:, :k] if k < n else row_keys
        out[first : first + len(chunk)] = np.sort(nearest, axis=1)[:, :k]
    return out
