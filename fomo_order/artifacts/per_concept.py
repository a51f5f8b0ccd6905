"""Per-concept numbers in a file (counts, scores): matched to the catalog by concept id, each checked.

Concepts in the file but not in the catalog are ignored (a file made for a larger catalog serves a
selection of it); concepts of the catalog missing from the file are refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.errors import InputError

MAX_INTEGER = 2**63  # counts are int64 wherever they are kept


def concept_values(
    path: str | Path, data: Any, concept_ids: Sequence[str], what: str, *, non_negative: bool = False
) -> np.ndarray:
    """``data[concept]`` for every concept id, as float64; InputError naming ``path`` for what is wrong."""
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
            raise InputError(path, f"{what} of {cid!r} is not a number: {str(value)[:40]!r}")
        if isinstance(value, int) and not -MAX_INTEGER <= value < MAX_INTEGER:
            raise InputError(path, f"{what} of {cid!r} is out of range (at most 2^63 - 1): {str(value)[:24]}...")
        if not math.isfinite(value):
            raise InputError(path, f"{what} of {cid!r} is not finite: {value!r}")
        if non_negative and value < 0:
            raise InputError(path, f"{what} of {cid!r} is negative: {value!r}")
        values[position] = value
    return values
