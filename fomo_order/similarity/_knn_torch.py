"""Similarity tiles with torch: one block of rows of the N x N matrix at a time, never the whole matrix."""

from __future__ import annotations

import numpy as np
import torch

from fomo_order.similarity.weights import FixedPoint

INT64_MAX = torch.iinfo(torch.int64).max


def tile_rows_for(n: int, bytes_per_row_entry: int, budget_bytes: int) -> int:
    """Rows per tile so that a tile of ``n`` columns stays within ``budget_bytes``."""
    return int(max(1, min(n, budget_bytes // max(1, n * bytes_per_row_entry))))


def exact_neighbour_keys(vectors64: torch.Tensor, k: int, fixed: FixedPoint, tile_rows: int) -> torch.Tensor:
    """The k nearest of every node by (weight, index), exact: float64 tiles and int64 sort keys.

    ``vectors64``: the quantized embeddings as float64 on the device the work should run on. Returns the
    sorted keys ``(weight << index_bits) | index``, int64 (N, k), on that device.
    """
    n = vectors64.shape[0]
    device = vectors64.device
    columns = torch.arange(n, device=device, dtype=torch.int64)
    nearest = torch.empty((n, k), dtype=torch.int64, device=device)
    for first in range(0, n, tile_rows):
        last = min(n, first + tile_rows)
        keys = weight_keys(vectors64[first:last] @ vectors64.T, fixed, columns)
        own = torch.arange(first, last, device=device)
        keys[own - first, own] = INT64_MAX
        nearest[first:last] = torch.topk(keys, k, dim=1, largest=False, sorted=True).values
    return nearest


def exact_row_keys(vectors64: torch.Tensor, rows: np.ndarray, k: int, fixed: FixedPoint) -> np.ndarray:
    """The k nearest of each of ``rows`` by (weight, index), exact, from full float64 rows (CPU)."""
    n = vectors64.shape[0]
    columns = torch.arange(n, dtype=torch.int64)
    out = np.empty((len(rows), k), dtype=np.int64)
    step = tile_rows_for(n, 24, 32 << 20)
    for first in range(0, len(rows), step):
        chunk = torch.from_numpy(np.asarray(rows[first : first + step], dtype=np.int64))
        keys = weight_keys(vectors64[chunk] @ vectors64.T, fixed, columns)
        keys[torch.arange(len(chunk)), chunk] = INT64_MAX
        out[first : first + len(chunk)] = torch.topk(keys, k, dim=1, largest=False, sorted=True).values.numpy()
    return out


def weight_keys(dots: torch.Tensor, fixed: FixedPoint, columns: torch.Tensor) -> torch.Tensor:
    """``(W << index_bits) | column`` from exact float64 dot products (same arithmetic as the numba side)."""
    weights = ((1.0 - dots) * fixed.scale).to(torch.int64).clamp_min_(0)
    return weights.bitwise_left_shift_(fixed.index_bits).bitwise_or_(columns)
