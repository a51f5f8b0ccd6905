"""The Triton walk kernel against the numba kernel: totals and paths bit for bit, exact ties, deep list scans,
fallback rounds and pruning.

Without CUDA the kernel runs in Triton's interpreter on CPU tensors (small N: the interpreter takes a few
milliseconds per step); with CUDA the same checks run on the GPU at larger N (marked ``gpu``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("numba")
CUDA = torch.cuda.is_available()
pytest.importorskip("triton")  # without CUDA, conftest has switched Triton to its interpreter

from fomo_order.similarity import greedy_start_costs  # noqa: E402
from fomo_order.similarity.lists import neighbour_lists  # noqa: E402
from fomo_order.similarity.reference import naive_greedy_costs  # noqa: E402
from fomo_order.similarity.search import all_start_totals  # noqa: E402
from fomo_order.similarity.weights import fixed_point_for, quantize  # noqa: E402
from tests.conftest import REPO, shared_path  # noqa: E402

DEVICE = "cuda" if CUDA else "cpu"
interpreter = pytest.mark.skipif(CUDA, reason="with CUDA the kernel is compiled; the gpu tests cover it")


def with_duplicates(seed: int, distinct: int, n: int, dim: int) -> np.ndarray:
    """``n`` unit rows drawn from ``distinct`` vectors: many exact ties, in shuffled positions."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((distinct, dim)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    return base[rng.integers(0, distinct, size=n)]


def triton_walks(x: np.ndarray, k: int, starts, **kwargs):
    from fomo_order.similarity._greedy_triton import greedy_walks_triton, interpreter_active

    assert CUDA or interpreter_active(), "TRITON_INTERPRET=1 must be set before triton is first imported"

    fixed = fixed_point_for(len(x))
    q = quantize(x, fixed)
    lists = neighbour_lists(q, k, fixed, "cpu")
    device = torch.device(DEVICE)
    result = greedy_walks_triton(
        torch.from_numpy(q).to(device, torch.float64), torch.from_numpy(lists.keys).to(device),
        torch.as_tensor(np.asarray(starts), device=device), fixed, **kwargs,
    )  # fmt: skip
    return result, q, fixed, lists


def assert_equal_to_numba(result, q, fixed, lists, starts) -> None:
    from fomo_order.similarity import _greedy_numba

    assert result.paths is not None
    for row, start in enumerate(starts):
        path, total, _ = _greedy_numba.greedy_path(int(start), q, fixed.scale, lists.head, lists.keys, fixed.index_bits)
        assert result.totals[row] == total, start
        assert np.array_equal(result.paths[row], path), start


# -- in Triton's interpreter (CPU) -----------------------------------------------------------------


@interpreter
@pytest.mark.parametrize(
    ("n", "distinct", "k", "starts", "tuning"),
    [
        (40, 16, 3, [0, 7, 20, 39], {}),  # few neighbours: several fallback rounds; duplicate rows tie exactly
        (36, 36, 11, [1, 18, 35], {"head_width": 2, "chunk": 4}),  # the head, then chunks, the last one partial
        (24, 1, 2, [0, 5, 23], {}),  # all rows equal: every weight ties, the walk goes up the indices
        (3, 3, 1, [0, 1, 2], {}),  # one neighbour, and N smaller than the head
    ],
)
def test_triton_walks_equal_the_numba_walks(n: int, distinct: int, k: int, starts: list, tuning: dict) -> None:
    x = with_duplicates(n, distinct, n, 12)
    result, q, fixed, lists = triton_walks(x, k, starts, record_paths=True, **tuning)
    assert_equal_to_numba(result, q, fixed, lists, starts)
    assert result.pruned == 0 and (result.totals >= 0).all()
    if k < n - 1:
        assert result.fallbacks > 0 and (result.launches > 1 or n <= 3)  # N = 3: only the last step falls back
    if distinct == 1:
        assert all(
            np.array_equal(path, np.r_[start, np.delete(np.arange(n), start)])
            for start, path in zip(starts, result.paths, strict=True)
        )


@interpreter
def test_triton_pruning_keeps_the_best_walks_exact() -> None:
    x = with_duplicates(6, 12, 22, 10)
    result, *_ = triton_walks(x, 4, np.arange(22), keep=2)
    reference = naive_greedy_costs(x)
    complete = result.totals >= 0
    assert np.array_equal(result.totals[complete], reference[complete])
    assert (reference[~complete] > np.sort(reference)[1]).all()  # only walks that cannot be among the 2 best
    assert np.array_equal(np.sort(result.totals[complete])[:2], np.sort(reference)[:2])
    assert result.pruned == int((~complete).sum()) > 0


@interpreter
def test_triton_kernel_behind_the_search_functions() -> None:
    x = with_duplicates(7, 12, 22, 10)
    by_triton, _ = greedy_start_costs(x, device="cpu", neighbours=4, kernel="triton")
    assert np.array_equal(by_triton, naive_greedy_costs(x))
    fixed = fixed_point_for(len(x))
    q = quantize(x, fixed)
    diagnostics: dict = {}
    totals = all_start_totals(
        q, neighbour_lists(q, 4, fixed, "cpu"), fixed, "cpu", keep=1, kernel="triton", diagnostics=diagnostics
    )
    assert totals[totals >= 0].min() == by_triton.min()
    assert diagnostics["kernel"] == "triton" and diagnostics["fallback_scans"] > 0
    assert diagnostics["pruned_walks"] == int((totals < 0).sum())


def test_cpu_tensors_without_the_interpreter_are_refused() -> None:
    code = (
        "import torch\n"
        "from fomo_order.similarity._greedy_triton import greedy_walks_triton\n"
        "from fomo_order.similarity.weights import fixed_point_for\n"
        "try:\n"
        "    greedy_walks_triton(torch.zeros((3, 2), dtype=torch.float64), torch.zeros((3, 1), dtype=torch.int64),\n"
        "                        torch.arange(3), fixed_point_for(3))\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert "needs CUDA tensors, or TRITON_INTERPRET=1" in out.stdout


# -- on a real GPU ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "distinct", "dim", "k"), [(2000, 1700, 32, 12), (2000, 2000, 64, 300)])
@pytest.mark.gpu
def test_triton_walks_on_cuda_equal_the_numba_walks(n: int, distinct: int, dim: int, k: int) -> None:
    x = with_duplicates(n, distinct, n, dim)
    by_numba, _ = greedy_start_costs(x, device="cpu", neighbours=k)
    by_triton, _ = greedy_start_costs(x, device="cuda", neighbours=k)
    assert np.array_equal(by_triton, by_numba)
    starts = np.r_[0:n:97, n - 1]
    for tuning in ({}, {"head_width": 4, "chunk": 16}):
        result, q, fixed, lists = triton_walks(x, k, starts, record_paths=True, **tuning)
        assert_equal_to_numba(result, q, fixed, lists, starts)
        assert result.fallbacks > 0


@pytest.mark.gpu
def test_triton_search_on_the_fomo_in_flux_catalog_head() -> None:
    matrix = np.load(shared_path("fif", "minilm-embeddings.npy"))[:2500].astype(np.float64)
    x = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
    by_numba, _ = greedy_start_costs(x, device="cpu", neighbours=32)
    for kernel in ("triton", "torch"):
        assert np.array_equal(greedy_start_costs(x, device="cuda", neighbours=32, kernel=kernel)[0], by_numba)
    fixed = fixed_point_for(len(x))
    q = quantize(x, fixed)
    lists = neighbour_lists(q, 32, fixed, "cuda")
    diagnostics: dict = {}
    totals = all_start_totals(q, lists, fixed, "cuda", keep=3, diagnostics=diagnostics)
    complete = totals >= 0
    assert np.array_equal(totals[complete], by_numba[complete])
    assert np.array_equal(np.sort(totals[complete])[:3], np.sort(by_numba)[:3])
    assert diagnostics["kernel"] == "triton" and diagnostics["pruned_walks"] == int((~complete).sum())
