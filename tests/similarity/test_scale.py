"""Similarity at scale: the bounded exact search against the naive reference on data made to stress it,
sampled starts (`starts=K`) with their spanning-tree certificate, and the walks on a local Ray runtime."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from fomo_order.errors import InputError
from fomo_order.similarity import similarity_path
from fomo_order.similarity.reference import naive_greedy_costs, naive_walk
from fomo_order.similarity.weights import exact_weights, fixed_point_for, quantize
from tests.conftest import REPO

pytest.importorskip("torch")
pytest.importorskip("numba")


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)).astype(np.float32)


def twins(seed: int, n: int, dim: int, sigma: float = 0.01) -> np.ndarray:
    """``n`` random rows and a noisy copy of each (as in the issue's 36,762-concept set): every concept has
    a near twin, so the nearest-neighbour bound is loose and the pairs bound is tight."""
    rng = np.random.default_rng(seed)
    base = unit(rng.standard_normal((n, dim)))
    return np.vstack([base, unit(base + rng.normal(0.0, sigma, base.shape))])


def ranked(costs: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
    starts = np.arange(len(costs)) if among is None else np.sort(among)
    return starts[np.lexsort((starts, costs[starts]))]


# -- the exact search with the remaining-cost bound -------------------------------------------------


@pytest.mark.parametrize(("data", "keep", "neighbours"), [("twins", 1, 3), ("twins", 4, 40), ("clusters", 2, 5)])
def test_bounded_search_keeps_the_exact_best_walks(data: str, keep: int, neighbours: int) -> None:
    from fomo_order.similarity import search

    rng = np.random.default_rng(3)
    if data == "twins":
        x = twins(3, 90, 12)
    else:  # tight clusters of duplicates and near-duplicates: exact ties and early list exhaustion
        centres = unit(rng.standard_normal((6, 10)))
        x = unit(centres[rng.integers(0, 6, 200)] + rng.normal(0, 0.02, (200, 10)) * (rng.random((200, 1)) < 0.7))
    costs = naive_greedy_costs(x)
    fixed = fixed_point_for(len(x))
    q = quantize(x, fixed)
    lists = search.neighbour_lists(q, neighbours, fixed, "cpu")
    diagnostics: dict = {}
    totals = search.all_start_totals(q, lists, fixed, "cpu", keep=keep, diagnostics=diagnostics)
    complete = np.flatnonzero(totals >= 0)
    assert np.array_equal(totals[complete], costs[complete])  # a walk that finishes has its exact weight
    best = ranked(costs)[:keep]
    assert set(best) <= set(complete)  # the K best are never abandoned
    assert diagnostics["pruned_walks"] > 0 and diagnostics["walk_steps"] < len(x) * (len(x) - 1)
    for rank in range(1, keep + 1):
        result = similarity_path(x, device="cpu", start_rank=rank, neighbours=neighbours)
        assert result.start == best[rank - 1]


@pytest.mark.parametrize(
    ("data", "neighbours", "budget_rows", "late_min"),
    [("twins", 2, 1000, 10**9), ("twins", 5, 3, 10**9), ("twins", 2, 0, 4), ("noisy copies", 6, 5, 4)],
)
def test_lists_grow_where_walks_run_out_and_nothing_else_changes(
    monkeypatch, data: str, neighbours: int, budget_rows: int, late_min: int
) -> None:
    from fomo_order.similarity import search, walks

    if data == "twins":
        x = twins(8 + neighbours, 100, 8, sigma=0.05)
    else:  # as the 55,143 set: noisy copies whose lists hold only the originals, visited early
        rng = np.random.default_rng(12)
        base = unit(rng.standard_normal((60, 24)) + 3.0 * rng.standard_normal((1, 24)))
        x = np.vstack([base, unit(base + rng.normal(0, 0.6, base.shape)), unit(base + rng.normal(0, 0.6, base.shape))])
    fixed = fixed_point_for(len(x))
    q = quantize(x, fixed)
    lists = search.neighbour_lists(q, neighbours, fixed, "cpu")
    # grow at the first costly scan, with costly meaning 8 or more unvisited nodes; a budget of a few rows
    monkeypatch.setattr(walks, "RAN_OUT_TIMES", 1)
    monkeypatch.setattr(walks, "SCAN_FROM_MIN", 8)
    monkeypatch.setattr(walks, "ROW_BUDGET_BYTES", budget_rows * 4 * (len(x) - 1 - neighbours))
    monkeypatch.setattr(walks, "LATE_MIN", late_min)
    monkeypatch.setattr(walks, "LATE_NEIGHBOURS", 7)
    monkeypatch.setattr(walks, "LATE_TRIGGER", 2)
    monkeypatch.setattr(walks, "LATE_MAX_FRACTION", 1.0)  # tiny data: walks run out while most is unvisited
    diagnostics: dict = {}
    totals = search.all_start_totals(q, lists, fixed, "cpu", keep=3, diagnostics=diagnostics)
    assert 0 < diagnostics["grown_rows"] <= budget_rows or (budget_rows == 0 and diagnostics["grown_rows"] == 0)
    assert (diagnostics["late_set"] > 0) == (late_min < 10**9)
    costs = naive_greedy_costs(x)
    complete = np.flatnonzero(totals >= 0)
    assert np.array_equal(totals[complete], costs[complete]) and set(ranked(costs)[:3]) <= set(complete)
    result = similarity_path(x, device="cpu", neighbours=neighbours, start_rank=2)
    assert result.start == ranked(costs)[1]


def test_the_bound_abandons_walks_earlier_than_the_weight_so_far() -> None:
    from fomo_order.similarity import _greedy_numba, search

    x = twins(4, 150, 16)
    fixed = fixed_point_for(len(x))
    q = quantize(x, fixed)
    lists = search.neighbour_lists(q, 30, fixed, "cpu")
    best = int(naive_greedy_costs(x).min())
    starts = np.arange(len(x), dtype=np.int64)
    table, sum1, sum2, slack = _greedy_numba.walk_table(lists.keys, fixed.index_bits, 14)
    none64, none32 = np.empty(0, np.int64), np.empty(0, np.int32)
    runs = [
        _greedy_numba.bounded_totals(starts, q, fixed.scale, table, 14, lists.keys, fixed.index_bits, best,
                                     bounded, sum1, sum2, slack, none64, none32, none32, 0, np.empty(0, np.bool_),
                                     none64, np.empty((0, 0), np.int64), none32, 0, lanes, 2 * lanes)
        for bounded in (False, True)
        for lanes in (1, 5)
    ]
    (plain, _, plain_steps), (plain5, _, _), (bounded, _, bounded_steps), (bounded5, _, _) = runs
    assert np.array_equal(plain, plain5) and np.array_equal(bounded, bounded5)  # lanes change nothing
    assert np.array_equal(plain >= 0, bounded >= 0)  # both keep exactly the walks of the best weight
    assert bounded_steps.sum() < plain_steps.sum()


# -- sampled starts --------------------------------------------------------------------------------


def test_sampled_starts_are_spread_deterministic_and_seeded() -> None:
    from fomo_order.similarity.walks import sample_starts

    x = unit(np.random.default_rng(5).standard_normal((150, 8)))  # <= 4 x 40: the pool is every concept
    fixed = fixed_point_for(len(x))
    q = quantize(x, fixed)
    weights = exact_weights(q, slice(None), fixed)
    chosen = sample_starts(q, 40, np.random.default_rng(1), fixed)
    assert len(set(chosen.tolist())) == 40
    assert np.array_equal(chosen, sample_starts(q, 40, np.random.default_rng(1), fixed))
    assert not np.array_equal(chosen, sample_starts(q, 40, np.random.default_rng(2), fixed))
    for c in range(1, 40):  # each next start is the concept farthest from those before it (ties: lower index)
        distance = weights[chosen[:c]].min(axis=0)
        distance[chosen[:c]] = -1
        assert chosen[c] == int(np.argmax(distance))
    assert np.array_equal(sample_starts(q, 150, np.random.default_rng(1), fixed), np.arange(150))
    wide = sample_starts(q, 5, np.random.default_rng(1), fixed)  # a pool of 20 of the 150, drawn from the seed
    assert len(set(wide.tolist())) == 5 and np.array_equal(wide, sample_starts(q, 5, np.random.default_rng(1), fixed))
    # duplicates: more starts than distinct vectors still gives distinct starts
    dup = np.repeat(x[:3], 20, axis=0)
    assert len(set(sample_starts(quantize(dup, fixed_point_for(60)), 10, np.random.default_rng(0),
                                 fixed_point_for(60)).tolist())) == 10


def test_starts_k_is_the_best_walk_over_the_sampled_starts_with_its_certificate() -> None:
    from fomo_order.similarity.walks import sample_starts

    x = twins(6, 120, 10)
    fixed = fixed_point_for(len(x))
    q = quantize(x, fixed)
    weights = exact_weights(q, slice(None), fixed)
    costs = naive_greedy_costs(x)
    sampled = sample_starts(q, 15, np.random.default_rng(9), fixed)
    for rank in (1, 3):
        result = similarity_path(x, device="cpu", starts=15, seed=9, start_rank=rank, neighbours=6)
        expected = int(ranked(costs, sampled)[rank - 1])
        assert (result.start, result.start_rank) == (expected, rank)
        assert np.array_equal(result.path, naive_walk(weights, expected)[0])
        assert result.mst_weight is not None and result.mst_weight <= result.cost
        assert result.details["starts_searched"] == 15
        assert result.details["lower_bound_gap"] == pytest.approx(result.cost / result.mst_weight - 1, rel=1e-9)
    assert similarity_path(x, device="cpu", starts=15, seed=np.random.default_rng(9)).start == ranked(costs, sampled)[0]
    refined = similarity_path(x, device="cpu", starts=15, seed=9, refine="2opt")
    assert refined.cost < refined.greedy_cost and refined.details["lower_bound_gap"] == pytest.approx(
        refined.cost / refined.mst_weight - 1, rel=1e-9)
    every = similarity_path(x, device="cpu", starts=10_000)  # K >= N: every start, the exact path
    exact = similarity_path(x, device="cpu")
    assert np.array_equal(every.path, exact.path) and every.details["starts_searched"] == len(x)


@pytest.mark.parametrize(
    ("kwargs", "source", "message"),
    [
        ({"starts": 0}, "starts", "positive number"),
        ({"starts": 2.5}, "starts", "positive number"),
        ({"starts": 3, "start": 1}, "starts", "not both"),
        ({"starts": 3, "start_rank": 4}, "start_rank", "more than the 3 sampled starts"),
        ({"ray_address": " "}, "ray_address", "expected a Ray cluster address"),
    ],
)
def test_bad_scale_options_are_input_errors(kwargs: dict, source: str, message: str) -> None:
    x = unit(np.random.default_rng(60).standard_normal((10, 4)))
    with pytest.raises(InputError) as caught:
        similarity_path(x, device="cpu", **kwargs)
    assert caught.value.source == source and message in caught.value.problem


def test_ray_missing_is_an_input_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    x = unit(np.random.default_rng(61).standard_normal((10, 4)))
    with pytest.raises(InputError) as caught:
        similarity_path(x, device="cpu", ray_address="local")
    assert caught.value.source == "ray_address" and "fomo-order[ray]" in caught.value.problem


# -- the CLI ---------------------------------------------------------------------------------------


def _demo(monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The committed demo catalog and embeddings (652 concepts), by the paths the committed metas record."""
    monkeypatch.chdir(REPO)
    return Path("configs/demo/catalog.yaml"), Path("streams/embeddings.npy")


def test_cli_starts_records_k_the_bound_and_the_gap(run_cli, tmp_path: Path, monkeypatch) -> None:
    catalog, embeddings = _demo(monkeypatch)
    out = tmp_path / "s.json"
    args = ("order", "similarity", catalog, "--embeddings", embeddings, "-o", out, "--device", "cpu")
    assert run_cli(*args, "--starts", "40", "--seed", "3").exit_code == 0
    meta = json.loads(out.with_name("s.meta.json").read_text())
    assert meta["parameters"]["starts"] == 40 and meta["details"]["starts_searched"] == 40
    details = meta["details"]
    assert details["mst_lower_bound"] <= details["path_weight"]
    assert details["lower_bound_gap"] == pytest.approx(details["path_weight"] / details["mst_lower_bound"] - 1)
    first = out.read_bytes()
    assert run_cli(*args, "--starts", "40", "--seed", "3").exit_code == 0 and out.read_bytes() == first
    # `--starts all` is the exact search, and its meta has no trace of the option
    assert run_cli(*args, "--starts", "all").exit_code == 0
    meta = json.loads(out.with_name("s.meta.json").read_text())
    assert "starts" not in meta["parameters"] and "lower_bound_gap" not in meta["details"]
    committed = json.loads((REPO / "streams" / "similarity_start1.json").read_text())
    assert json.loads(out.read_text()) == committed


@pytest.mark.parametrize(("value", "message"), [("0", "'all' or a positive number"), ("many", "got 'many'")])
def test_cli_bad_starts(run_cli, tmp_path: Path, monkeypatch, value: str, message: str) -> None:
    catalog, embeddings = _demo(monkeypatch)
    out = tmp_path / "s.json"
    result = run_cli("order", "similarity", catalog, "--embeddings", embeddings, "-o", out, "--starts", value)
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()


# -- Ray -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray runtime with 2 CPUs, shared by this module's Ray tests (the search uses a runtime that
    is already initialised as it is)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_walks_give_the_local_search_exactly(local_ray) -> None:
    x = twins(7, 150, 12)
    for kwargs in ({}, {"start_rank": 3}, {"starts": 20, "seed": 4}):
        local = similarity_path(x, device="cpu", neighbours=8, **kwargs)
        remote = similarity_path(x, device="cpu", neighbours=8, ray_address="local", **kwargs)
        assert np.array_equal(local.path, remote.path)
        assert (local.start, local.cost, local.details) == (remote.start, remote.cost, remote.details)
        assert remote.diagnostics["ray_tasks"] >= 2
    assert local_ray.is_initialized()  # a runtime the caller started is left running


def test_ray_tasks_read_the_rows_and_late_lists_grown_here(local_ray, monkeypatch) -> None:
    from fomo_order.similarity import walks

    # as the 55,143 set: noisy copies whose lists hold only the originals, visited early
    rng = np.random.default_rng(12)
    base = unit(rng.standard_normal((60, 24)) + 3.0 * rng.standard_normal((1, 24)))
    x = np.vstack([base, unit(base + rng.normal(0, 0.6, base.shape)), unit(base + rng.normal(0, 0.6, base.shape))])
    for name, value in {"RAN_OUT_TIMES": 1, "SCAN_FROM_MIN": 8, "LATE_MIN": 4, "LATE_WHEN": 0, "LATE_TRIGGER": 2,
                        "LATE_NEIGHBOURS": 7, "LATE_MAX_FRACTION": 1.0, "LANES": 2}.items():
        monkeypatch.setattr(walks, name, value)
    local = similarity_path(x, device="cpu", neighbours=6)
    remote = similarity_path(x, device="cpu", neighbours=6, ray_address="local")
    assert np.array_equal(local.path, remote.path) and local.start == remote.start
    work = remote.diagnostics
    assert work["grown_rows"] > 0 and work["late_set"] > 0 and work["ray_tasks"] >= 2
    assert 0 < work["walks_here"] < len(x)


def test_cli_ray_address_writes_the_committed_stream(local_ray, run_cli, tmp_path: Path, monkeypatch) -> None:
    committed = REPO / "streams" / "similarity_start1.json"
    catalog, embeddings = _demo(monkeypatch)
    out = tmp_path / "similarity_start1.json"
    result = run_cli("order", "similarity", catalog, "--embeddings", embeddings, "--start-rank", "1",
                     "--ray-address", "local", "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == committed.read_bytes()
    meta = json.loads(out.with_name("similarity_start1.meta.json").read_text())
    expected = json.loads(committed.with_name("similarity_start1.meta.json").read_text())
    assert {**meta, "argv": None} == {**expected, "argv": None}
