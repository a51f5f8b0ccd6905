"""Proxy per-concept scores for the performance (easy-to-hard) ordering when no reference model's
per-concept accuracy is at hand.

The paper orders concepts by a reference model's zero-shot accuracy. Without images, the text side
still says which classes a zero-shot classifier will confuse: a class whose caption embedding lies
close to another class of the same dataset is hard to tell apart. The *text margin* of a concept is
``1 - max cos(e_c, e_s)`` over its siblings ``s`` in the same dataset (1 for a dataset of one class):
higher = easier.
"""

from __future__ import annotations

import numpy as np

from fomo_order.catalog import Catalog


def text_margin_scores(catalog: Catalog, embeddings: np.ndarray) -> np.ndarray:
    """Text margin of every concept, in catalog order (``embeddings``: unit rows in catalog order)."""
    scores = np.ones(len(catalog), dtype=np.float64)
    dataset_of_concept = catalog.dataset_of_concept
    for dataset in range(len(catalog.datasets)):
        rows = np.flatnonzero(dataset_of_concept == dataset)
        if len(rows) < 2:
            continue
        vectors = embeddings[rows].astype(np.float64)
        similarity = vectors @ vectors.T
        np.fill_diagonal(similarity, -np.inf)
        scores[rows] = 1.0 - similarity.max(axis=1)
    return scores
