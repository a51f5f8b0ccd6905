"""The concept-similarity ordering (FoMo-in-Flux): the cheapest greedy nearest-neighbour path over all starts.

Concepts are the nodes of a complete graph with weight(i, j) = 1 - cos(e_i, e_j) (computed exactly, see
:mod:`fomo_order.similarity.weights`). From each start the walk steps to the most similar unvisited
concept (ties: lower index) until all are visited; the path of smallest total weight wins (equal totals:
lower start index). The search here is exact and fast:

1. per-node lists of the ``k`` nearest nodes, sorted by (weight, index) (:mod:`.lists`): on the CPU
   from float32 tiles of the similarity matrix screened with a proven error margin and re-ranked
   exactly; on CUDA from exact float64 tiles (the N x N matrix is never held);
2. the walks from all starts: numba on the CPU (:mod:`.walks`: threads in parallel, each keeping several
   walks in flight so that memory latency overlaps; on a Ray cluster with :mod:`._ray_walks`) or Triton
   on the GPU (:mod:`.devices`: one program per walk, many steps per launch; the earlier torch kernel,
   one batched step at a time, stays selectable). A walk is abandoned once its weight so far plus a
   lower bound on the rest exceeds the K-th best complete walk (exact, as weights are >= 0);
3. optionally 2-opt/Or-opt local search on the chosen path, and the minimum spanning tree weight as a
   lower bound on any path.

numba, torch and triton are imported when a search runs, never by ``import fomo_order.similarity``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fomo_order._numba_cache import cached
from fomo_order.choices import Choice, Device, parse_choice, resolve_device
from fomo_order.errors import ParameterError
from fomo_order.progress import SILENT, Reporter
from fomo_order.similarity import lists as lists_module
from fomo_order.similarity import small
from fomo_order.similarity.lists import NeighbourLists, default_neighbours, neighbour_lists
from fomo_order.similarity.walks import COMPILING, sample_starts, start_order, walk_rounds, walk_setup
from fomo_order.similarity.weights import FixedPoint, fixed_point_for, quantize

if TYPE_CHECKING:
    from numba.core.dispatcher import Dispatcher

REFINE_WIDTH = 10  # neighbours tried per node by the local search


class Refine(Choice):
    """Local search on the chosen greedy path: none (the paper's path), or 2-opt and Or-opt moves."""

    NONE = "none"
    TWO_OPT = "2opt"


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


def similarity_path(
    embeddings: np.ndarray,
    *,
    start: int | None = None,
    start_rank: int = 1,
    device: str | Device = Device.AUTO,
    refine: str | Refine = Refine.NONE,
    lower_bound: bool | None = None,
    neighbours: int | None = None,
    starts: int | None = None,
    seed: int | np.random.Generator = 0,
    ray_address: str | None = None,
    reporter: Reporter = SILENT,
) -> SimilarityPath:
    """The paper's path: the greedy walk of smallest total weight over all starts (or from ``start``).

    ``embeddings``: float32 (N, d), L2-normalised rows. ``start_rank=K`` takes the K-th best start by
    greedy cost (ties: lower start index); ``start`` (which wins over ``start_rank``) walks from that node.
    ``refine="2opt"`` improves the chosen path by local search. ``lower_bound`` (default: when refining)
    computes the minimum spanning tree weight. ``neighbours`` is the list length k (default
    :func:`default_neighbours`): it changes speed and memory, never the result.

    ``starts=K`` searches K start concepts instead of all: spread over the space by farthest-point
    sampling from a start drawn from ``seed`` (see :func:`~fomo_order.similarity.walks.sample_starts`);
    the spanning-tree bound is then always computed and ``details`` records K, the bound and the gap.
    ``ray_address`` runs the walks on a Ray cluster (``"local"``: a Ray runtime on this machine; a Ray
    runtime already initialised in this process is used as it is); the result is the same.
    """
    refine = parse_choice(Refine, refine, "refine")
    matrix = np.asarray(embeddings)
    n = int(matrix.shape[0]) if matrix.ndim == 2 else 0
    _check_parameters(n, start, start_rank, neighbours, starts, ray_address)
    where = resolve_device(device)
    fixed = fixed_point_for(n)
    quantized = quantize(matrix, fixed)
    k = max(1, min(neighbours if neighbours else default_neighbours(n), n - 1))
    sampled = starts is not None
    details: dict[str, Any] = {
        "weight": f"1 - cos, coordinates rounded to multiples of 2^-{fixed.fraction_bits}, exact arithmetic",
        "neighbours_per_node": k,
        "starts_searched": min(int(starts), n) if starts is not None else (n if start is None else 1),
    }
    if sampled:
        lower_bound = True  # the certificate: how far from optimal the sampled path can be
    elif lower_bound is None:
        lower_bound = refine is not Refine.NONE
    diagnostics: dict[str, Any] = {"device": where}
    if n == 1:
        return _one_concept(start, sampled, lower_bound, details, diagnostics)
    if small.numpy_walks_serve(n, where, refine is not Refine.NONE, lower_bound, sampled, ray_address):
        path, total, chosen = small.numpy_search(quantized, fixed, start, start_rank, reporter)
        diagnostics["kernel"] = "numpy"
        cost = fixed.to_float(total)
        rank = None if start is not None else start_rank
        return SimilarityPath(path, cost, chosen, rank, cost, None, details, diagnostics)

    from fomo_order.similarity import _greedy_numba

    if not cached(_kernels_for(n, where, refine, lower_bound, sampled)):
        reporter.note(COMPILING)
    lists = neighbour_lists(quantized, k, fixed, where, diagnostics, reporter=reporter)
    if start is None:
        chosen_starts = None
        if starts is not None:
            rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
            chosen_starts = sample_starts(quantized, int(starts), rng, fixed)
        chosen, searched_total = _ranked_start(quantized, lists, fixed, where, start_rank, chosen_starts,
                                               ray_address, diagnostics, reporter)
        chosen_rank: int | None = start_rank
    else:
        chosen, chosen_rank, searched_total = int(start), None, None
    path, greedy_total, _ = _greedy_numba.greedy_path(
        chosen, quantized, fixed.scale, lists.head, lists.keys, fixed.index_bits
    )
    if searched_total is not None and greedy_total != searched_total:
        raise AssertionError("the path's weight differs from the search's")  # kernels disagree: a bug
    total = int(greedy_total)
    if refine is Refine.TWO_OPT:
        reporter.start(0, "refining the path (2-opt, Or-opt)", "moves")
        path, total = _refine(path, quantized, lists, fixed, details)
        reporter.finish()
    mst_weight = None
    if lower_bound:
        mst_total = _spanning_tree_weight(quantized, lists, fixed, diagnostics, reporter)
        mst_weight = fixed.to_float(mst_total)
        if sampled:
            # relative: the path weighs at most (1 + gap) times the optimum, whatever the optimum is
            details["lower_bound_gap"] = (total - mst_total) / mst_total if mst_total > 0 else 0.0
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


def _check_parameters(
    n: int, start: int | None, start_rank: int, neighbours: int | None, starts: int | None, ray_address: str | None
) -> None:
    if start is not None and not 0 <= start < n:
        raise ParameterError("start", f"start node {start} is outside 0..{n - 1}")
    if start is None and not 1 <= start_rank <= max(n, 1):
        raise ParameterError("start_rank", f"{start_rank} is not between 1 and the number of concepts ({n})")
    if neighbours is not None and neighbours < 1:
        raise ValueError("neighbours must be at least 1")
    if starts is not None and (isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1):
        raise ParameterError("starts", f"expected a positive number of start concepts, got {starts!r}")
    if starts is not None and start is not None:
        raise ParameterError("starts", "give a start concept or a number of starts to sample, not both")
    if starts is not None and start_rank > min(starts, max(n, 1)):
        raise ParameterError("start_rank", f"{start_rank} is more than the {min(starts, n)} sampled starts")
    if ray_address is not None and (not isinstance(ray_address, str) or not ray_address.strip()):
        raise ParameterError("ray_address", "expected a Ray cluster address or 'local'")


def _kernels_for(n: int, where: str, refine: Refine, lower_bound: bool, sampled: bool) -> list[Dispatcher]:
    """The numba kernels (their outermost dispatchers) that a search of ``n`` concepts calls, but for
    ``row_rests`` (called, and announced, only where walks run out: see :mod:`.walks`)."""
    from fomo_order.similarity import _greedy_numba

    kernels: list[Dispatcher] = [_greedy_numba._walk_lanes]
    if where == "cpu" and n > lists_module.EXACT_LISTS_MAX:
        from fomo_order.similarity import _knn_numba

        kernels += [_knn_numba.absorb_rows, _knn_numba.finish_candidates, _knn_numba.exact_candidate_dots,
                    _knn_numba.sorted_keys]
        if n > lists_module.SYMMETRIC_BLOCK:
            kernels.append(_knn_numba.absorb_columns)
    if refine is Refine.TWO_OPT:
        from fomo_order.similarity import _exact_numba, _refine_numba

        kernels += [_refine_numba.refine_path, _exact_numba.path_total]
    if lower_bound:
        from fomo_order.similarity import _mst_numba

        kernels.append(_mst_numba.mst_weight)
    if sampled:
        from fomo_order.similarity import _starts_numba

        kernels.append(_starts_numba.farthest_points)
    return kernels


def _one_concept(
    start: int | None, sampled: bool, lower_bound: bool, details: dict, diagnostics: dict
) -> SimilarityPath:
    if sampled:
        details["lower_bound_gap"] = 0.0
    only = np.zeros(1, dtype=np.int64)
    mst = 0.0 if lower_bound else None
    return SimilarityPath(only, 0.0, 0, None if start is not None else 1, 0.0, mst, details, diagnostics)


def _ranked_start(
    quantized: np.ndarray, lists: NeighbourLists, fixed: FixedPoint, where: str, start_rank: int,
    starts: np.ndarray | None, ray_address: str | None, diagnostics: dict, reporter: Reporter,
) -> tuple[int, int]:
    """The start whose walk ranks ``start_rank`` by (total, start index) among ``starts`` (default: all),
    and that walk's total."""
    walks = quantized.shape[0] if starts is None else len(starts)
    reporter.start(walks, "greedy walks", "walks")
    totals = all_start_totals(quantized, lists, fixed, where, keep=start_rank, diagnostics=diagnostics,
                              starts=starts, ray_address=ray_address, reporter=reporter)
    reporter.finish()
    complete = np.flatnonzero(totals >= 0)
    ranked = complete[np.lexsort((complete, totals[complete]))]
    chosen = int(ranked[start_rank - 1])
    return chosen, int(totals[chosen])


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


def _spanning_tree_weight(
    quantized: np.ndarray, lists: NeighbourLists, fixed: FixedPoint, diagnostics: dict, reporter: Reporter
) -> int:
    """The minimum spanning tree weight in integer units: a lower bound on the weight of any path."""
    from fomo_order.similarity import _mst_numba

    reporter.start(0, "spanning-tree lower bound", "concepts")
    mst_total, full_rows = _mst_numba.mst_weight(quantized, fixed.scale, lists.keys, fixed.index_bits)
    diagnostics["mst_full_rows"] = int(full_rows)
    reporter.finish()
    return int(mst_total)


def all_start_totals(
    quantized: np.ndarray,
    lists: NeighbourLists,
    fixed: FixedPoint,
    where: str,
    *,
    keep: int | None = 1,
    kernel: str | None = None,
    diagnostics: dict | None = None,
    starts: np.ndarray | None = None,
    ray_address: str | None = None,
    reporter: Reporter = SILENT,
) -> np.ndarray:
    """Greedy total weight (integer units) of the walk from every start; -1 for a pruned walk.

    ``keep=K`` prunes walks that cannot be among the K best (numba and triton kernels); ``keep=None`` walks
    every start to the end. ``kernel``: ``numba`` (default on cpu, and with a Ray cluster), ``triton``
    (default on cuda; on cpu only in Triton's interpreter, for tests), ``torch`` (the earlier GPU kernel,
    kept for comparison) or ``numpy`` (the small-catalog walks, no pruning: O(N^2) memory). ``starts``:
    walk only these starts (the others stay -1). ``ray_address``: walk on a Ray cluster.
    """
    kernel = kernel or ("triton" if where == "cuda" and ray_address is None else "numba")
    if kernel in ("triton", "torch"):
        from fomo_order.similarity.devices import device_totals

        return device_totals(quantized, lists.keys, fixed, where, kernel, keep=keep, diagnostics=diagnostics,
                             starts=starts, reporter=reporter)
    if where not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {where!r}")
    n = quantized.shape[0]
    totals = np.full(n, -1, dtype=np.int64)
    if kernel == "numpy":
        from fomo_order.similarity import _greedy_numpy

        order = np.arange(n, dtype=np.int64) if starts is None else np.asarray(starts, dtype=np.int64)
        totals[order] = _greedy_numpy.lockstep_totals(order, _greedy_numpy.full_keys(quantized, fixed),
                                                      fixed.index_bits)
        if diagnostics is not None:
            diagnostics.update(kernel="numpy")
        return totals
    if kernel != "numba":
        raise ValueError(f"unknown kernel {kernel!r}")
    table, entry = walk_setup(lists, fixed, keep)
    if starts is None:
        order = start_order(lists, fixed) if keep is not None else np.arange(n, dtype=np.int64)
    else:
        order = np.asarray(starts, dtype=np.int64)
    if ray_address is not None:
        from fomo_order.similarity import _ray_walks

        found, work = _ray_walks.ray_totals(quantized, table, lists.keys, fixed, order, keep, entry, ray_address)
    else:
        found, work, _ = walk_rounds(order, quantized, table, lists.keys, fixed, keep, entry, reporter=reporter)
    totals[order] = found
    if diagnostics is not None:
        diagnostics.update(kernel="numba", pruned_walks=int((found < 0).sum()), **work)
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
