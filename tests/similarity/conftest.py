"""Data of the similarity tests: random unit rows (with exact ties where asked), and a FoMo-in-Flux subset
with its naive greedy costs, built once a session (the naive reference takes seconds at 1,500 concepts)."""

from __future__ import annotations

import numpy as np
import pytest

from fomo_order.similarity.reference import naive_greedy_costs
from tests.conftest import shared_path


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def with_duplicates(rng: np.random.Generator, distinct: int, n: int, dim: int) -> np.ndarray:
    """``n`` rows drawn from ``distinct`` vectors: many exact ties, in shuffled positions."""
    base = unit_rows(rng, distinct, dim)
    return base[rng.integers(0, distinct, size=n)]


@pytest.fixture(scope="session")
def fif_subset() -> np.ndarray:
    """1,500 rows of the MiniLM FoMo-in-Flux embeddings, including every exact duplicate of the file."""
    matrix = np.load(shared_path("fif", "minilm-embeddings.npy")).astype(np.float32)
    _, inverse, counts = np.unique(matrix, axis=0, return_inverse=True, return_counts=True)
    duplicated = np.flatnonzero(counts[inverse.ravel()] > 1)
    others = np.setdiff1d(np.arange(len(matrix)), duplicated)
    picked = np.sort(np.concatenate([duplicated, np.random.default_rng(7).choice(others, 1500 - len(duplicated))]))
    rows = matrix[picked]
    return (rows / np.linalg.norm(rows.astype(np.float64), axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="session")
def fif_naive_costs(fif_subset: np.ndarray) -> np.ndarray:
    return naive_greedy_costs(fif_subset)
