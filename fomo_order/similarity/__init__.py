"""Concept-similarity ordering: exact, fast search for the paper's best greedy nearest-neighbour path.

Importing this package needs numpy only; numba and torch load when a search runs.
"""

from pathlib import Path

from fomo_order._numba_cache import use_writable_cache

# numba (imported when a search runs) caches its kernels beside this package, or elsewhere when it cannot
use_writable_cache(Path(__file__).parent)

from fomo_order.similarity.reference import naive_greedy_all_starts  # noqa: E402
from fomo_order.similarity.search import (  # noqa: E402
    Refine,
    SimilarityPath,
    default_neighbours,
    greedy_start_costs,
    similarity_path,
)

__all__ = [
    "Refine",
    "SimilarityPath",
    "default_neighbours",
    "greedy_start_costs",
    "naive_greedy_all_starts",
    "similarity_path",
]
