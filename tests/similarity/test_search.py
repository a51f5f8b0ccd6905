"""The similarity search library: exact agreement with the naive O(N^3) reference, tie rules bit for bit,
the CPU (numba) and torch kernels on the same numbers, refinement and the spanning-tree lower bound."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fomo_order.errors import ParameterError
from fomo_order.similarity import greedy_start_costs, naive_greedy_all_starts, similarity_path
from fomo_order.similarity.reference import naive_greedy_costs, naive_walk
from fomo_order.similarity.weights import exact_weights, fixed_point_for, quantize
from tests.conftest import REPO
from tests.similarity.conftest import unit_rows, with_duplicates

torch = pytest.importorskip("torch")
pytest.importorskip("numba")

CUDA = torch.cuda.is_available()


def ranked_starts(costs: np.ndarray) -> np.ndarray:
    """Starts by (greedy cost, start index): the paper's tie rule for equal costs."""
    return np.lexsort((np.arange(len(costs)), costs))


# -- the arithmetic ---------------------------------------------------------------------------------


def test_importing_the_package_loads_neither_numba_nor_torch_nor_triton() -> None:
    heavy = "('numba', 'torch', 'triton')"
    code = f"import sys, fomo_order.similarity; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_weights_are_identical_by_row_by_tile_by_pair_and_on_torch() -> None:
    from fomo_order.similarity._exact_numba import pair_weight
    from fomo_order.similarity._knn_torch import weight_keys

    x = unit_rows(np.random.default_rng(0), 300, 96)
    fixed = fixed_point_for(len(x))
    q = quantize(x, fixed)
    whole = exact_weights(q, slice(None), fixed)
    by_rows = np.vstack([exact_weights(q, [i], fixed) for i in range(0, 300, 37)])
    assert np.array_equal(by_rows, whole[::37])
    tiles = np.vstack([exact_weights(q, slice(a, a + 64), fixed) for a in range(0, 300, 64)])
    assert np.array_equal(tiles, whole)
    pairs = np.array([[pair_weight(q, i, j, fixed.scale) for j in range(300)] for i in range(0, 300, 29)])
    assert np.array_equal(pairs, whole[::29])
    vectors64 = torch.from_numpy(q.astype(np.float64))
    keys = weight_keys(vectors64[50:113] @ vectors64.T, fixed, torch.arange(300)).numpy()
    assert np.array_equal(keys >> fixed.index_bits, whole[50:113])
    assert np.array_equal(keys & ((1 << fixed.index_bits) - 1), np.broadcast_to(np.arange(300), (63, 300)))
    # and they are 1 - cos to well within float32 resolution
    cosine = x.astype(np.float64) @ x.astype(np.float64).T
    assert np.abs(whole / fixed.scale - np.maximum(1.0 - cosine, 0.0)).max() < 2e-6


def test_identical_vectors_tie_exactly_and_unnormalised_input_is_refused() -> None:
    rng = np.random.default_rng(1)
    x = np.vstack([np.repeat(unit_rows(rng, 1, 64), 3, axis=0), unit_rows(rng, 2, 64)])
    fixed = fixed_point_for(len(x))
    weights = exact_weights(quantize(x, fixed), slice(None), fixed)
    assert len(np.unique(weights[:3, :3])) == 1 and weights[0, 0] < 1e-6 * fixed.scale
    assert np.array_equal(weights[0, 3:], weights[1, 3:]) and np.array_equal(weights[0, 3:], weights[2, 3:])
    with pytest.raises(ValueError, match="L2-normalised"):
        quantize(2 * x, fixed)


# -- the search against the naive reference -------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "n", "dim", "neighbours"),
    [(0, 1, 8, 4), (1, 2, 8, 4), (2, 3, 5, 1), (3, 60, 8, 3), (4, 200, 16, 6), (5, 257, 32, 2048)],
)
def test_random_embeddings_match_the_naive_reference(seed: int, n: int, dim: int, neighbours: int) -> None:
    x = unit_rows(np.random.default_rng(seed), n, dim)
    path, cost, start = naive_greedy_all_starts(x)
    result = similarity_path(x, device="cpu", neighbours=neighbours)
    assert np.array_equal(result.path, path) and result.path.dtype == np.int64
    assert (result.start, result.cost, result.greedy_cost, result.start_rank) == (start, cost, cost, 1)
    assert result.mst_weight is None


@pytest.mark.parametrize(("seed", "distinct", "n"), [(10, 12, 90), (11, 40, 160), (12, 1, 25)])
def test_exact_ties_follow_the_lower_index_rule(seed: int, distinct: int, n: int) -> None:
    x = with_duplicates(np.random.default_rng(seed), distinct, n, 24)
    costs = naive_greedy_costs(x)
    totals, _ = greedy_start_costs(x, device="cpu", neighbours=3)
    assert np.array_equal(totals, costs)
    path, cost, start = naive_greedy_all_starts(x)
    result = similarity_path(x, device="cpu", neighbours=3)
    assert np.array_equal(result.path, path) and (result.start, result.cost) == (start, cost)
    if distinct == 1:  # all weights equal: every walk goes up the indices, all cost the same, start 0 wins
        assert np.array_equal(result.path, np.arange(n)) and result.start == 0 and len(np.unique(costs)) == 1


def test_start_rank_is_the_kth_start_by_cost_then_index() -> None:
    x = with_duplicates(np.random.default_rng(20), 30, 120, 16)  # duplicated rows give equal greedy costs
    costs = naive_greedy_costs(x)
    ranked = ranked_starts(costs)
    assert len(np.unique(costs)) < len(costs)
    fixed = fixed_point_for(len(x))
    weights = exact_weights(quantize(x, fixed), slice(None), fixed)
    for rank in (1, 2, 3, 17, 120):
        result = similarity_path(x, device="cpu", start_rank=rank, neighbours=4)
        assert (result.start, result.start_rank) == (int(ranked[rank - 1]), rank)
        assert np.array_equal(result.path, naive_walk(weights, result.start)[0])


def test_an_explicit_start_walks_from_there() -> None:
    x = unit_rows(np.random.default_rng(21), 80, 12)
    fixed = fixed_point_for(len(x))
    weights = exact_weights(quantize(x, fixed), slice(None), fixed)
    for start in (0, 41, 79):
        result = similarity_path(x, device="cpu", start=start, neighbours=5)
        path, total = naive_walk(weights, start)
        assert np.array_equal(result.path, path) and result.path[0] == start
        assert (result.start, result.start_rank, result.cost) == (start, None, fixed.to_float(total))
        assert result.details["starts_searched"] == 1


def test_cost_is_the_sum_of_one_minus_cosine_along_the_path() -> None:
    x = unit_rows(np.random.default_rng(22), 150, 20)
    result = similarity_path(x, device="cpu")
    wide = x.astype(np.float64)
    along = 1.0 - np.einsum("ij,ij->i", wide[result.path[:-1]], wide[result.path[1:]])
    assert result.cost == pytest.approx(along.sum(), abs=1e-4)


def test_the_list_length_never_changes_the_result() -> None:
    x = with_duplicates(np.random.default_rng(23), 70, 140, 10)
    results = [similarity_path(x, device="cpu", neighbours=k) for k in (1, 2, 7, 50, 139, 4096)]
    assert all(np.array_equal(r.path, results[0].path) and r.cost == results[0].cost for r in results)


def test_fomo_in_flux_subset_with_duplicate_captions_matches_the_naive_reference(fif_subset, fif_naive_costs) -> None:
    fixed = fixed_point_for(len(fif_subset))
    totals, _ = greedy_start_costs(fif_subset, device="cpu", neighbours=64)
    assert np.array_equal(totals, fif_naive_costs)  # every start's greedy cost, bit for bit
    weights = exact_weights(quantize(fif_subset, fixed), slice(None), fixed)
    ranked = ranked_starts(fif_naive_costs)
    for rank in (1, 2, 5):
        result = similarity_path(fif_subset, device="cpu", start_rank=rank, neighbours=64)
        path, total = naive_walk(weights, int(ranked[rank - 1]))
        assert np.array_equal(result.path, path)
        assert (result.start, result.start_rank, result.cost) == (ranked[rank - 1], rank, fixed.to_float(total))
    best_path, best_cost, best_start = naive_greedy_all_starts(fif_subset[:300])
    result = similarity_path(fif_subset[:300], device="cpu")
    assert np.array_equal(result.path, best_path) and (result.start, result.cost) == (best_start, best_cost)


# -- the torch kernels on CPU tensors --------------------------------------------------------------


def _lists(x: np.ndarray, k: int):
    from fomo_order.similarity.lists import neighbour_lists

    fixed = fixed_point_for(len(x))
    q = quantize(x, fixed)
    return q, fixed, neighbour_lists(q, k, fixed, "cpu")


@pytest.mark.parametrize("block", [2048, 64])  # one tile; 5 x 5 blocks, each pair of them computed once
@pytest.mark.parametrize("k", [1, 9, 200, 299])
def test_torch_neighbour_lists_equal_the_screened_cpu_lists(monkeypatch, k: int, block: int) -> None:
    from fomo_order.similarity import lists as lists_module
    from fomo_order.similarity._knn_torch import exact_neighbour_keys

    monkeypatch.setattr(lists_module, "SYMMETRIC_BLOCK", block)
    monkeypatch.setattr(lists_module, "EXACT_LISTS_MAX", 0)  # screened at any size
    x = with_duplicates(np.random.default_rng(30), 220, 300, 48)
    q, fixed, lists = _lists(x, k)
    torch_keys = exact_neighbour_keys(torch.from_numpy(q.astype(np.float64)), k, fixed, tile_rows=37).numpy()
    assert np.array_equal(torch_keys, lists.keys)
    monkeypatch.setattr(lists_module, "EXACT_LISTS_MAX", 300)  # small sets: exact float64 rows (numpy)
    assert np.array_equal(_lists(x, k)[2].keys, lists.keys)
    weights = exact_weights(q, slice(None), fixed)
    np.fill_diagonal(weights, np.iinfo(np.int64).max >> fixed.index_bits)
    order = np.lexsort((np.broadcast_to(np.arange(300), weights.shape), weights), axis=1)
    assert np.array_equal(lists.indices, order[:, :k])


def test_rows_with_more_near_duplicates_than_their_buffer_holds_get_exact_full_rows(monkeypatch) -> None:
    from fomo_order.similarity import lists as lists_module
    from fomo_order.similarity._knn_torch import exact_neighbour_keys

    monkeypatch.setattr(lists_module, "SYMMETRIC_BLOCK", 50)
    monkeypatch.setattr(lists_module, "EXACT_LISTS_MAX", 0)
    rng = np.random.default_rng(34)
    x = unit_rows(rng, 260, 6)
    x[40:130] = x[7]  # 91 copies of one vector: more ties than a buffer of k + 64 candidates takes
    fixed = fixed_point_for(len(x))
    q = quantize(x, fixed)
    diagnostics: dict = {}
    lists = lists_module.neighbour_lists(q, 10, fixed, "cpu", diagnostics)
    assert diagnostics["full_rows_for_lists"] >= 91
    exact = exact_neighbour_keys(torch.from_numpy(q.astype(np.float64)), 10, fixed, tile_rows=64).numpy()
    assert np.array_equal(lists.keys, exact)


def test_screening_that_breaks_its_error_bound_falls_back_to_exact_tiles(monkeypatch) -> None:
    from fomo_order.similarity import lists as lists_module

    monkeypatch.setattr(lists_module, "EXACT_LISTS_MAX", 0)
    x = unit_rows(np.random.default_rng(33), 150, 64)
    _, fixed, trusted = _lists(x, 12)
    monkeypatch.setattr(lists_module, "float32_matmul_error_bound", lambda dim: 0.0)  # any rounding breaks it
    diagnostics: dict = {}
    lists = lists_module.neighbour_lists(quantize(x, fixed), 12, fixed, "cpu", diagnostics)
    assert diagnostics == {"screening_fallback": True}
    assert np.array_equal(lists.keys, trusted.keys)


@pytest.mark.parametrize("k", [2, 20, 160])
def test_torch_walks_on_cpu_tensors_equal_the_numba_walks(k: int) -> None:
    from fomo_order.similarity import _greedy_numba
    from fomo_order.similarity._greedy_torch import greedy_walks_torch

    x = with_duplicates(np.random.default_rng(31), 150, 200, 16)
    q, fixed, lists = _lists(x, k)
    starts = np.array([0, 3, 77, 150, 199])
    batch = greedy_walks_torch(
        torch.from_numpy(q.astype(np.float64)), torch.from_numpy(lists.keys), torch.from_numpy(starts), fixed,
        record_paths=True,
    )
    assert batch.paths is not None
    for start, total, path in zip(starts, batch.totals, batch.paths, strict=True):
        numba_path, numba_total, _ = _greedy_numba.greedy_path(start, q, fixed.scale, lists.head, lists.keys,
                                                               fixed.index_bits)
        assert np.array_equal(path, numba_path) and total == numba_total
    assert batch.fallbacks > 0 or k >= 160


def test_torch_kernel_behind_the_search_function_on_cpu() -> None:
    x = with_duplicates(np.random.default_rng(32), 90, 120, 12)
    by_torch, _ = greedy_start_costs(x, device="cpu", neighbours=4, kernel="torch")
    assert np.array_equal(by_torch, naive_greedy_costs(x))


@pytest.mark.parametrize("k", [24, 600])  # 600: the head, then list slices 128..512 and 512..600
def test_torch_walks_on_the_fomo_in_flux_subset(fif_subset, k: int) -> None:
    from fomo_order.similarity._greedy_torch import greedy_walks_torch

    x = fif_subset[:700]
    q, fixed, lists = _lists(x, k)
    starts = np.arange(0, 700, 9)
    batch = greedy_walks_torch(torch.from_numpy(q.astype(np.float64)), torch.from_numpy(lists.keys),
                               torch.from_numpy(starts), fixed)
    assert np.array_equal(batch.totals, greedy_start_costs(x, device="cpu", neighbours=k)[0][starts])


# -- refinement and the lower bound ----------------------------------------------------------------


def _scipy_mst(x: np.ndarray) -> float:
    from scipy.sparse.csgraph import minimum_spanning_tree

    fixed = fixed_point_for(len(x))
    # scipy reads 0 (and tiny values) as "no edge", and near-duplicates weigh 0: shift every edge by 1 unit,
    # which adds exactly N - 1 to any spanning tree
    weights = exact_weights(quantize(x, fixed), slice(None), fixed).astype(np.float64) + 1.0
    np.fill_diagonal(weights, 0.0)
    return (minimum_spanning_tree(weights).sum() - (len(x) - 1)) / fixed.scale


@pytest.mark.parametrize(("seed", "n", "neighbours"), [(40, 60, 2), (41, 250, 6), (42, 400, 2048)])
def test_refined_path_is_a_cheaper_permutation_above_the_spanning_tree(seed: int, n: int, neighbours: int) -> None:
    x = with_duplicates(np.random.default_rng(seed), n - 10, n, 24)
    greedy = similarity_path(x, device="cpu", neighbours=neighbours)
    refined = similarity_path(x, device="cpu", refine="2opt", neighbours=neighbours)
    assert np.array_equal(np.sort(refined.path), np.arange(n))
    assert (refined.start, refined.greedy_cost) == (greedy.start, greedy.cost)
    assert refined.mst_weight is not None
    assert refined.mst_weight <= refined.cost <= refined.greedy_cost
    assert refined.cost < refined.greedy_cost  # greedy paths end with long jumps; local search finds something
    assert refined.mst_weight == pytest.approx(_scipy_mst(x), abs=1e-12)
    moves = refined.details["refine_moves"]
    assert moves["2opt"] + moves["or_opt"] > 0
    wide = x.astype(np.float64)
    along = 1.0 - np.einsum("ij,ij->i", wide[refined.path[:-1]], wide[refined.path[1:]])
    assert refined.cost == pytest.approx(along.sum(), abs=1e-4)
    again = similarity_path(x, device="cpu", refine="2opt", neighbours=neighbours)
    assert np.array_equal(again.path, refined.path) and again.details == refined.details


def test_the_lower_bound_is_computed_when_asked_and_equals_scipy_on_real_embeddings(fif_subset) -> None:
    x = fif_subset[200:600]
    assert similarity_path(x, device="cpu").mst_weight is None
    with_bound = similarity_path(x, device="cpu", lower_bound=True, neighbours=5)
    assert with_bound.mst_weight == pytest.approx(_scipy_mst(x), abs=1e-12)
    assert with_bound.cost == with_bound.greedy_cost
    assert similarity_path(x, device="cpu", refine="2opt", lower_bound=False).mst_weight is None


def test_details_do_not_depend_on_the_device() -> None:
    x = unit_rows(np.random.default_rng(50), 40, 8)
    result = similarity_path(x, device="cpu", refine="2opt")
    assert set(result.details) == {"weight", "neighbours_per_node", "starts_searched", "refine_moves"}
    assert result.diagnostics["device"] == "cpu" and result.diagnostics["kernel"] == "numba"


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "source", "message"),
    [
        ({"device": "tpu"}, "device", "unknown value 'tpu'"),
        ({"refine": "3opt"}, "refine", "unknown value '3opt'"),
        ({"start": 10}, "start", "outside 0..9"),
        ({"start": -1}, "start", "outside 0..9"),
        ({"start_rank": 11}, "start_rank", "not between 1 and the number of concepts (10)"),
        ({"start_rank": 0}, "start_rank", "not between 1"),
    ],
)
def test_bad_options_are_input_errors(kwargs: dict, source: str, message: str) -> None:
    x = unit_rows(np.random.default_rng(60), 10, 4)
    with pytest.raises(ParameterError) as caught:
        similarity_path(x, **kwargs)
    assert caught.value.parameter == source and message in caught.value.problem


@pytest.mark.skipif(CUDA, reason="this machine has a CUDA device")
def test_cuda_without_a_gpu_is_an_input_error() -> None:
    x = unit_rows(np.random.default_rng(61), 10, 4)
    with pytest.raises(ParameterError) as caught:
        similarity_path(x, device="cuda")
    assert caught.value.parameter == "device" and "no CUDA device" in caught.value.problem
    assert similarity_path(x, device="auto").diagnostics["device"] == "cpu"


# -- on a real GPU ---------------------------------------------------------------------------------


@pytest.mark.gpu
def test_cuda_search_equals_the_cpu_search(fif_subset, fif_naive_costs) -> None:
    totals, _ = greedy_start_costs(fif_subset, device="cuda", neighbours=64)
    assert np.array_equal(totals, fif_naive_costs)
    for kwargs in ({}, {"start_rank": 3}, {"refine": "2opt"}, {"start": 11}):
        cpu = similarity_path(fif_subset, device="cpu", **kwargs)
        gpu = similarity_path(fif_subset, device="cuda", **kwargs)
        assert "start" in kwargs or gpu.diagnostics["kernel"] == "triton"  # a given start searches no starts
        assert np.array_equal(cpu.path, gpu.path)
        assert (cpu.cost, cpu.start, cpu.details) == (gpu.cost, gpu.start, gpu.details)


@pytest.mark.gpu
def test_torch_walks_on_cuda_equal_the_numba_walks(fif_subset) -> None:
    from fomo_order.similarity import _greedy_numba
    from fomo_order.similarity._greedy_torch import greedy_walks_torch

    q, fixed, lists = _lists(fif_subset, 16)
    starts = np.array([0, 499, 1499])
    batch = greedy_walks_torch(
        torch.from_numpy(q).to("cuda", torch.float64), torch.from_numpy(lists.keys).cuda(),
        torch.from_numpy(starts).cuda(), fixed, record_paths=True,
    )
    assert batch.paths is not None
    for start, total, path in zip(starts, batch.totals, batch.paths, strict=True):
        numba_path, numba_total, _ = _greedy_numba.greedy_path(start, q, fixed.scale, lists.head, lists.keys,
                                                               fixed.index_bits)
        assert np.array_equal(path, numba_path) and total == numba_total
