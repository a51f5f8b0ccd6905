"""The orderings that need no model: performance, frequency, time, dataset and random.

Ties (equal counts or scores) are broken by a seeded random permutation drawn first from the
generator, so equal concepts appear in an order that depends only on the seed. When one value is shared
by more than :data:`TIE_WARNING_FRACTION` of the concepts, that part of the stream is random rather than
ordered by the input: the result's details record it (``ties``) so that callers can warn.
"""

from __future__ import annotations

import numpy as np

from fomo_order.catalog import Catalog
from fomo_order.choices import Choice, parse_choice
from fomo_order.errors import InputError
from fomo_order.orderings.registry import OrderResult, register


# time: concepts of a year shuffled together (FoMo-in-Flux's time_incremental_rsagg streams); each dataset
# contiguous in catalog order with its concepts shuffled (time_incremental_dschunked); each dataset
# contiguous, the datasets of a year in seeded order and their concepts in catalog order.
class WithinYear(Choice):
    SHUFFLE = "shuffle"
    BY_DATASET = "by-dataset"
    BY_DATASET_SHUFFLED = "by-dataset-shuffled"


TIE_WARNING_FRACTION = 0.05


def tie_details(values: np.ndarray) -> dict:
    """``{"ties": {...}}`` when one value is shared by more than TIE_WARNING_FRACTION of the concepts."""
    distinct, counts = np.unique(values, return_counts=True)
    most = int(np.argmax(counts))
    fraction = float(counts[most]) / len(values)
    if counts[most] < 2 or fraction <= TIE_WARNING_FRACTION:
        return {}
    value = distinct[most].item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # counts are read as floats; 0, not 0.0
    return {"ties": {"value": value, "concepts": int(counts[most]), "fraction": round(fraction, 4)}}


@register("performance", "easy to hard: highest per-concept score first", requires=("scores",))
def performance_order(catalog: Catalog, rng: np.random.Generator, scores: np.ndarray) -> OrderResult:
    tiebreak = rng.permutation(len(catalog))
    return OrderResult(order=np.lexsort((tiebreak, -scores)), details=tie_details(scores))


@register("frequency", "long tail first: least frequent concept first", requires=("frequencies",))
def frequency_order(catalog: Catalog, rng: np.random.Generator, frequencies: np.ndarray) -> OrderResult:
    tiebreak = rng.permutation(len(catalog))
    return OrderResult(order=np.lexsort((tiebreak, frequencies)), details=tie_details(frequencies))


@register("time", "by dataset release year, oldest first", options=("within_year",))
def time_order(
    catalog: Catalog, rng: np.random.Generator, within_year: str | WithinYear = WithinYear.SHUFFLE
) -> np.ndarray:
    missing = catalog.datasets_without_year()
    if missing:
        raise InputError(
            catalog.source,
            f"the time ordering needs a year for every dataset; {len(missing)} without one: "
            f"{', '.join(missing)} (add 'year' to the catalog or give a years file)",
        )
    within_year = parse_choice(WithinYear, within_year, "within_year")
    years = np.array([d.year for d in catalog.datasets])
    dataset_of_concept = catalog.dataset_of_concept
    parts = []
    for year in np.unique(years):
        datasets_in_year = np.flatnonzero(years == year)
        if within_year is WithinYear.SHUFFLE:
            concepts = np.flatnonzero(np.isin(dataset_of_concept, datasets_in_year))
            parts.append(rng.permutation(concepts))
        elif within_year is WithinYear.BY_DATASET:
            parts.extend(rng.permutation(np.flatnonzero(dataset_of_concept == d)) for d in datasets_in_year)
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
