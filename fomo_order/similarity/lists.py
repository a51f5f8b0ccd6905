"""Per-node lists of the ``k`` nearest other nodes, exact, sorted by (weight, index).

On the CPU beyond ``EXACT_LISTS_MAX`` nodes from float32 tiles of the similarity matrix: each tile of
the symmetric matrix is computed once for the rows of both its blocks, screened with a proven error
margin, and the candidates re-ranked with exact weights; up to it from exact float64 rows. On CUDA from
exact float64 tiles (see :mod:`fomo_order.similarity.devices`). The N x N matrix is never held.
"""

from __future__ import annotations

import math
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
# Starting floors of the screen (see ``sampled_floors``): FLOOR_SAMPLE columns, FLOOR_ROWS rows at a time.
FLOOR_SAMPLE, FLOOR_SIGMAS, FLOOR_ROWS = 1024, 4.0, 8192
NO_FLOOR = -2.0  # below every cosine: every value passes


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


def _screened_keys(quantized, k, fixed, diagnostics, reporter, block: int | None = None) -> np.ndarray:
    """The CPU lists: candidates within the float32 error margin of each row's k-th best, then exact keys."""
    from fomo_order.similarity import _knn_numba

    n = quantized.shape[0]
    bound = float32_matmul_error_bound(quantized.shape[1])
    margin = 2.0 * bound
    starting_floors = sampled_floors(quantized, k, margin)
    # Candidates a row holds between compactions: from a sampled floor a row keeps little more than its k
    # nearest; from none, the first compactions see only a part of the row, and ties at its k-th value
    # then (duplicates) need room until later tiles raise the floor.
    spare = k // 8 if (starting_floors > NO_FLOOR).any() else k // 2
    capacity = min(n - 1, k + max(spare, 64))
    keys, columns, values = _shared_rows(n, k, capacity + _knn_numba.CHUNK)
    counts = np.zeros(n, dtype=np.int64)
    floors = starting_floors.copy()
    overflow = np.zeros(n, dtype=np.bool_)
    block = block or SYMMETRIC_BLOCK
    for first in range(0, n, block):
        rows = quantized[first : first + block]
        for other in range(first, n, block):
            tile = rows @ quantized[other : other + block].T  # float32 BLAS; its error is within ``bound``
            if other == first:
                np.fill_diagonal(tile, -np.inf)  # a node is not its own neighbour
            _knn_numba.absorb_rows(tile, first, other, k, margin, columns, values, counts, floors, overflow)
            if other != first:  # the same tile serves the other block's rows, read as rows of its transpose
                _knn_numba.absorb_columns(tile, first, other, k, margin, columns, values, counts, floors, overflow)
        reporter.advance(min(block, n - first))
    worst = 0.0
    unproven = np.zeros(n, dtype=np.bool_)
    for first in range(0, n, EXACT_BLOCK):
        last = min(n, first + EXACT_BLOCK)
        row_start, candidates, approximate = _knn_numba.finish_candidates(first, last, k, margin, columns, values,
                                                                          counts, starting_floors, unproven)
        dots = _knn_numba.exact_candidate_dots(quantized, first, row_start, candidates)
        error = _knn_numba.sorted_keys(first, row_start, candidates, approximate, dots, fixed.scale,
                                       fixed.index_bits, keys)
        worst = max(worst, error)
    del columns, values
    exact_rows = overflow | unproven
    if exact_rows.any():  # more near-duplicates than a buffer holds, or a floor guessed too high: exactly, in full
        rows = np.flatnonzero(exact_rows)
        keys[rows] = exact_keys(quantized, rows, k, fixed)
        if diagnostics is not None:
            diagnostics["full_rows_for_lists"] = len(rows)
    if worst > bound:
        # The float32 matmul broke its error bound (an unusual BLAS): fall back to exact float64 tiles.
        keys = exact_keys(quantized, np.arange(n), k, fixed)
        if diagnostics is not None:
            diagnostics["screening_fallback"] = True
    return keys


def _shared_rows(n: int, k: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, columns, values): the lists (N, k) and the candidate buffers (N, width) in one allocation.

    Row u's buffers (its columns, then its values) start at byte ``u * 8 * width``, its keys at ``u * 8 *
    k`` (``k <= width``): the keys of rows up to u only overwrite buffers of rows up to u, and rows are
    finished in order, so the lists reuse the buffers' memory. On these machines touching fresh memory
    costs about 2 ms per MiB (the lists of 18,381 concepts: 290 MiB), and the peak is lower."""
    arena = np.empty(n * max(width, k), dtype=np.int64)  # a row: width int32 columns + width float32 values
    keys = arena[: n * k].reshape(n, k)
    rows = arena.view(np.int32)[: n * 2 * width].reshape(n, 2 * width)
    return keys, rows[:, :width], rows.view(np.float32)[:, width:]


def sampled_floors(quantized: np.ndarray, k: int, margin: float) -> np.ndarray:
    """Per row, a floor to screen its tiles from the start: a row whose floor starts far below its k-th
    largest value keeps (and compacts) thousands of candidates before its floor rises.

    The floor is the ``rank``-th largest value among ``FLOOR_SAMPLE`` evenly spaced columns, minus the
    margin, with ``rank`` about ``FLOOR_SIGMAS`` standard deviations above the sample's share of the k
    nearest: a guess, usually below the k-th largest value. The screen checks it (see
    ``_knn_numba.finish_candidates``) and rows where it was too high get exact full rows, so a wrong
    guess costs time, never exactness. ``NO_FLOOR`` where the sample cannot tell (k near N)."""
    n = quantized.shape[0]
    floors = np.full(n, NO_FLOOR)
    sample_size = min(FLOOR_SAMPLE, n - 1)
    expected = k * sample_size / (n - 1)
    rank = math.ceil(expected + FLOOR_SIGMAS * math.sqrt(expected)) + 1  # + 1: the row itself may be sampled
    if rank > sample_size // 2:
        return floors
    sample = quantized[np.linspace(0, n - 1, sample_size).round().astype(np.int64)]
    for first in range(0, n, FLOOR_ROWS):
        block = quantized[first : first + FLOOR_ROWS] @ sample.T
        floors[first : first + len(block)] = np.partition(block, sample_size - rank, axis=1)[:, sample_size - rank]
    return floors - margin


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
