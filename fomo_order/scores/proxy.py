"""Proxy per-concept scores for the performance (easy-to-hard) ordering when no reference model's
per-concept accuracy is at hand.

The paper orders concepts by a reference model's zero-shot accuracy. Without images, the text side
still says which classes a zero-shot classifier will confuse: a class whose caption embedding lies
close to another class of the same dataset is hard to tell apart. The *text margin* of a concept is
``1 - max cos(e_c, e_s)`` over its siblings ``s`` in the same dataset (1 for a dataset of one class):
higher = easier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.catalog import Catalog
from fomo_order.errors import ParameterError
from fomo_order.scores.result import ScoreResult


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


TEXT_MARGIN = "text margin: 1 - max cosine similarity to another class of the same dataset (higher = easier)"


def proxy_scores(
    catalog: Catalog, embeddings: np.ndarray | str | Path, *, argv: list[str] | None = None
) -> ScoreResult:
    """Text-margin scores of every concept (a stand-in for per-concept accuracy), with their meta.

    ``embeddings``: one row per catalog concept (catalog order), or an embeddings file (rows matched by
    concept id, recorded in the meta with its sidecar). ``argv``: the command line the meta records.
    ``result.write(path)`` writes the scores file (rounded to SCORE_DIGITS decimals) and its meta.
    """
    from fomo_order.artifacts.meta import input_record, make_meta

    inputs: dict[str, Any] = {"catalog": catalog.record()}
    if isinstance(embeddings, (str, Path)):
        from fomo_order.artifacts.embeddings import embeddings_for, sidecar_path

        vectors = embeddings_for(embeddings, catalog.concept_ids)  # validated before hashing: a FIFO would block
        inputs["embeddings"] = input_record(embeddings)
        inputs["embeddings_sidecar"] = input_record(sidecar_path(embeddings))
    else:
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(catalog):
            raise ParameterError("embeddings", f"expected {len(catalog)} rows (one per concept), got {vectors.shape}")
    scores = text_margin_scores(catalog, vectors)
    meta = make_meta("proxy-scores", argv=argv, inputs=inputs, score=TEXT_MARGIN, concepts=len(catalog))
    return ScoreResult(scores=dict(zip(catalog.concept_ids, (float(s) for s in scores), strict=True)), meta=meta)
