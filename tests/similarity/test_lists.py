"""The CPU neighbour lists beyond EXACT_LISTS_MAX: the float32 screen (sampled starting floors, tiles
read as rows and as columns, compaction, the buffers sharing memory with the lists) returns exactly the
lists of exact float64 rows, whatever guesses it made on the way."""

from __future__ import annotations

import numpy as np
import pytest

from fomo_order.similarity.weights import fixed_point_for, quantize
from tests.similarity.conftest import unit_rows, with_duplicates

pytest.importorskip("numba")


def _screened(monkeypatch, x: np.ndarray, k: int, block: int) -> tuple[np.ndarray, np.ndarray, dict, np.ndarray]:
    """(screened keys, exact keys, diagnostics, quantized rows) with tiles of ``block`` rows."""
    from fomo_order.similarity import lists

    monkeypatch.setattr(lists, "SYMMETRIC_BLOCK", block)
    monkeypatch.setattr(lists, "EXACT_LISTS_MAX", 0)
    fixed = fixed_point_for(len(x))
    quantized = quantize(x, fixed)
    diagnostics: dict = {}
    screened = lists.neighbour_lists(quantized, k, fixed, "cpu", diagnostics).keys
    return screened, lists.exact_keys(quantized, np.arange(len(x)), k, fixed), diagnostics, quantized


@pytest.mark.parametrize("block", [4096, 128])  # one tile; 9 x 9 blocks, each pair computed once
@pytest.mark.parametrize(("k", "floored"), [(12, True), (150, True), (700, False)])
def test_screened_lists_are_the_exact_lists(monkeypatch, block: int, k: int, floored: bool) -> None:
    from fomo_order.similarity import lists

    x = unit_rows(np.random.default_rng(40), 1100, 24)
    x[200:240] = x[3]  # 41 copies of one vector: exact ties at many rows' k-th value
    screened, exact, _, quantized = _screened(monkeypatch, x, k, block)
    assert np.array_equal(screened, exact)
    assert screened.flags.c_contiguous and screened.shape == (1100, k)
    # the floors sampled up front serve where a sample can tell a row's k-th value (k a small part of N)
    margin = 2 * lists.float32_matmul_error_bound(24)
    assert (lists.sampled_floors(quantized, k, margin) > lists.NO_FLOOR).all() == floored


def test_floors_guessed_too_high_cost_exact_rows_never_a_wrong_list(monkeypatch) -> None:
    from fomo_order.similarity import lists

    guessed = lists.sampled_floors
    too_high = np.zeros(900, dtype=bool)
    too_high[::7] = True

    def high_floors(quantized, k, margin):  # a sample that missed: floors above some rows' k-th value
        return guessed(quantized, k, margin) + 0.4 * too_high

    monkeypatch.setattr(lists, "sampled_floors", high_floors)
    screened, exact, diagnostics, _ = _screened(monkeypatch, unit_rows(np.random.default_rng(41), 900, 16), 20, 256)
    assert np.array_equal(screened, exact)
    assert diagnostics["full_rows_for_lists"] == too_high.sum()


def test_rows_with_more_ties_than_a_buffer_holds_are_exact_in_full(monkeypatch) -> None:
    x = with_duplicates(np.random.default_rng(42), 30, 1000, 8)  # about 33 copies of each vector
    screened, exact, diagnostics, _ = _screened(monkeypatch, x, 5, 300)
    assert np.array_equal(screened, exact)
    assert diagnostics["full_rows_for_lists"] > 0  # k + 64 candidates cannot hold 33 ties


@pytest.mark.parametrize("size", [1, 63, 64, 65, 2057, 5000])
def test_bucket_sort_sorts_like_numpy(size: int) -> None:
    from fomo_order.similarity._knn_numba import _bucket_sort

    rng = np.random.default_rng(size)
    spread = rng.choice(1 << 58, size=size, replace=False).astype(np.int64)
    # weights bunched at one value (duplicates) with a far outlier: one bucket holds nearly all keys
    bunched = np.concatenate([(7 << 20) + np.arange(size - 1), [1 << 57]]).astype(np.int64)[rng.permutation(size)]
    for keys in (spread, bunched):
        ours = keys.copy()
        _bucket_sort(ours)
        assert np.array_equal(ours, np.sort(keys))
