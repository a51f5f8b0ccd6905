"""Greedy nearest-neighbour walks in torch: a batch of walks advanced together, one step at a time.

Meant for a GPU, and runs on CPU tensors too (tests compare it with the numba kernel). Every walk takes
the first unvisited node of its neighbour list (sorted by weight, then index). The first ``HEAD_WIDTH``
slots are checked for all walks at once (fixed shapes); the rest of the list only for the walks still
undecided (a few per step); walks whose whole list is visited get a full row of exact weights (a float64
matmul, exact like everywhere else) masked by their visited set. The result of a step is one int64 key
per walk, ``(weight << index_bits) | node``. A step costs two host synchronisations (the undecided and
the fallback walks) and a few dozen kernel launches, which dominate on a GPU for N ~ 20,000.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fomo_order.similarity._knn_torch import INT64_MAX, weight_keys
from fomo_order.similarity.weights import FixedPoint

HEAD_WIDTH = 128
DEEPER_ENTRIES = 1 << 25  # list entries gathered at once for the undecided walks (bounds the temporaries)


@dataclass
class BatchResult:
    totals: np.ndarray  # int64 total weight of each walk
    paths: np.ndarray | None  # (walks, N) visiting orders when asked for
    fallbacks: int  # walk-steps that needed a full row


def _first_free(flat_visited, row_offset, listed, index_mask, slots):
    """Per row of ``listed`` keys: the first slot whose node is unvisited (== width when there is none)."""
    free = ~flat_visited[row_offset[:, None] + (listed & index_mask)]
    return torch.where(free, slots[: listed.shape[1]], listed.shape[1]).amin(dim=1)


def greedy_walks_torch(
    vectors64: torch.Tensor,
    keys: torch.Tensor,
    starts: torch.Tensor,
    fixed: FixedPoint,
    *,
    record_paths: bool = False,
    fallback_budget_bytes: int = 1 << 28,
) -> BatchResult:
    """Walk from every node of ``starts`` at once; all tensors on one device.

    ``keys`` (N, k) int64: each node's neighbour list as sorted ``(weight << index_bits) | index``.
    """
    device = vectors64.device
    n = vectors64.shape[0]
    k = keys.shape[1]
    walks = starts.shape[0]
    width = min(HEAD_WIDTH, k)
    head = keys[:, :width].contiguous()
    rest = keys[:, width:].contiguous() if k > width else None
    slots = torch.arange(max(width, k - width), device=device)
    deeper_rows = max(1, DEEPER_ENTRIES // max(1, k - width))
    row_offset = torch.arange(walks, device=device) * n
    visited = torch.zeros((walks, n), dtype=torch.bool, device=device)
    flat_visited = visited.view(-1)
    current = starts.to(device=device, dtype=torch.int64).clone()
    flat_visited[row_offset + current] = True
    totals = torch.zeros(walks, dtype=torch.int64, device=device)
    paths = None
    if record_paths:
        paths = torch.empty((walks, n), dtype=torch.int64, device=device)
        paths[:, 0] = current
    columns = torch.arange(n, device=device, dtype=torch.int64)
    index_mask = (1 << fixed.index_bits) - 1
    fallback_rows = max(1, fallback_budget_bytes // (16 * n))
    fallbacks = 0
    for step in range(1, n):
        listed = head[current]
        first = _first_free(flat_visited, row_offset, listed, index_mask, slots)
        chosen = listed.gather(1, first.clamp_max(listed.shape[1] - 1)[:, None]).squeeze(1)
        pending = (first == width).nonzero().squeeze(1)
        if rest is not None and pending.numel() > 0:
            undecided = []
            for lo in range(0, pending.numel(), deeper_rows):
                block = pending[lo : lo + deeper_rows]
                listed = rest[current[block]]
                first = _first_free(flat_visited, row_offset[block], listed, index_mask, slots)
                found = first < listed.shape[1]
                key = listed.gather(1, first.clamp_max(listed.shape[1] - 1)[:, None]).squeeze(1)
                chosen[block] = torch.where(found, key, chosen[block])
                undecided.append(block[~found])
            pending = torch.cat(undecided)
        if pending.numel() > 0:
            fallbacks += int(pending.numel())
            for lo in range(0, pending.numel(), fallback_rows):
                block = pending[lo : lo + fallback_rows]
                row_keys = weight_keys(vectors64[current[block]] @ vectors64.T, fixed, columns)
                row_keys.masked_fill_(visited[block], INT64_MAX)
                chosen[block] = row_keys.amin(dim=1)
        current = chosen & index_mask
        flat_visited[row_offset + current] = True
        totals += chosen >> fixed.index_bits
        if paths is not None:
            paths[:, step] = current
    return BatchResult(
        totals=totals.cpu().numpy(),
        paths=None if paths is None else paths.cpu().numpy(),
        fallbacks=fallbacks,
    )
