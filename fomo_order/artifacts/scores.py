"""Scores files: per-concept numbers for the performance ordering (higher = easier), as
``{"scores": {concept id: score}}`` with a ``.meta.json`` beside it, or a plain JSON/YAML map.

Scores are matched to a catalog by concept id: concepts in the file but not in the catalog are ignored (a
file made for a larger catalog serves a selection of it); concepts of the catalog missing from it are
refused (:mod:`fomo_order.artifacts.per_concept`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.artifacts.per_concept import concept_values
from fomo_order.artifacts.streams import emit
from fomo_order.fileio import read_mapping_file

SCORE_DIGITS = 6


def read_scores(path: str | Path, concept_ids: Sequence[str]) -> np.ndarray:
    """Per-concept scores from a JSON/YAML map, optionally under ``"scores"``, in ``concept_ids`` order."""
    data = read_mapping_file(path)
    if isinstance(data, dict) and isinstance(data.get("scores"), dict):
        data = data["scores"]
    return concept_values(path, data, concept_ids, "score")


def write_scores(out: str | Path, scores: Mapping[str, float], meta: dict[str, Any], check: bool = False) -> None:
    """``{"scores": {...}}`` rounded to SCORE_DIGITS decimals, and its meta."""
    emit(out, {"scores": {cid: round(float(s), SCORE_DIGITS) for cid, s in scores.items()}}, meta, check)
