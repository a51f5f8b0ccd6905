"""Captions of concepts and CLIP prompt ensembling: pure functions over strings and arrays."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np

from fomo_order.catalog import Catalog


def concept_captions(catalog: Catalog) -> list[list[str]]:
    """One list per concept (catalog order): its dataset's templates filled with its class name."""
    return [dataset.captions(class_name) for dataset in catalog.datasets for class_name in dataset.classes]


def unique_captions(per_concept: Sequence[Sequence[str]]) -> tuple[list[str], list[np.ndarray]]:
    """Distinct captions in order of first use, and for every concept the rows of its captions.

    Datasets share templates and class names ("A photo of a cat."), so each caption is embedded once.
    """
    row_of: dict[str, int] = {}
    rows_per_concept = []
    for captions in per_concept:
        rows_per_concept.append(np.array([row_of.setdefault(c, len(row_of)) for c in captions], dtype=np.int64))
    return list(row_of), rows_per_concept


def caption_digest(caption: str) -> bytes:
    """The cache key of a caption (under one model's cache directory)."""
    return hashlib.sha256(caption.encode("utf-8")).digest()


def captions_sha256(per_concept: Sequence[Sequence[str]]) -> str:
    """Digest of every concept's captions, in order: the text that was embedded."""
    text = json.dumps([list(c) for c in per_concept], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ensemble(caption_vectors: np.ndarray, rows_per_concept: Sequence[np.ndarray]) -> np.ndarray:
    """CLIP prompt ensembling: L2-normalise every caption vector, average a concept's, L2-normalise.

    Works in float64 and row by row in effect (no reduction spans concepts), so a concept's vector
    depends only on its own captions' vectors. Returns float32, one unit row per concept.
    """
    vectors = np.asarray(caption_vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if not np.isfinite(vectors).all() or (norms == 0).any():
        raise ValueError("the model produced a NaN, infinite or zero caption vector")
    unit = vectors / norms
    result = np.empty((len(rows_per_concept), vectors.shape[1]), dtype=np.float64)
    # Concepts with the same number of captions are averaged together (one fancy-index per count).
    counts = np.array([len(rows) for rows in rows_per_concept])
    for count in np.unique(counts):
        members = np.flatnonzero(counts == count)
        rows = np.stack([rows_per_concept[int(i)] for i in members])
        result[members] = unit[rows].sum(axis=1) / count
    result /= np.linalg.norm(result, axis=1, keepdims=True)
    return result.astype(np.float32)
