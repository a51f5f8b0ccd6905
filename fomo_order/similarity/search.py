"""The concept-similarity ordering (FoMo-in-Flux): the cheapest greedy nearest-neighbour path over all starts.

Concepts are the nodes of a complete graph with weight(i, j) = 1 - cos(e_i, e_j) (computed exactly, see
:mod:`fomo_order.similarity.weights`). From each start the walk steps to the most similar unvisited
concept (ties: lower index) until all are visited; the path of smallest total weight wins (equal totals:
lower start index). The search here is exact and fast:

1. per-node lists of the ``k`` nearest nodes, sorted by (weight, index), from tiles of the similarity
   matrix (torch; the N x N matrix is never held);
2. the walks from all starts: numba (CPU, starts in parallel, walks pruned once their partial weight
   exceeds the K-th best complete one, exact as weights are >= 0) or Triton (GPU, one program per walk,
   many steps per launch, pruned the same way; the earlier torch kernel, one batched step at a time, stays
   selectable); a walk whose listed neighbours are all visited scans its unvisited nodes with exact weights;
3. optionally 2-opt/Or-opt local search on the chosen path, and the minimum spanning tree weight as a
   lower bound on any path.

numba, torch and triton are imported when a search runs, never by ``import fomo_order.similarity``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fomo_order.choices import Choice, Device, parse_choice, resolve_device
from fomo_order.errors import ParameterError
from fomo_order.similarity.weights import FixedPoint, fixed_point_for, quantize


class Refine(Choice):
    """Local search on the chosen greedy path: none (the paper's path), or 2-opt and Or-opt moves."""

    NONE = "none"
    TWO_OPT = "2opt"


MIN_NEIGHBOURS, MAX_NEIGHBOURS = 256, 2048
HEAD_WIDTH = 16
REFINE_WIDTH = 10  # neighbours tried per node by the local search
_CPU_TILE_BYTES = 32 << 20
_GPU_TILE_BYTES = 1 << 30


@dataclass(frozen=True)
class SimilarityPath:
    path: np.ndarray  # int64 permutation of 0..N-1
    cost: float  # total weight (sum of 1 - cos) along the path, after refinement if any
    start: int  # start node of the chosen greedy path
    start_rank: int | None  # rank of that start among all starts by greedy cost (1 = best); None: explicit start
    greedy_cost: float  # cost before refinement
    mst_weight: float | None  # minimum spanning tree weight: a lower bound on the cost of any path
    details: dict  # facts for the stream's meta: the same whichever device ran the search
    diagnostics: dict = field(default_factory=dict)  # device-dependent facts (device, kernel, work done)


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
    O(N k) memory and sorting. Measured on the FoMo-in-Flux embeddings: k = 2048 is best at N = 18,381,
    k = 256 at N = 2,000."""
    return int(min(MAX_NEIGHBOURS, max(MIN_NEIGHBOURS, n // 8)))


def similarity_path(
    embeddings: np.ndarray,
    *,
    start: int | None = None,
    start_rank: int = 1,
    device: str | Device = Device.AUTO,
    refine: str | Refine = Refine.NONE,
    lower_bound: bool | None = None,
    neighbours: int | None = None,
) -> SimilarityPath:
    """The paper's path: the greedy walk of smallest total weight over all starts (or from ``start``).

    ``embeddings``: float32 (N, d), L2-normalised rows. ``start_rank=K`` takes the K-th best start by
    greedy cost (ties: lower start index); ``start`` (which wins over ``start_rank``) walks from that node.
    ``refine="2opt"`` improves the chosen path by local search. ``lower_bound`` (default: when refining)
    computes the minimum spanning tree weight. ``neighbours`` is the list length k (default
    :func:`default_neighbours`): it changes speed and memory, never the result.
    """
    refine = parse_choice(Refine, refine, "refine")
    matrix = np.asarray(embeddings)
    n = int(matrix.shape[0]) if matrix.ndim == 2 else 0
    if start is not None and not 0 <= start < n:
        raise ParameterError("start", f"start node {start} is outside 0..{n - 1}")
    if start is None and not 1 <= start_rank <= max(n, 1):
        raise ParameterError("start_rank", f"{start_rank} is not between 1 and the number of concepts ({n})")
    if neighbours is not None and neighbours < 1:
        raise ValueError("neighbours must be at least 1")
    where = resolve_device(device)
    fixed = fixed_point_for(n)
    quantized = quantize(matrix, fixed)
    k = max(1, min(neighbours if neighbours else default_neighbours(n), n - 1))
    details: dict[str, Any] = {
        "weight": f"1 - cos, coordinates rounded to multiples of 2^-{fixed.fraction_bits}, exact arithmetic",
        "neighbours_per_node": k,
        "starts_searched": n if start is None else 1,
    }
    diagnostics: dict[str, Any] = {"device": where}
    if n == 1:
        only = np.zeros(1, dtype=np.int64)
        mst = 0.0 if (refine is not Refine.NONE if lower_bound is None else lower_bound) else None
        return SimilarityPath(only, 0.0, 0, None if start is not None else 1, 0.0, mst, details, diagnostics)

    from fomo_order.similarity import _greedy_numba

    lists = neighbour_lists(quantized, k, fixed, where, diagnostics)
    if start is None:
        totals = all_start_totals(quantized, lists, fixed, where, keep=start_rank, diagnostics=diagnostics)
        complete = np.flatnonzero(totals >= 0)
        ranked = complete[np.lexsort((complete, totals[complete]))]
        chosen, chosen_rank = int(ranked[start_rank - 1]), start_rank
    else:
        chosen, chosen_rank = int(start), None
    path, greedy_total, _ = _greedy_numba.greedy_path(
        chosen, quantized, fixed.scale, lists.head, lists.keys, fixed.index_bits
    )
    if start is None and greedy_total != totals[chosen]:
        raise AssertionError("the path's weight differs from the search's")  # kernels disagree: a bug
    total = int(greedy_total)
    if refine is Refine.TWO_OPT:
        path, total = _refine(path, quantized, lists, fixed, details)
    mst_weight = None
    if lower_bound or (lower_bound is None and refine is not Refine.NONE):
        from fomo_order.similarity import _mst_numba

        mst_total, full_rows = _mst_numba.mst_weight(quantized, fixed.scale, lists.keys, fixed.index_bits)
        mst_weight = fixed.to_float(mst_total)
        diagnostics["mst_full_rows"] = int(full_rows)
    return SimilarityPath(
        path=np.asarray(path, dtype=np.int64),
        cost=fixed.to_float(total),
        start=chosen,
        start_rank=chosen_rank,
        greedy_cost=fixed.to_float(int(greedy_total)),
        mst_weight=mst_weight,
        details=details,
        diagnostics=diagnostics,
    )


def _refine(path: np.ndarray, quantized: np.ndarray, lists: NeighbourLists, fixed: FixedPoint, details: dict):
    from fomo_order.similarity import _exact_numba, _refine_numba

    refined, two_opt, or_opt = _refine_numba.refine_path(
        path, quantized, fixed.scale, lists.keys, fixed.index_bits, REFINE_WIDTH
    )
    # Of the two directions, keep the one with the greedy start in the first half: the stream still opens near it.
    position = int(np.flatnonzero(refined == path[0])[0])
    if 2 * position > len(refined) - 1:
        refined = refined[::-1].copy()
    details["refine_moves"] = {"2opt": int(two_opt), "or_opt": int(or_opt)}
    return refined, int(_exact_numba.path_total(quantized, refined, fixed.scale))


def neighbour_lists(
    quantized: np.ndarray, k: int, fixed: FixedPoint, where: str, diagnostics: dict | None = None
) -> NeighbourLists:
    """Exact k-nearest lists: float32 screening + exact re-ranking on the CPU, exact float64 tiles on CUDA."""
    import torch

    from fomo_order.similarity import _knn_torch

    n = quantized.shape[0]
    if where == "cuda":
        vectors64 = torch.from_numpy(quantized).to(device="cuda", dtype=torch.float64)
        tile = _knn_torch.tile_rows_for(n, 24, _GPU_TILE_BYTES)
        keys = _knn_torch.exact_neighbour_keys(vectors64, k, fixed, tile)
        return NeighbourLists(keys.cpu().numpy(), fixed.index_bits)

    from fomo_order.similarity import _knn_numba

    keys = np.empty((n, k), dtype=np.int64)
    bound = _knn_torch.float32_matmul_error_bound(quantized.shape[1])
    worst = 0.0
    tile_rows = max(min(n, 256), _knn_torch.tile_rows_for(n, 4, _CPU_TILE_BYTES))  # big N: keep the matmul efficient
    for first, tile in _knn_torch.float32_tiles(quantized, tile_rows):
        row_start, columns, values = _knn_numba.candidates(tile, first, k, 2.0 * bound)
        dots = _knn_numba.exact_candidate_dots(quantized, first, row_start, columns)
        error = _knn_numba.sorted_keys(first, row_start, columns, values, dots, fixed.scale, fixed.index_bits, keys)
        worst = max(worst, error)
    if worst > bound:
        # The float32 matmul broke its error bound (an unusual BLAS): fall back to exact float64 tiles.
        vectors64 = torch.from_numpy(quantized.astype(np.float64))
        keys = _knn_torch.exact_neighbour_keys(vectors64, k, fixed, _knn_torch.tile_rows_for(n, 24, _CPU_TILE_BYTES))
        keys = keys.numpy()
        if diagnostics is not None:
            diagnostics["screening_fallback"] = True
    return NeighbourLists(keys, fixed.index_bits)


def all_start_totals(
    quantized: np.ndarray,
    lists: NeighbourLists,
    fixed: FixedPoint,
    where: str,
    *,
    keep: int | None = 1,
    kernel: str | None = None,
    diagnostics: dict | None = None,
) -> np.ndarray:
    """Greedy total weight (integer units) of the walk from every start; -1 for a pruned walk.

    ``keep=K`` prunes walks that cannot be among the K best (numba and triton kernels); ``keep=None`` walks
    every start to the end. ``kernel``: ``numba`` (default on cpu), ``triton`` (default on cuda; on cpu only
    in Triton's interpreter, for tests) or ``torch`` (the earlier GPU kernel, kept for comparison).
    """
    kernel = kernel or ("triton" if where == "cuda" else "numba")
    if kernel == "triton":
        return _triton_totals(quantized, lists, fixed, where, keep, diagnostics)
    if kernel == "torch":
        return _torch_totals(quantized, lists, fixed, where, diagnostics)
    if where != "cpu":
        raise ValueError("the numba kernel runs on the cpu")
    import numba

    from fomo_order.similarity import _greedy_numba

    n = quantized.shape[0]
    head = lists.head
    totals = np.full(n, -1, dtype=np.int64)
    bound = np.iinfo(np.int64).max
    fallbacks = 0
    # Rounds of starts: the bound (K-th best complete total so far) tightens between rounds.
    round_size = max(64, 16 * (os.cpu_count() or 1))
    for first in range(0, n, round_size):
        starts = np.arange(first, min(n, first + round_size), dtype=np.int64)
        with numba.parallel_chunksize(1):  # walks end at different steps once pruned: hand them out one by one
            round_totals, round_fallbacks = _greedy_numba.greedy_totals(
                starts, quantized, fixed.scale, head, lists.keys, fixed.index_bits, bound
            )
        totals[starts] = round_totals
        fallbacks += int(round_fallbacks.sum())
        if keep is not None:
            complete = totals[totals >= 0]
            if complete.size >= keep:
                bound = int(np.partition(complete, keep - 1)[keep - 1])
    if diagnostics is not None:
        diagnostics.update(kernel="numba", fallback_scans=fallbacks, pruned_walks=int((totals < 0).sum()))
    return totals


def _triton_totals(
    quantized: np.ndarray, lists: NeighbourLists, fixed: FixedPoint, where: str, keep: int | None, diagnostics
):
    import torch

    from fomo_order.similarity._greedy_triton import greedy_walks_triton
    from fomo_order.similarity._knn_torch import INT64_MAX

    n = quantized.shape[0]
    device = torch.device(where)
    vectors64 = torch.from_numpy(quantized).to(device=device, dtype=torch.float64)
    keys = torch.from_numpy(lists.keys).to(device=device)
    if device.type == "cuda":
        free_bytes, _ = torch.cuda.mem_get_info(device)
        budget, fallback_budget = int(free_bytes * 0.4), min(2 << 30, int(free_bytes * 0.1))
    else:
        budget, fallback_budget = _CPU_TILE_BYTES, _CPU_TILE_BYTES
    batch = max(1, min(n, budget // n))  # the visited flags: one byte per walk and node
    bound = torch.full((1,), INT64_MAX, dtype=torch.int64, device=device)  # tightens across batches
    totals = np.empty(n, dtype=np.int64)
    fallbacks = launches = pruned = 0
    for first in range(0, n, batch):
        starts = torch.arange(first, min(n, first + batch), device=device)
        result = greedy_walks_triton(
            vectors64, keys, starts, fixed, bound=bound, keep=keep, fallback_budget_bytes=fallback_budget
        )
        totals[first : first + starts.numel()] = result.totals
        fallbacks += result.fallbacks
        launches += result.launches
        pruned += result.pruned
    if diagnostics is not None:
        diagnostics.update(
            kernel="triton", fallback_scans=fallbacks, pruned_walks=pruned, walks_per_batch=batch, launches=launches
        )
    return totals


def _torch_totals(quantized: np.ndarray, lists: NeighbourLists, fixed: FixedPoint, where: str, diagnostics):
    import torch

    from fomo_order.similarity._greedy_torch import greedy_walks_torch

    n = quantized.shape[0]
    device = torch.device(where)
    vectors64 = torch.from_numpy(quantized).to(device=device, dtype=torch.float64)
    keys = torch.from_numpy(lists.keys).to(device=device)
    if device.type == "cuda":
        free_bytes, _ = torch.cuda.mem_get_info(device)
        budget, fallback_budget = int(free_bytes * 0.4), min(2 << 30, int(free_bytes * 0.1))
    else:
        budget, fallback_budget = _CPU_TILE_BYTES, _CPU_TILE_BYTES
    batch = max(1, min(n, budget // n))  # the visited flags: one byte per walk and node
    totals = np.empty(n, dtype=np.int64)
    fallbacks = 0
    for first in range(0, n, batch):
        starts = torch.arange(first, min(n, first + batch), device=device)
        result = greedy_walks_torch(vectors64, keys, starts, fixed, fallback_budget_bytes=fallback_budget)
        totals[first : first + starts.numel()] = result.totals
        fallbacks += result.fallbacks
    if diagnostics is not None:
        diagnostics.update(kernel="torch", fallback_scans=fallbacks, pruned_walks=0, walks_per_batch=batch)
    return totals


def greedy_start_costs(
    embeddings: np.ndarray, *, device: str = "auto", neighbours: int | None = None, kernel: str | None = None
) -> tuple[np.ndarray, FixedPoint]:
    """The greedy cost of the walk from every start, in integer weight units (``FixedPoint.to_float``
    converts them), with no pruning: for comparing kernels and devices."""
    n = embeddings.shape[0]
    fixed = fixed_point_for(n)
    quantized = quantize(embeddings, fixed)
    where = resolve_device(device)
    if n == 1:
        return np.zeros(1, dtype=np.int64), fixed
    lists = neighbour_lists(quantized, max(1, min(neighbours or default_neighbours(n), n - 1)), fixed, where)
    return all_start_totals(quantized, lists, fixed, where, keep=None, kernel=kernel), fixed
