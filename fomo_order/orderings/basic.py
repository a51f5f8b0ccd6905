"""The orderings that need no model: performance, frequency, time, dataset and random.

Ties (equal counts or scores) are broken by a seeded random permutation drawn first from the
generator, so equal concepts appear in an order that depends only on the seed.
"""

from __future__ import annotations

import numpy as np

from fomo_order.catalog import Catalog
from fomo_order.errors import InputError
from fomo_order.orderings.registry import register

WITHIN_YEAR_MODES = ("shuffle", "by-dataset")


@register("performance", "easy to hard: highest per-concept score first", requires=("scores",))
def performance_order(catalog: Catalog, rng: np.random.Generator, scores: np.ndarray) -> np.ndarray:
    tiebreak = rng.permutation(len(catalog))
    return np.lexsort((tiebreak, -scores))


@register("frequency", "long tail first: least frequent concept first", requires=("counts",))
def frequency_order(catalog: Catalog, rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    tiebreak = rng.permutation(len(catalog))
    return np.lexsort((tiebreak, counts))


@register("time", "by dataset release year, oldest first", options=("within_year",))
def time_order(catalog: Catalog, rng: np.random.Generator, within_year: str = "shuffle") -> np.ndarray:
    missing = catalog.datasets_without_year()
    if missing:
        raise InputError(
            catalog.source,
            f"the time ordering needs a year for every dataset; {len(missing)} without one: "
            f"{', '.join(missing)} (add 'year' to the catalog or pass --years FILE)",
        )
    if within_year not in WITHIN_YEAR_MODES:
        raise InputError("--within-year", f"must be one of {', '.join(WITHIN_YEAR_MODES)}, got {within_year!r}")
    years = np.array([d.year for d in catalog.datasets])
    dataset_of_concept = catalog.dataset_of_concept
    parts = []
    for year in np.unique(years):
        datasets_in_year = np.flatnonzero(years == year)
        if within_year == "shuffle":
            concepts = np.flatnonzero(np.isin(dataset_of_concept, datasets_in_year))
            parts.append(rng.permutation(concepts))
        else:
            parts.extend(np.flatnonzero(dataset_of_concept == d) for d in rng.permutation(datasets_in_year))
    return np.concatenate(parts)


@register("dataset", "dataset-incremental: datasets in seeded random order, each contiguous")
def dataset_order(catalog: Catalog, rng: np.random.Generator) -> np.ndarray:
    dataset_of_concept = catalog.dataset_of_concept
    return np.concatenate([np.flatnonzero(dataset_of_concept == d) for d in rng.permutation(len(catalog.datasets))])


@register("random", "all concepts shuffled")
def random_order(catalog: Catalog, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(len(catalog))
