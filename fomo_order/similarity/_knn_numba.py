"""Exact neighbour lists from an approximate (float32) similarity tile.

The tile comes from a float32 matmul whose error is at most ``margin / 2``. A histogram of each row
gives a value that at least k of its entries reach (so it is at most the row's k-th largest); every
column within ``margin`` below it is a candidate, which provably includes the true k nearest. The
candidates then get exact dot products, computed column by column so that each candidate vector is
read once per tile (a sampled matmul; row-by-row order would fetch them from memory again and again),
and are sorted by the int64 key ``(weight << index_bits) | index``: by weight, ties to the lower index.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from fomo_order.similarity._exact_numba import exact_dot

_BUCKETS = 4096
_LOWEST = -1.25  # dot products of unit vectors lie well inside [-1.25, 1.25)
_PER_UNIT = _BUCKETS / 2.5


@nb.njit(cache=True)
def _row_floor(approx, r, own, k, margin):
    """A value with at least k entries of row r (``own`` column excluded) at or above it, minus margin."""
    counts = np.zeros(_BUCKETS, dtype=np.int64)
    for j in range(approx.shape[1]):
        if j != own:
            bucket = int((np.float64(approx[r, j]) - _LOWEST) * _PER_UNIT)
            counts[min(max(bucket, 0), _BUCKETS - 1)] += 1
    reached = 0
    bucket = _BUCKETS - 1
    while bucket > 0:
        reached += counts[bucket]
        if reached >= k:
            break
        bucket -= 1
    # the 1e-6 covers rounding in the bucket arithmetic
    return bucket / _PER_UNIT + _LOWEST - 1e-6 - margin


@nb.njit(cache=True, parallel=True)
def candidates(approx, first_row, k, margin):
    """Candidate columns of each tile row, as CSR: (row_start, columns, approximate values)."""
    rows, n = approx.shape
    floors = np.empty(rows, dtype=np.float64)
    counts = np.empty(rows, dtype=np.int64)
    for r in nb.prange(rows):
        own = first_row + r
        floors[r] = _row_floor(approx, r, own, k, margin)
        count = 0
        for j in range(n):
            if j != own and np.float64(approx[r, j]) >= floors[r]:
                count += 1
        counts[r] = count
    row_start = np.zeros(rows + 1, dtype=np.int64)
    row_start[1:] = np.cumsum(counts)
    columns = np.empty(row_start[rows], dtype=np.int32)
    values = np.empty(row_start[rows], dtype=np.float32)
    for r in nb.prange(rows):
        own = first_row + r
        at = row_start[r]
        for j in range(n):
            if j != own and np.float64(approx[r, j]) >= floors[r]:
                columns[at] = j
                values[at] = approx[r, j]
                at += 1
    return row_start, columns, values


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
