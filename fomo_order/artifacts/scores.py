"""Scores files: per-concept numbers for the performance ordering (higher = easier), as
``{"scores": {concept id: score}}`` (``score`` adds ``"images": {concept id: images scored}``) with a
``.meta.json`` beside it, or a plain JSON/YAML map.

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
from fomo_order.artifacts.result import Prepared
from fomo_order.artifacts.streams import meta_path
from fomo_order.fileio import dumps_json, read_mapping_file

SCORE_DIGITS = 6


def read_scores(path: str | Path, concept_ids: Sequence[str]) -> np.ndarray:
    """Per-concept scores from a JSON/YAML map, optionally under ``"scores"``, in ``concept_ids`` order."""
    data = read_mapping_file(path)
    if isinstance(data, dict) and isinstance(data.get("scores"), dict):
        data = data["scores"]
    return concept_values(path, data, concept_ids, "score")


def scores_files(
    path: Path,
    scores: Mapping[str, float],
    meta: dict[str, Any],
    *,
    images: Mapping[str, int] | None = None,
    digits: int | None = SCORE_DIGITS,
) -> dict[Path, bytes]:
    """The bytes of a scores file and its meta: scores rounded to ``digits`` decimals (None: as they are)."""
    values = {cid: float(s) if digits is None else round(float(s), digits) for cid, s in scores.items()}
    payload: dict[str, Any] = {"scores": values}
    if images is not None:
        payload["images"] = {cid: int(n) for cid, n in images.items()}
    return {path: dumps_json(payload).encode("utf-8"), meta_path(path): dumps_json(meta).encode("utf-8")}


def write_scores(out: str | Path, scores: Mapping[str, float], meta: dict[str, Any], check: bool = False) -> None:
    """``{"scores": {...}}`` rounded to SCORE_DIGITS decimals, and its meta."""
    Prepared(lambda path: scores_files(path, scores, meta), meta).write(out, check=check)
