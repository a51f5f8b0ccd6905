"""The concept-similarity ordering (FoMo-in-Flux): the cheapest greedy nearest-neighbour path over all starts.

Concepts are the nodes of a complete graph with weight(i, j) = 1 - cos(e_i, e_j) (computed exactly, see
:mod:`fomo_order.similarity.weights`). From each start the walk steps to the most similar unvisited
concept (ties: lower index) until all are visited; the path of smallest total weight wins (equal totals:
lower start index). The search here is exact and fast:

1. per-node lists of the ``k`` nearest nodes, sorted by (weight, index): on the CPU from float32 tiles of
   the similarity matrix, each tile of the symmetric matrix computed once for the rows of both its
   blocks, screened with a proven error margin and re-ranked exactly; on CUDA from exact float64 tiles
   (the N x N matrix is never held);
2. the walks from all starts: numba on the CPU (threads in parallel, each keeping several walks in
   flight so that memory latency overlaps) or Triton on the GPU (one program per walk, many steps per
   launch; the earlier torch kernel, one batched step at a time, stays selectable). A walk is abandoned
   once its weight so far plus a lower bound on the rest exceeds the K-th best complete walk (exact, as
   weights are >= 0). A walk whose listed neighbours are all visited reads the rest of the node's sorted
   row where walks kept running out there, reads lists among the late set once only such nodes are
   left, or else scans its unvisited nodes with exact weights;
3. optionally 2-opt/Or-opt local search on the chosen path, and the minimum spanning tree weight as a
   lower bound on any path.

numba, torch and triton are imported when a search runs, never by ``import fomo_order.similarity``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from fomo_order.choices import Choice, Device, parse_choice, resolve_device
from fomo_order.errors import ParameterError
from fomo_order.progress import SILENT, Reporter
from fomo_order.similarity.weights import FixedPoint, fixed_point_for, quantize


class Refine(Choice):
    """Local search on the chosen greedy path: none (the paper's path), or 2-opt and Or-opt moves."""

    NONE = "none"
    TWO_OPT = "2opt"


MIN_NEIGHBOURS, MAX_NEIGHBOURS = 256, 2048
HEAD_WIDTH = 16
REFINE_WIDTH = 10  # neighbours tried per node by the local search
_CPU_TILE_BYTES = 32 << 20
SYMMETRIC_BLOCK = 2048  # rows per block of the CPU lists: tiles of 2048 x 2048 float32 (16 MiB)
EXACT_BLOCK = 256  # rows whose candidates get exact dot products together (their vectors stay in cache)
_GPU_TILE_BYTES = 1 << 30
_NO_BOUND = int(np.iinfo(np.int64).max)
# Lists grow (to whole rows) at nodes whose walks ran out RAN_OUT_TIMES times with at least
# max(SCAN_FROM_MIN, N / SCAN_FROM_FRACTION) nodes unvisited, within ROW_BUDGET_BYTES per search (or Ray task).
RAN_OUT_TIMES, SCAN_FROM_MIN, SCAN_FROM_FRACTION = 2, 256, 32
ROW_BUDGET_BYTES = 2048 << 20
# Walks in flight per thread (each prefetches its next row while the others step), and a round's size
# in tasks of LANES walks per thread.
LANES, ROUND_TASKS = 16, 8
# The late set: the nodes unvisited when walks made their LATE_TRIGGER-th costly scan, used when it has
# LATE_MIN to LATE_MAX_FRACTION x N nodes; lists of LATE_NEIGHBOURS among them.
LATE_TRIGGER, LATE_MIN, LATE_MAX_FRACTION, LATE_NEIGHBOURS = 2, 256, 0.8, 512
LATE_WHEN = 8  # ... when the walks so far made at least 8 costly scans each on average
SAMPLE_POOL = 4  # farthest-point sampling draws starts from 4 K concepts (K: the number of starts)


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
    O(N k) memory, exact dot products and sorting. Measured on the FoMo-in-Flux embeddings: k = 2048 is
    best at N = 18,381, k = 256 at N = 2,000. (Sampled starts use the same: with 512 the lists of the
    issue-12 55,143 set hold no copies, and the first walks, before any rows grow, scan for minutes.)"""
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
    sampling from a start drawn from ``seed`` (see :func:`sample_starts`); the spanning-tree bound is then
    always computed and ``details`` records K, the bound and the gap. ``ray_address`` runs the walks
    on a Ray cluster (``"local"``: a Ray runtime on this machine; a Ray runtime already initialised in
    this process is used as it is); the result is the same.
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
    if starts is not None and (isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1):
        raise ParameterError("starts", f"expected a positive number of start concepts, got {starts!r}")
    if starts is not None and start is not None:
        raise ParameterError("starts", "give a start concept or a number of starts to sample, not both")
    if starts is not None and start_rank > min(starts, max(n, 1)):
        raise ParameterError("start_rank", f"{start_rank} is more than the {min(starts, n)} sampled starts")
    if ray_address is not None and (not isinstance(ray_address, str) or not ray_address.strip()):
        raise ParameterError("ray_address", "expected a Ray cluster address or 'local'")
    where = resolve_device(device)
    fixed = fixed_point_for(n)
    quantized = quantize(matrix, fixed)
    k = max(1, min(neighbours if neighbours else default_neighbours(n), n - 1))
    details: dict[str, Any] = {
        "weight": f"1 - cos, coordinates rounded to multiples of 2^-{fixed.fraction_bits}, exact arithmetic",
        "neighbours_per_node": k,
        "starts_searched": n if start is None else 1,
    }
    sampled = starts is not None
    if sampled:
        details["starts_searched"] = min(int(starts), n)
        lower_bound = True  # the certificate: how far from optimal the sampled path can be
    diagnostics: dict[str, Any] = {"device": where}
    if n == 1:
        only = np.zeros(1, dtype=np.int64)
        mst = 0.0 if (refine is not Refine.NONE if lower_bound is None else lower_bound) else None
        if sampled:
            details["lower_bound_gap"] = 0.0
        return SimilarityPath(only, 0.0, 0, None if start is not None else 1, 0.0, mst, details, diagnostics)

    from fomo_order.similarity import _greedy_numba

    lists = neighbour_lists(quantized, k, fixed, where, diagnostics, reporter=reporter)
    if start is None:
        chosen_starts = None
        if sampled:
            rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
            chosen_starts = sample_starts(quantized, int(starts), rng, fixed)
        walks = n if chosen_starts is None else len(chosen_starts)
        reporter.start(walks, "greedy walks", "walks")
        totals = all_start_totals(quantized, lists, fixed, where, keep=start_rank, diagnostics=diagnostics,
                                  starts=chosen_starts, ray_address=ray_address, reporter=reporter)
        reporter.finish()
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
        reporter.start(0, "refining the path (2-opt, Or-opt)", "moves")
        path, total = _refine(path, quantized, lists, fixed, details)
        reporter.finish()
    mst_weight = None
    if lower_bound or (lower_bound is None and refine is not Refine.NONE):
        from fomo_order.similarity import _mst_numba

        reporter.start(0, "spanning-tree lower bound", "concepts")
        mst_total, full_rows = _mst_numba.mst_weight(quantized, fixed.scale, lists.keys, fixed.index_bits)
        mst_weight = fixed.to_float(mst_total)
        diagnostics["mst_full_rows"] = int(full_rows)
        reporter.finish()
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
        return _neighbour_lists(quantized, k, fixed, where, diagnostics, reporter)
    finally:
        reporter.finish()


def _neighbour_lists(quantized, k, fixed, where, diagnostics, reporter) -> NeighbourLists:
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
    margin = 2.0 * bound
    capacity = min(n - 1, k + max(k // 2, 64))  # candidates a row holds between compactions
    columns = np.empty((n, capacity), dtype=np.int32)
    values = np.empty((n, capacity), dtype=np.float32)
    counts = np.zeros(n, dtype=np.int64)
    floors = np.full(n, -np.inf)
    overflow = np.zeros(n, dtype=np.bool_)
    block = SYMMETRIC_BLOCK
    everything = torch.from_numpy(quantized)
    flipped = np.empty((block, block), dtype=np.float32)
    for first in range(0, n, block):
        for other in range(first, n, block):
            tile = (everything[first : first + block] @ everything[other : other + block].T).numpy()
            _knn_numba.absorb(tile, first, other, k, margin, columns, values, counts, floors, overflow)
            if other != first:  # the same tile serves the other block's rows, read as rows of its transpose
                view = flipped[: tile.shape[1], : tile.shape[0]]
                _knn_numba.transpose_into(tile, view)
                _knn_numba.absorb(view, other, first, k, margin, columns, values, counts, floors, overflow)
        reporter.advance(min(block, n - first))
    worst = 0.0
    for first in range(0, n, EXACT_BLOCK):
        last = min(n, first + EXACT_BLOCK)
        row_start, candidates, approximate = _knn_numba.finish_candidates(first, last, k, margin, columns, values,
                                                                          counts)
        dots = _knn_numba.exact_candidate_dots(quantized, first, row_start, candidates)
        error = _knn_numba.sorted_keys(first, row_start, candidates, approximate, dots, fixed.scale,
                                       fixed.index_bits, keys)
        worst = max(worst, error)
    del columns, values
    if overflow.any():  # more near-duplicates than a buffer holds: those rows exactly, in full
        rows = np.flatnonzero(overflow)
        keys[rows] = _knn_torch.exact_row_keys(torch.from_numpy(quantized.astype(np.float64)), rows, k, fixed)
        if diagnostics is not None:
            diagnostics["full_rows_for_lists"] = len(rows)
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
    starts: np.ndarray | None = None,
    ray_address: str | None = None,
    reporter: Reporter = SILENT,
) -> np.ndarray:
    """Greedy total weight (integer units) of the walk from every start; -1 for a pruned walk.

    ``keep=K`` prunes walks that cannot be among the K best (numba and triton kernels); ``keep=None`` walks
    every start to the end. ``kernel``: ``numba`` (default on cpu, and with a Ray cluster), ``triton``
    (default on cuda; on cpu only in Triton's interpreter, for tests) or ``torch`` (the earlier GPU kernel,
    kept for comparison). ``starts``: walk only these starts (the others stay -1). ``ray_address``: walk on
    a Ray cluster.
    """
    kernel = kernel or ("triton" if where == "cuda" and ray_address is None else "numba")
    if kernel == "triton":
        return _triton_totals(quantized, lists, fixed, where, keep, diagnostics, starts, reporter)
    if kernel == "torch":
        return _torch_totals(quantized, lists, fixed, where, diagnostics, starts, reporter)
    if where not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {where!r}")
    from fomo_order.similarity import _greedy_numba

    n = quantized.shape[0]
    totals = np.full(n, -1, dtype=np.int64)
    if keep is None:
        table, entry = lists.head, (lists.head.shape[1], False, 0, 0, 0)
    else:  # the first keys and the two entry bounds of each node, in one 128-byte row
        width = min(HEAD_WIDTH - 2, lists.keys.shape[1])
        table, sum1, sum2, slack = _greedy_numba.walk_table(lists.keys, fixed.index_bits, width)
        entry = (width, True, int(sum1), int(sum2), int(slack))
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


@dataclass
class WalkAids:
    """What the walks of a search share beyond the lists, built between rounds where walks ran out:
    the rest of some nodes' sorted rows (``rows_at``, ``rows``) and the late set with its lists
    (``late``, ``late_at``, ``late_keys``); see :func:`_greedy_numba._walk_lanes`. ``growing``: rounds may
    still add to them (counts of costly scans in ``ran_out``, votes for the late set in ``late_votes``)."""

    rows_at: np.ndarray
    rows: np.ndarray
    late: np.ndarray
    late_at: np.ndarray
    late_keys: np.ndarray
    ran_out: np.ndarray
    late_votes: np.ndarray
    growing: bool
    row_width: int  # N - 1 - k: the length of a grown row
    grown: int = 0
    rows_left: int = 0

    @classmethod
    def start(cls, n: int, k: int, growing: bool) -> WalkAids:
        growing = growing and n - 1 - k > 0
        return cls(
            rows_at=np.full(n if growing else 0, -1, dtype=np.int64),
            rows=np.empty(0, dtype=np.int32),  # allocated (untouched pages cost nothing) when first needed
            late=np.zeros(0, dtype=np.bool_),
            late_at=np.empty(0, dtype=np.int64),
            late_keys=np.empty((0, 0), dtype=np.int64),
            ran_out=np.zeros(n if growing else 0, dtype=np.int32),
            late_votes=np.zeros(n if growing else 0, dtype=np.int32),
            growing=growing,
            row_width=n - 1 - k,
            rows_left=ROW_BUDGET_BYTES // max(1, 4 * (n - 1 - k)) if growing else 0,
        )

    def frozen(self) -> WalkAids:
        """The same aids to read as they are (what walks elsewhere get): nothing grows or votes."""
        none = np.zeros(0, dtype=np.int32)
        return replace(self, rows=self.rows[: self.grown * self.row_width], ran_out=none, late_votes=none,
                       growing=False, rows_left=0)


def tightened_bound(totals: np.ndarray, keep: int | None, bound: int) -> int:
    """``bound``, or the ``keep``-th best complete total (>= 0) if lower: no walk beyond it can be among
    the ``keep`` best. ``keep=None``: no pruning, the bound stays."""
    if keep is not None:
        complete = totals[totals >= 0]
        if complete.size >= keep:
            bound = min(bound, int(np.partition(complete, keep - 1)[keep - 1]))
    return bound


def walk_rounds(
    order: np.ndarray,
    quantized: np.ndarray,
    table: np.ndarray,
    keys: np.ndarray,
    fixed: FixedPoint,
    keep: int | None,
    entry: tuple,
    bound: int = _NO_BOUND,
    reporter: Reporter = SILENT,
    aids: WalkAids | None = None,
) -> tuple[np.ndarray, dict, WalkAids]:
    """The walks from ``order`` (totals in that order, -1: abandoned) in rounds, in parallel within a round.

    ``table``: the rows walks read at every step (``NeighbourLists.head``, or with ``keep`` the
    ``walk_table``); ``entry``: (key columns in ``table``, bounded, the two bound sums, slack).

    Between rounds the bound (the ``keep``-th best complete total so far, or the ``bound`` given if
    lower) tightens, and the aids grow (``aids``: start from these; default: none yet, growing when
    ``keep`` is set); the first rounds are small, so that a bound exists early. Walks are abandoned only
    when they cannot be among the ``keep`` best, so the ``keep`` best totals are exact. Returns the
    totals, counts of the work done and the aids as they are at the end.
    """
    import numba

    from fomo_order.similarity import _greedy_numba

    n = quantized.shape[0]
    threads = numba.get_num_threads()
    totals = np.full(len(order), -1, dtype=np.int64)
    fallbacks = steps = 0
    aids = aids if aids is not None else WalkAids.start(n, keys.shape[1], keep is not None)
    scan_from = max(SCAN_FROM_MIN, n // SCAN_FROM_FRACTION)
    first = 0
    while first < len(order):
        # a round: a few tasks of LANES walks per thread at first (the bound exists early), then more
        size = threads * LANES * (1 if first == 0 else min(ROUND_TASKS, 1 + first // (threads * LANES)))
        with numba.parallel_chunksize(1):  # walks end at different steps once pruned: hand tasks out one by one
            round_totals, round_fallbacks, round_steps = _greedy_numba.bounded_totals(
                order[first : first + size], quantized, fixed.scale, table, entry[0], keys, fixed.index_bits, bound,
                *entry[1:], aids.rows_at, aids.rows, aids.ran_out, scan_from, aids.late, aids.late_at, aids.late_keys,
                aids.late_votes, LATE_TRIGGER, LANES, LANES,
            )
        totals[first : first + size] = round_totals
        reporter.advance(len(round_totals))
        first += len(round_totals)
        fallbacks += int(round_fallbacks.sum())
        steps += int(round_steps.sum())
        bound = tightened_bound(totals, keep, bound)
        if aids.late_votes.size and aids.late_votes.any():
            # Lists of their own for the nodes still unvisited at walks' second costly scan, when walks
            # scan often (else their lists serve as well) and the nodes are a part of all nodes.
            late_nodes = np.flatnonzero(aids.late_votes).astype(np.int64)
            costly_per_walk = aids.ran_out.sum() / first  # ran_out counts the costly scans of every round so far
            if costly_per_walk >= LATE_WHEN and LATE_MIN <= len(late_nodes) <= LATE_MAX_FRACTION * n:
                aids.late, aids.late_at, aids.late_keys = _late_lists(quantized, late_nodes, fixed)
                aids.ran_out[late_nodes] = 0
            aids.late_votes = np.zeros(0, dtype=np.int32)  # proposed once
        if aids.growing and aids.rows_left > 0:
            # Lists grow where walks run out: a node from which walks keep scanning many unvisited nodes
            # gets the rest of its sorted row (once, shared by all later walks), as long as the budget lasts.
            grow = np.flatnonzero((aids.ran_out >= RAN_OUT_TIMES) & (aids.rows_at < 0))[: aids.rows_left]
            if grow.size:
                if aids.rows.size == 0:
                    aids.rows = np.empty(aids.rows_left * aids.row_width, dtype=np.int32)
                at = aids.grown * aids.row_width
                aids.rows_at[grow] = at + np.arange(grow.size) * aids.row_width
                aids.rows[at : at + grow.size * aids.row_width] = _greedy_numba.row_rests(
                    quantized, fixed.scale, grow, keys.shape[1], fixed.index_bits
                )
                aids.grown += grow.size
                aids.rows_left -= grow.size
    work = {"fallback_scans": fallbacks, "walk_steps": steps, "grown_rows": aids.grown,
            "late_set": int(aids.late.sum())}
    return totals, work, aids


def _late_lists(quantized: np.ndarray, nodes: np.ndarray, fixed: FixedPoint):
    """(membership flags, row of each node in the lists or -1, the lists): each node of ``nodes`` (sorted)
    with its nearest other nodes of ``nodes``, as sorted keys with global indices."""
    n = quantized.shape[0]
    m = min(len(nodes) - 1, LATE_NEIGHBOURS)
    local = neighbour_lists(np.ascontiguousarray(quantized[nodes]), m, fixed, "cpu").keys
    mask = (np.int64(1) << fixed.index_bits) - 1
    # local indices -> global ones; ``nodes`` is sorted, so the (weight, index) order stays the same
    late_keys = (local & ~mask) | nodes[local & mask]
    late = np.zeros(n, dtype=np.bool_)
    late[nodes] = True
    late_at = np.full(n, -1, dtype=np.int64)
    late_at[nodes] = np.arange(len(nodes))
    return late, late_at, late_keys


def sample_starts(quantized: np.ndarray, count: int, rng: np.random.Generator, fixed: FixedPoint) -> np.ndarray:
    """``count`` start concepts spread over the space, the same for the same ``rng`` state on any machine.

    Farthest-point sampling with exact weights: the first start is drawn from ``rng``, each next one is
    the concept farthest from those chosen so far. Outlying concepts, where light greedy paths tend to
    start, are found early, and no region of the space goes without a start. For large N it samples from
    a pool of ``SAMPLE_POOL`` x ``count`` concepts drawn from ``rng`` (each draw costs O(pool x d)).
    Returned in the order chosen; every node when ``count >= N``.
    """
    from fomo_order.similarity import _starts_numba

    n = quantized.shape[0]
    if count >= n:
        return np.arange(n, dtype=np.int64)
    size = min(n, SAMPLE_POOL * count)
    pool = np.arange(n, dtype=np.int64) if size == n else np.sort(rng.choice(n, size, replace=False))
    first = int(rng.integers(size))
    return _starts_numba.farthest_points(quantized, fixed.scale, pool, first, count)


def start_order(lists: NeighbourLists, fixed: FixedPoint) -> np.ndarray:
    """The order in which the exact search walks its starts: it changes the time, never the result.

    Starts whose nearest neighbour is far come first: a walk from an outlying concept pays its long edge
    once, at the start, where other walks return to it late with a longer jump; so these walks tend to
    be light, and the bound that abandons the other walks is tight early.
    """
    nearest = lists.keys[:, 0] >> fixed.index_bits
    return np.lexsort((np.arange(len(nearest)), -nearest)).astype(np.int64)


def _device_walk_setup(quantized: np.ndarray, lists: NeighbourLists, where: str):
    """What both GPU kernels start from: the vectors and lists on the device, walks per batch (the visited
    flags take one byte per walk and node) and the bytes a batch of fallback rows may take."""
    import torch

    n = quantized.shape[0]
    device = torch.device(where)
    vectors64 = torch.from_numpy(quantized).to(device=device, dtype=torch.float64)
    keys = torch.from_numpy(lists.keys).to(device=device)
    if device.type == "cuda":
        free_bytes, _ = torch.cuda.mem_get_info(device)
        budget, fallback_budget = int(free_bytes * 0.4), min(2 << 30, int(free_bytes * 0.1))
    else:
        budget, fallback_budget = _CPU_TILE_BYTES, _CPU_TILE_BYTES
    return device, vectors64, keys, max(1, min(n, budget // n)), fallback_budget


def _triton_totals(
    quantized: np.ndarray, lists: NeighbourLists, fixed: FixedPoint, where: str, keep: int | None, diagnostics,
    starts: np.ndarray | None = None,
    reporter: Reporter = SILENT,
):
    import torch

    from fomo_order.similarity._greedy_triton import greedy_walks_triton
    from fomo_order.similarity._knn_torch import INT64_MAX

    n = quantized.shape[0]
    device, vectors64, keys, batch, fallback_budget = _device_walk_setup(quantized, lists, where)
    bound = torch.full((1,), INT64_MAX, dtype=torch.int64, device=device)  # tightens across batches
    order = np.arange(n, dtype=np.int64) if starts is None else np.asarray(starts, dtype=np.int64)
    totals = np.full(n, -1, dtype=np.int64)
    fallbacks = launches = pruned = 0
    for first in range(0, len(order), batch):
        chunk = order[first : first + batch]
        result = greedy_walks_triton(
            vectors64, keys, torch.from_numpy(chunk).to(device), fixed, bound=bound, keep=keep,
            fallback_budget_bytes=fallback_budget,
        )
        totals[chunk] = result.totals
        reporter.advance(len(chunk))
        fallbacks += result.fallbacks
        launches += result.launches
        pruned += result.pruned
    if diagnostics is not None:
        diagnostics.update(
            kernel="triton", fallback_scans=fallbacks, pruned_walks=pruned, walks_per_batch=batch, launches=launches
        )
    return totals


def _torch_totals(
    quantized: np.ndarray, lists: NeighbourLists, fixed: FixedPoint, where: str, diagnostics, starts=None,
    reporter: Reporter = SILENT,
):
    import torch

    from fomo_order.similarity._greedy_torch import greedy_walks_torch

    n = quantized.shape[0]
    device, vectors64, keys, batch, fallback_budget = _device_walk_setup(quantized, lists, where)
    order = np.arange(n, dtype=np.int64) if starts is None else np.asarray(starts, dtype=np.int64)
    totals = np.full(n, -1, dtype=np.int64)
    fallbacks = 0
    for first in range(0, len(order), batch):
        chunk = order[first : first + batch]
        result = greedy_walks_torch(vectors64, keys, torch.from_numpy(chunk).to(device), fixed,
                                    fallback_budget_bytes=fallback_budget)
        totals[chunk] = result.totals
        reporter.advance(len(chunk))
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
