"""Scores files: per-concept numbers for the performance ordering (higher = easier), as
``{"scores": {concept id: score}}`` with a ``.meta.json`` beside it, or a plain JSON/YAML map.

Scores are matched to a catalog by concept id: concepts in the file but not in the catalog are ignored (a
file made for a larger catalog serves a selection of it); concepts of the catalog missing from it are
refused. Counts (FREQS.json) are read the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.artifacts.streams import emit
from fomo_order.errors import InputError
from fomo_order.fileio import read_mapping_file

SCORE_DIGITS = 6


def read_scores(path: str | Path, concept_ids: Sequence[str]) -> np.ndarray:
    """Per-concept scores from a JSON/YAML map, optionally under ``"scores"``, in ``concept_ids`` order."""
    data = read_mapping_file(path)
    if isinstance(data, dict) and isinstance(data.get("scores"), dict):
        data = data["scores"]
    return values_for(path, data, concept_ids, what="score")


def write_scores(out: str | Path, scores: Mapping[str, float], meta: dict[str, Any], check: bool = False) -> None:
    """``{"scores": {...}}`` rounded to SCORE_DIGITS decimals, and its meta."""
    emit(out, {"scores": {cid: round(float(s), SCORE_DIGITS) for cid, s in scores.items()}}, meta, check)


def values_for(path: str | Path, data: Any, concept_ids: Sequence[str], what: str) -> np.ndarray:
    """A map concept id -> number as an array in ``concept_ids`` order; errors name ``path``."""
    if not isinstance(data, dict):
        raise InputError(path, f"expected a map of concept id -> {what}")
    missing = [cid for cid in concept_ids if cid not in data]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:3])
        raise InputError(path, f"{what}s missing for {len(missing)} of {len(concept_ids)} concepts, e.g. {shown}")
    values = np.empty(len(concept_ids), dtype=np.float64)
    for position, cid in enumerate(concept_ids):
        value = data[cid]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(path, f"{what} of {cid!r} is not a number: {value!r}")
        if not math.isfinite(value):
            raise InputError(path, f"{what} of {cid!r} is not finite: {value!r}")
        if what == "count" and value < 0:
            raise InputError(path, f"count of {cid!r} is negative: {value!r}")
        values[position] = value
    return values
