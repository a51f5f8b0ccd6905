"""Frequency counts read from files (FREQS.json or a plain map), matched to the catalog by concept id."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fomo_order.artifacts.scores import values_for
from fomo_order.fileio import read_mapping_file


def read_counts(path: str | Path, concept_ids: Sequence[str]) -> np.ndarray:
    """Counts from ``fetch-frequencies`` output (``{"counts": {...}}``) or a plain JSON/YAML map."""
    data = read_mapping_file(path)
    if isinstance(data, dict) and isinstance(data.get("counts"), dict):
        data = data["counts"]
    return values_for(path, data, concept_ids, what="count")
