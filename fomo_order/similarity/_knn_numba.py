"""Exact neighbour lists from approximate (float32) similarity tiles.

The tiles come from a float32 matmul whose error is at most ``margin / 2``. Every column within
``margin`` below a row's k-th largest approximate value is a candidate, which provably includes the true
k nearest (see :func:`absorb`). The candidates then get exact dot products, computed column by column so
that each candidate vector is read once per block of rows (a sampled matmul; row-by-row order would fetch
them from memory again and again), and are sorted by the int64 key ``(weight << index_bits) | index``:
by weight, ties to the lower index.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from fomo_order.similarity._exact_numba import exact_dot


@nb.njit(cache=True, parallel=True)
def exact_candidate_dots(vectors, first_row, row_start, columns):
    """Exact dot product of every (tile row, candidate column) pair, visiting the pairs column-major."""
    n = vectors.shape[0]
    rows = row_start.shape[0] - 1
    pairs = columns.shape[0]
    row_of = np.empty(pairs, dtype=np.int64)
    for r in range(rows):
        row_of[row_start[r] : row_start[r + 1]] = r
    # counting sort of the pairs by column
    column_start = np.zeros(n + 1, dtype=np.int64)
    for p in range(pairs):
        column_start[columns[p] + 1] += 1
    column_start = np.cumsum(column_start)
    fill = column_start[:-1].copy()
    by_column = np.empty(pairs, dtype=np.int64)
    for p in range(pairs):
        by_column[fill[columns[p]]] = p
        fill[columns[p]] += 1
    dots = np.empty(pairs, dtype=np.float64)
    for j in nb.prange(n):
        for t in range(column_start[j], column_start[j + 1]):
            p = by_column[t]
            dots[p] = exact_dot(vectors, first_row + row_of[p], j)
    return dots


@nb.njit(cache=True, parallel=True)
def sorted_keys(first_row, row_start, columns, values, dots, scale, index_bits, out_keys):
    """Write each tile row's k smallest keys into ``out_keys``; returns the largest |approximate - exact|."""
    rows = row_start.shape[0] - 1
    k = out_keys.shape[1]
    errors = np.zeros(rows, dtype=np.float64)
    for r in nb.prange(rows):
        begin = row_start[r]
        keys = np.empty(row_start[r + 1] - begin, dtype=np.int64)
        worst = 0.0
        for t in range(keys.shape[0]):
            dot = dots[begin + t]
            worst = max(worst, abs(dot - np.float64(values[begin + t])))
            weight = np.int64((1.0 - dot) * scale)
            if weight < 0:
                weight = 0
            keys[t] = (weight << index_bits) | np.int64(columns[begin + t])
        keys.sort()
        out_keys[first_row + r, :] = keys[:k]
        errors[r] = worst
    return errors.max()


# -- lists from symmetric tiles -----------------------------------------------------------------------
# The similarity matrix is symmetric, so each tile (I, J), I <= J, is computed once and serves the rows of
# block I (its rows) and of block J (its columns). A row then sees its entries over many tiles, so its
# floor cannot come from a histogram of the whole row: each row keeps a buffer of candidates and a floor
# (the k-th largest approximate value seen so far, minus the margin) that rises as the buffer is compacted.
# Any column of the true k nearest stays: its approximate value is at least the final k-th largest minus
# the margin, which is at least every floor the row ever had.


_COMPACT_BUCKETS = 1024


@nb.njit(cache=True)
def _keep_from(columns, values, count, floor):
    kept = 0
    for t in range(count):
        if np.float64(values[t]) >= floor:
            columns[kept] = columns[t]
            values[kept] = values[t]
            kept += 1
    return kept


@nb.njit(cache=True)
def _compact(columns, values, count, k, margin):
    """Keep the entries at or above (a value that at least k of them reach - margin); returns (new count,
    new floor). A histogram finds that value in two passes; where it is too coarse to free much room
    (values bunched in one bucket), the exact k-th largest does. The 1e-7 covers float rounding."""
    low = np.float64(values[0])
    high = low
    for t in range(count):
        low = min(low, np.float64(values[t]))
        high = max(high, np.float64(values[t]))
    floor = low - margin - 1e-7
    if high > low:
        per_unit = _COMPACT_BUCKETS / (high - low)
        histogram = np.zeros(_COMPACT_BUCKETS + 1, dtype=np.int64)
        for t in range(count):
            histogram[int((np.float64(values[t]) - low) * per_unit)] += 1
        reached = 0
        bucket = _COMPACT_BUCKETS
        while bucket > 0:
            reached += histogram[bucket]
            if reached >= k:
                break
            bucket -= 1
        floor = low + bucket / per_unit - margin - 1e-7  # every value of bucket b is >= low + b / per_unit
    kept = 0
    for t in range(count):
        if np.float64(values[t]) >= floor:
            kept += 1
    if kept > count - max(16, (count - k) // 4):
        scratch = values[:count].copy()
        floor = max(floor, np.float64(np.partition(scratch, count - k)[count - k]) - margin - 1e-7)
    return _keep_from(columns, values, count, floor), floor


@nb.njit(cache=True, inline="always")
def _offer_all(line, node, candidate_first, k, margin, columns, values, counts, floors, overflow):
    """Offer ``line[t]`` (approximate dot of ``node`` and node ``candidate_first + t``) to the buffer of
    ``node``, compacting it when full; the buffer's count and floor stay in registers meanwhile."""
    capacity = columns.shape[1]
    count = counts[node]
    floor = floors[node]
    for t in range(line.shape[0]):
        value = line[t]
        if np.float64(value) >= floor:
            candidate = candidate_first + t
            if candidate == node:
                continue
            if count == capacity:
                count, floor = _compact(columns[node], values[node], count, k, margin)
                if count == capacity:
                    overflow[node] = True
                    break
                if np.float64(value) < floor:
                    continue
            columns[node, count] = candidate
            values[node, count] = value
            count += 1
    counts[node] = count
    floors[node] = floor


@nb.njit(cache=True, parallel=True)
def absorb(tile, row_first, column_first, k, margin, columns, values, counts, floors, overflow):
    """Offer ``tile[r, c]`` (approximate dot of nodes row_first + r and column_first + c) to the buffer of
    row node r.

    A node whose buffer stays full after compaction (more than its capacity within the margin of its
    k-th value: duplicates) is marked in ``overflow`` and gets an exact full row later."""
    for r in nb.prange(tile.shape[0]):
        if not overflow[row_first + r]:
            _offer_all(tile[r], row_first + r, column_first, k, margin, columns, values, counts, floors, overflow)


@nb.njit(cache=True, parallel=True)
def transpose_into(tile, out):
    """``out[:cols, :rows] = tile.T``, in 32 x 32 blocks (a block's lines stay in cache while it is copied)."""
    rows, cols = tile.shape
    for block in nb.prange((rows + 31) // 32):
        r0 = block * 32
        r1 = min(rows, r0 + 32)
        for c0 in range(0, cols, 32):
            for r in range(r0, r1):
                for c in range(c0, min(cols, c0 + 32)):
                    out[c, r] = tile[r, c]


@nb.njit(cache=True, parallel=True)
def finish_candidates(first, last, k, margin, columns, values, counts):
    """The buffers of rows first..last-1 compacted one last time, as CSR (row_start, columns, values)."""
    rows = last - first
    kept = np.empty(rows, dtype=np.int64)
    for r in nb.prange(rows):
        node = first + r
        count = counts[node]
        if count > k:
            count, _ = _compact(columns[node], values[node], count, k, margin)
        kept[r] = count
    row_start = np.zeros(rows + 1, dtype=np.int64)
    row_start[1:] = np.cumsum(kept)
    out_columns = np.empty(row_start[rows], dtype=np.int32)
    out_values = np.empty(row_start[rows], dtype=np.float32)
    for r in nb.prange(rows):
        node = first + r
        out_columns[row_start[r] : row_start[r + 1]] = columns[node, : kept[r]]
        out_values[row_start[r] : row_start[r + 1]] = values[node, : kept[r]]
    return row_start, out_columns, out_values
