"""The search's torch side: exact neighbour lists on CUDA and the walks from all starts with the Triton
kernel (one program per walk, many steps per launch; walks abandoned above the K-th best complete total)
or the earlier torch kernel (one batched step at a time, no pruning; kept for comparison).

torch and triton are imported here, and only when a search runs on a device that needs them.
"""

from __future__ import annotations

import numpy as np

from fomo_order.progress import SILENT, Reporter
from fomo_order.similarity.weights import FixedPoint

GPU_TILE_BYTES = 1 << 30
CPU_TILE_BYTES = 32 << 20  # the torch kernels on CPU tensors (tests): batches of walks within this


def device_neighbour_keys(quantized: np.ndarray, k: int, fixed: FixedPoint, where: str) -> np.ndarray:
    """The exact k-nearest keys of every node from float64 tiles on ``where``, as an int64 (N, k) CPU array."""
    import torch

    from fomo_order.similarity import _knn_torch

    vectors64 = torch.from_numpy(quantized).to(device=where, dtype=torch.float64)
    tile = _knn_torch.tile_rows_for(quantized.shape[0], 24, GPU_TILE_BYTES)
    return _knn_torch.exact_neighbour_keys(vectors64, k, fixed, tile).cpu().numpy()


def device_totals(
    quantized: np.ndarray,
    keys: np.ndarray,
    fixed: FixedPoint,
    where: str,
    kernel: str,
    *,
    keep: int | None,
    diagnostics: dict | None = None,
    starts: np.ndarray | None = None,
    reporter: Reporter = SILENT,
) -> np.ndarray:
    """Greedy totals of the walks from ``starts`` (default: every node), indexed by start node (-1: not
    walked, or abandoned), in batches on ``where`` with ``kernel`` ``"triton"`` or ``"torch"``.

    ``keys``: the neighbour lists' sorted keys. With the Triton kernel and ``keep=K`` walks that cannot
    be among the K best are abandoned, the bound tightening across batches; the torch kernel walks
    every start to the end.
    """
    import torch

    if kernel == "triton":
        from fomo_order.similarity._greedy_triton import greedy_walks_triton
        from fomo_order.similarity._knn_torch import INT64_MAX
    elif kernel == "torch":
        from fomo_order.similarity._greedy_torch import greedy_walks_torch
    else:
        raise ValueError(f"unknown device kernel {kernel!r}")
    n = quantized.shape[0]
    device, vectors64, device_keys, batch, fallback_budget = _device_walk_setup(quantized, keys, where)
    if kernel == "triton":
        bound = torch.full((1,), INT64_MAX, dtype=torch.int64, device=device)  # tightens across batches

        def walk(chunk):
            return greedy_walks_triton(vectors64, device_keys, chunk, fixed, bound=bound, keep=keep,
                                       fallback_budget_bytes=fallback_budget)
    else:

        def walk(chunk):
            return greedy_walks_torch(vectors64, device_keys, chunk, fixed, fallback_budget_bytes=fallback_budget)

    order = np.arange(n, dtype=np.int64) if starts is None else np.asarray(starts, dtype=np.int64)
    totals = np.full(n, -1, dtype=np.int64)
    fallbacks = launches = pruned = 0
    for first in range(0, len(order), batch):
        chunk = order[first : first + batch]
        result = walk(torch.from_numpy(chunk).to(device))
        totals[chunk] = result.totals
        reporter.advance(len(chunk))
        fallbacks += result.fallbacks
        launches += getattr(result, "launches", 0)
        pruned += getattr(result, "pruned", 0)
    if diagnostics is not None:
        diagnostics.update(kernel=kernel, fallback_scans=fallbacks, pruned_walks=pruned, walks_per_batch=batch)
        if kernel == "triton":
            diagnostics["launches"] = launches
    return totals


def _device_walk_setup(quantized: np.ndarray, keys: np.ndarray, where: str):
    """What both kernels start from: the vectors and lists on the device, walks per batch (the visited
    flags take one byte per walk and node) and the bytes a batch of fallback rows may take."""
    import torch

    n = quantized.shape[0]
    device = torch.device(where)
    vectors64 = torch.from_numpy(quantized).to(device=device, dtype=torch.float64)
    device_keys = torch.from_numpy(keys).to(device=device)
    if device.type == "cuda":
        free_bytes, _ = torch.cuda.mem_get_info(device)
        budget, fallback_budget = int(free_bytes * 0.4), min(2 << 30, int(free_bytes * 0.1))
    else:
        budget, fallback_budget = CPU_TILE_BYTES, CPU_TILE_BYTES
    return device, vectors64, device_keys, max(1, min(n, budget // n)), fallback_budget
