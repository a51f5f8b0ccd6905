"""Concept-similarity ordering: exact, fast search for the paper's best greedy nearest-neighbour path.

Importing this package needs numpy only; numba and torch load when a search runs.
"""

from fomo_order.similarity.reference import naive_greedy_all_starts
from fomo_order.similarity.search import (
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
