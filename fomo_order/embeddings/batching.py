"""Which captions run together: pure functions over token lengths.

A causal text tower pools at one position (CLIP: the end-of-text token), so tokens after it cannot
change the result. Running every caption at exactly its own length (batches of equal length) skips
the padding a fixed 77-token context computes, and also makes a caption's vector independent of the
other captions in its batch: no batch holds padding, so nothing but the batch's row count differs.
"""

from __future__ import annotations

import numpy as np

# BLAS picks other kernels for matrices of a few rows, which round differently. Batches are padded
# (with copies of their first caption) to at least this many rows so that a caption gives the same
# bits whether it runs with many others or alone (measured on x86 oneDNN/MKL: fewer than 12 rows differ).
MIN_BATCH_ROWS = 16


def plan_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices into ``lengths``, one array per batch: equal lengths only, at most ``batch_size`` each.

    Shortest lengths first; a length's captions are split into batches of near-equal size, so no
    batch is a small remainder.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    lengths = np.asarray(lengths)
    order = np.argsort(lengths, kind="stable")
    batches: list[np.ndarray] = []
    if order.size == 0:
        return batches
    boundaries = np.flatnonzero(np.diff(lengths[order])) + 1
    for group in np.split(order, boundaries):
        parts = -(-group.size // batch_size)
        batches.extend(np.array_split(group, parts))
    return batches


def pad_batch(indices: np.ndarray, min_rows: int = MIN_BATCH_ROWS) -> np.ndarray:
    """``indices`` followed by copies of its first index up to ``min_rows`` rows (outputs past
    ``len(indices)`` are discarded)."""
    if indices.size >= min_rows:
        return indices
    return np.concatenate([indices, np.full(min_rows - indices.size, indices[0], dtype=indices.dtype)])
