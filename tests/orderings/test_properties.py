"""Property tests: every ordering is a permutation, --reverse is exact, seeds are reproducible,
`split --tasks` follows FoMo-in-Flux's sizes and concatenates back to the stream."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fomo_order.catalog import Catalog, Dataset
from fomo_order.orderings import make_order
from fomo_order.orderings.basic import WithinYear
from fomo_order.split import cut, tasks_sizes

NO_MODEL_ORDERINGS = ("performance", "frequency", "time", "dataset", "random")


@st.composite
def catalogs(draw) -> Catalog:
    sizes = draw(st.lists(st.integers(1, 12), min_size=1, max_size=6))
    datasets = tuple(
        Dataset(name=f"D{d}", classes=tuple(f"c{i}" for i in range(size)), year=draw(st.integers(1990, 1994)))
        for d, size in enumerate(sizes)
    )
    return Catalog(datasets=datasets)


def inputs_for(name: str, catalog: Catalog, values: np.ndarray) -> dict:
    # few distinct values, so ties are common
    return {"performance": {"scores": values}, "frequency": {"frequencies": values}}.get(name, {})


@settings(max_examples=60, deadline=None)
@given(catalog=catalogs(), name=st.sampled_from(NO_MODEL_ORDERINGS), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_orderings_are_reproducible_permutations_and_reverse_exactly(catalog, name, seed, data) -> None:
    values = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(catalog), max_size=len(catalog))), float)
    inputs = inputs_for(name, catalog, values)
    if name == "time":
        inputs["within_year"] = data.draw(st.sampled_from([mode.value for mode in WithinYear]))
    forward = make_order(name, catalog, seed=seed, **inputs).order
    assert sorted(forward.tolist()) == list(range(len(catalog)))
    again = make_order(name, catalog, seed=seed, **inputs).order
    assert np.array_equal(forward, again)
    backward = make_order(name, catalog, seed=seed, reverse=True, **inputs).order
    assert np.array_equal(backward, forward[::-1])
    if name in ("performance", "frequency"):
        ordered = values[forward]
        assert np.all(np.diff(ordered) >= 0) if name == "frequency" else np.all(np.diff(ordered) <= 0)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 500), data=st.data())
def test_split_tasks_sizes_follow_the_rule_and_concatenate_back(n, data) -> None:
    tasks = data.draw(st.integers(1, n))
    sizes = tasks_sizes(n, tasks)
    assert len(sizes) == tasks and sum(sizes) == n
    assert sizes == [n // tasks + 1] * (n % tasks) + [n // tasks] * (tasks - n % tasks)
    stream = [f"D+++{i}" for i in range(n)]
    assert [c for task in cut(stream, sizes) for c in task] == stream
