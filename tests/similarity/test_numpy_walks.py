"""The small-catalog walks in numpy: the naive reference's totals and paths, the numba search's results,
and a fresh process that searches the demo without loading numba or torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from fomo_order.similarity import _greedy_numpy, search, similarity_path, small
from fomo_order.similarity.reference import naive_greedy_all_starts, naive_greedy_costs, naive_walk
from fomo_order.similarity.weights import exact_weights, fixed_point_for, quantize
from tests.conftest import REPO
from tests.similarity.conftest import unit_rows, with_duplicates


def keys_of(x: np.ndarray):
    fixed = fixed_point_for(len(x))
    return _greedy_numpy.full_keys(quantize(x, fixed), fixed), fixed


@pytest.mark.parametrize(("n", "dim", "distinct"), [(2, 3, None), (3, 2, None), (40, 8, None), (300, 4, None),
                                                    (300, 16, 30), (200, 6, 3)])
def test_lockstep_totals_are_the_naive_walks(n: int, dim: int, distinct: int | None) -> None:
    rng = np.random.default_rng(n + dim)
    x = with_duplicates(rng, distinct, n, dim) if distinct else unit_rows(rng, n, dim)
    keys, fixed = keys_of(x)
    totals = _greedy_numpy.lockstep_totals(np.arange(n), keys, fixed.index_bits)
    assert np.array_equal(totals, naive_greedy_costs(x))
    some = np.array([n - 1, 0, n // 2])
    assert np.array_equal(_greedy_numpy.lockstep_totals(some, keys, fixed.index_bits), totals[some])


def test_a_walk_is_the_naive_walk_step_for_step() -> None:
    x = with_duplicates(np.random.default_rng(5), 60, 120, 5)
    keys, fixed = keys_of(x)
    weights = exact_weights(quantize(x, fixed), slice(None), fixed)
    for start in (0, 7, 119):
        path, total = _greedy_numpy.greedy_walk(start, keys, fixed.index_bits)
        reference_path, reference_total = naive_walk(weights, start)
        assert np.array_equal(path, reference_path) and total == reference_total


def test_the_fif_subset_gives_the_naive_costs(fif_subset, fif_naive_costs) -> None:
    keys, fixed = keys_of(fif_subset)
    assert len(fif_subset) <= small.NUMPY_WALKS_MAX
    totals = _greedy_numpy.lockstep_totals(np.arange(len(fif_subset)), keys, fixed.index_bits)
    assert np.array_equal(totals, fif_naive_costs)


@pytest.fixture
def numpy_walks(monkeypatch):
    monkeypatch.setattr(small, "numba_loaded", lambda: False)


def test_similarity_path_walks_in_numpy_when_numba_is_not_loaded(numpy_walks) -> None:
    x = unit_rows(np.random.default_rng(8), 90, 6)
    result = similarity_path(x, device="cpu")
    path, cost, start = naive_greedy_all_starts(x)
    assert result.diagnostics["kernel"] == "numpy"
    assert np.array_equal(result.path, path) and (result.cost, result.start, result.start_rank) == (cost, start, 1)
    assert result.greedy_cost == cost and result.mst_weight is None


def test_the_numpy_and_numba_searches_agree(monkeypatch) -> None:
    pytest.importorskip("numba")
    x = with_duplicates(np.random.default_rng(9), 50, 400, 6)
    for kwargs in ({}, {"start_rank": 3}, {"start": 11}, {"start_rank": 400}):
        monkeypatch.setattr(small, "numba_loaded", lambda: False)
        fast = similarity_path(x, device="cpu", **kwargs)
        monkeypatch.setattr(small, "numba_loaded", lambda: True)
        compiled = similarity_path(x, device="cpu", **kwargs)
        assert fast.diagnostics["kernel"] == "numpy"
        assert "start" in kwargs or compiled.diagnostics["kernel"] == "numba"  # a given start searches none
        assert np.array_equal(fast.path, compiled.path), kwargs
        assert (fast.cost, fast.start, fast.start_rank, fast.greedy_cost, fast.details) == \
            (compiled.cost, compiled.start, compiled.start_rank, compiled.greedy_cost, compiled.details)


def test_what_the_numpy_walks_do_not_serve(numpy_walks) -> None:
    no = False  # not refining
    assert small.numpy_walks_serve(small.NUMPY_WALKS_MAX, "cpu", no, False, False, None)
    assert not small.numpy_walks_serve(small.NUMPY_WALKS_MAX + 1, "cpu", no, False, False, None)
    assert not small.numpy_walks_serve(10, "cuda", no, False, False, None)
    assert not small.numpy_walks_serve(10, "cpu", True, False, False, None)
    assert not small.numpy_walks_serve(10, "cpu", no, True, False, None)  # the spanning tree is numba's
    assert not small.numpy_walks_serve(10, "cpu", no, False, True, None)  # so is the sampling
    assert not small.numpy_walks_serve(10, "cpu", no, False, False, "local")


def test_all_start_totals_takes_the_numpy_kernel() -> None:
    x = unit_rows(np.random.default_rng(10), 60, 5)
    fixed = fixed_point_for(60)
    diagnostics: dict = {}
    totals = search.all_start_totals(quantize(x, fixed), None, fixed, "cpu", keep=None, kernel="numpy",  # type: ignore[arg-type]
                                     diagnostics=diagnostics, starts=np.array([3, 1]))
    assert diagnostics == {"kernel": "numpy"}
    expected = naive_greedy_costs(x)
    assert totals[3] == expected[3] and totals[1] == expected[1] and (np.delete(totals, [1, 3]) == -1).all()
    with pytest.raises(ValueError, match="unknown kernel"):
        search.all_start_totals(quantize(x, fixed), None, fixed, "cpu", kernel="cuda-graph")  # type: ignore[arg-type]


DRIVER = """
import json, sys
from fomo_order.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"numba", "torch", "scipy", "llvmlite"})
print(json.dumps({"code": code, "heavy": heavy}))
"""


def test_the_demo_search_loads_neither_numba_nor_torch() -> None:
    # --check: the committed stream and its meta are what this search writes (exit 0), and nothing is written
    argv = ["order", "similarity", "configs/demo/catalog.yaml", "--output", "streams/similarity_start1.json",
            "--embeddings", "streams/embeddings.npy", "--start-rank", "1", "--check"]  # the Makefile's argv
    done = subprocess.run([sys.executable, "-c", DRIVER, *argv], cwd=REPO, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": ""},
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "heavy": []}
    assert "compiling" not in done.stderr
