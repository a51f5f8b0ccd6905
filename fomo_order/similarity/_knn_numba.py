"""Exact neighbour lists from approximate (float32) similarity tiles.

The tiles come from a float32 matmul whose error is at most ``margin / 2``. Every column within
``margin`` below a row's k-th largest approximate value is a candidate, which provably includes the true
k nearest (see the comment above :func:`absorb_rows`). Each row's floor starts from a sampled guess,
checked at the end (:func:`finish_candidates`). The candidates then get exact dot products, computed
column by column so that each candidate vector is read once per block of rows (a sampled matmul;
row-by-row order would fetch them from memory again and again), and are sorted by the int64 key
``(weight << index_bits) | index``: by weight, ties to the lower index.
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
    """Write each tile row's k smallest keys into ``out_keys``; returns the largest |approximate - exact|.
    (A row with fewer than k candidates, marked unproven by :func:`finish_candidates`, gets -1 after them.)"""
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
        _bucket_sort(keys)
        kept = min(k, keys.shape[0])  # fewer than k: a floor guessed too high, the row is redone exactly
        out_keys[first_row + r, :kept] = keys[:kept]
        out_keys[first_row + r, kept:] = -1
        errors[r] = worst
    return errors.max()


_BUCKET_MOST = 32  # a bucket this full (many equal weights) makes insertion sort slow: sort the row instead


@nb.njit(cache=True, inline="always")
def _bucket(key, low, per_key, buckets):
    return min(buckets - 1, np.int64(np.float64(key - low) * per_key))


@nb.njit(cache=True)
def _bucket_sort(keys):
    """Sort distinct int64 keys in place: one bucket per key over their range, then insertion sort.

    A row's candidate weights spread smoothly over their range, so buckets hold a key or two and the
    whole sort is a few linear passes (numba's quicksort of ~2,000 keys took most of the lists' sorting
    time). The bucket of a key is a non-decreasing function of the key (float rounding is monotone),
    so after bucketing keys are out of order only within a bucket."""
    m = keys.shape[0]
    if m < 64:
        keys.sort()
        return
    low = keys.min()
    per_key = m / (np.float64(keys.max() - low) + 1.0)
    fill = np.zeros(m + 1, dtype=np.int64)
    for t in range(m):
        fill[_bucket(keys[t], low, per_key, m) + 1] += 1
    most = 0
    for b in range(m):
        most = max(most, fill[b + 1])
        fill[b + 1] += fill[b]
    if most > _BUCKET_MOST:
        keys.sort()
        return
    placed = np.empty(m, dtype=np.int64)
    for t in range(m):
        b = _bucket(keys[t], low, per_key, m)
        placed[fill[b]] = keys[t]
        fill[b] += 1
    for t in range(1, m):
        key = placed[t]
        slot = t
        while slot > 0 and placed[slot - 1] > key:
            placed[slot] = placed[slot - 1]
            slot -= 1
        placed[slot] = key
    keys[:] = placed


# -- lists from symmetric tiles -----------------------------------------------------------------------
# The similarity matrix is symmetric, so each tile (I, J), I <= J, is computed once and serves the rows of
# block I (its rows) and of block J (its columns). A row then sees its entries over many tiles, so its
# floor cannot come from a histogram of the whole row: each row keeps a buffer of candidates and a floor
# (the k-th largest approximate value seen so far, minus the margin) that rises as the buffer is compacted.
# Any column of the true k nearest stays: its approximate value is at least the final k-th largest minus
# the margin, which is at least every floor that compaction gave the row. The floor a row starts with is a
# guess from a sample of columns (``lists.sampled_floors``): far fewer candidates to keep and compact
# than from no floor. It is proved at the end or the row is redone exactly (:func:`finish_candidates`).


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


CHUNK = 32  # entries offered between checks for room: the buffers are CHUNK wider than their capacity


@nb.njit(cache=True, inline="always")
def _threshold(floor):
    """A float32 at or below ``floor``: comparing float32 values with it keeps every value >= ``floor``
    (and a few within 1e-6 below it, which the exact re-ranking sorts out)."""
    return np.float32(floor - 1e-6)


@nb.njit(cache=True, inline="always")
def _make_room(columns, values, count, floor, k, margin, capacity):
    """(count, floor, room): past ``capacity`` entries the buffer is compacted; ``room`` is False when it
    stays past it (more near-duplicates than a buffer holds)."""
    if count <= capacity:
        return count, floor, True
    count, compacted = _compact(columns, values, count, k, margin)
    return count, max(floor, compacted), count <= capacity


@nb.njit(cache=True, inline="always")
def _offer_line(columns, values, node, count, line, candidate_first, threshold):
    """Append ``line[t]`` (approximate dot of ``node`` and ``candidate_first + t``) to the buffer of ``node``
    where it reaches ``threshold``, without a branch: each value goes to the slot after the last entry
    and is kept only if it reaches. Returns the new count (the caller made room for the line)."""
    for t in range(line.shape[0]):
        value = line[t]
        columns[node, count] = candidate_first + t
        values[node, count] = value
        count += value >= threshold
    return count


@nb.njit(cache=True, parallel=True)
def absorb_rows(tile, row_first, column_first, k, margin, columns, values, counts, floors, overflow):
    """Offer ``tile[r, c]`` (approximate dot of nodes row_first + r and column_first + c) to the buffer of
    node row_first + r. Entries are written without a branch (the slot after the last entry, kept only if
    the value reaches the floor), CHUNK at a time after a check for room.

    A node whose buffer stays full after compaction is marked in ``overflow`` and gets an exact full row
    later. The tile's entries of a node with itself must be -inf."""
    capacity = columns.shape[1] - CHUNK
    length = tile.shape[1]
    for r in nb.prange(tile.shape[0]):
        node = row_first + r
        if overflow[node]:
            continue
        count = counts[node]
        floor = floors[node]
        threshold = _threshold(floor)
        for t0 in range(0, length, CHUNK):
            count, raised, room = _make_room(columns[node], values[node], count, floor, k, margin, capacity)
            if not room:
                overflow[node] = True
                break
            if raised != floor:
                floor = raised
                threshold = _threshold(floor)
            count = _offer_line(columns, values, node, count, tile[r, t0 : t0 + CHUNK], column_first + t0, threshold)
        counts[node] = count
        floors[node] = floor


@nb.njit(cache=True, parallel=True)
def absorb_columns(tile, row_first, column_first, k, margin, columns, values, counts, floors, overflow):
    """Offer ``tile[r, c]`` to the buffer of node column_first + c (the candidate is row_first + r): the
    tile read as its transpose. A thread takes a group of CHUNK columns and copies CHUNK x CHUNK squares of
    them, transposed, into a small array that stays in cache; each column of a square is then offered as
    a row is. (Offering straight from the tile writes to CHUNK buffers at once, far apart in memory, for
    every tile row: several times slower here.)"""
    capacity = columns.shape[1] - CHUNK
    rows, cols = tile.shape
    for group in nb.prange((cols + CHUNK - 1) // CHUNK):
        c0 = group * CHUNK
        width = min(cols, c0 + CHUNK) - c0
        square = np.empty((CHUNK, CHUNK), dtype=np.float32)
        for r0 in range(0, rows, CHUNK):
            height = min(rows, r0 + CHUNK) - r0
            for r in range(height):
                for c in range(width):
                    square[c, r] = tile[r0 + r, c0 + c]
            for c in range(width):
                node = column_first + c0 + c
                if overflow[node]:
                    continue
                count, floor, room = _make_room(columns[node], values[node], counts[node], floors[node], k, margin,
                                                capacity)
                if not room:
                    overflow[node] = True
                    continue
                counts[node] = _offer_line(columns, values, node, count, square[c, :height], row_first + r0,
                                           _threshold(floor))
                floors[node] = floor


@nb.njit(cache=True, parallel=True)
def finish_candidates(first, last, k, margin, columns, values, counts, starting_floors, unproven):
    """The buffers of rows first..last-1 compacted one last time, as CSR (row_start, columns, values).

    A row's starting floor was a guess (see ``lists.sampled_floors``); it held if at least k of the row's
    values reach it plus the margin: then the row's k-th largest value does, and the floor is at or below
    that value minus the margin, as the screen requires. Rows where it did not hold are marked in
    ``unproven`` (their lists are computed exactly instead)."""
    rows = last - first
    kept = np.empty(rows, dtype=np.int64)
    for r in nb.prange(rows):
        node = first + r
        count = counts[node]
        proof = starting_floors[node] + margin
        reaching = 0
        for t in range(count):
            reaching += np.float64(values[node, t]) >= proof
        unproven[node] = reaching < k
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
