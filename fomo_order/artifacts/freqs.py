"""FREQS.json, what ``fetch-frequencies`` writes and the frequency ordering and ``report`` read.

``{"meta": {...}, "queries": {concept id: query}, "counts": {concept id: integer}}``, both maps in catalog
order. ``meta`` has the one meta shape of every artifact (:func:`fomo_order.artifacts.meta.make_meta`:
``tool``, ``version``, ``command``, ``argv``, ``inputs``), then says where the counts come from and what
they count (``source``, ``index``, ``count``, ``counts_are``, the source's own facts, ``query_templates``,
``query_overrides``, ``concepts``, ``distinct_queries``). The bytes depend only on the inputs and the
counts, never on the order answers arrived in. Readers also take a plain JSON/YAML map concept id -> count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.artifacts.per_concept import concept_values
from fomo_order.fileio import check_texts, dumps_json, read_mapping_file, write_texts_atomic


def freqs_document(meta: Mapping[str, Any], queries: Mapping[str, str], counts: Mapping[str, int]) -> dict[str, Any]:
    """The document, counts in the order of ``queries`` (catalog order)."""
    return {"meta": dict(meta), "queries": dict(queries), "counts": {cid: int(counts[cid]) for cid in queries}}


def write_freqs(path: str | Path, document: Mapping[str, Any], check: bool = False) -> None:
    """Write ``document`` to ``path`` atomically; with ``check``, write nothing and raise CheckFailed
    (exit 1) when ``path`` is missing or differs from it."""
    files = {Path(path): dumps_json(document)}
    if check:
        check_texts(files)
    else:
        write_texts_atomic(files)


def read_freqs(path: str | Path) -> dict[str, Any]:
    """The whole document (``meta``, ``queries``, ``counts``) as written."""
    from fomo_order.errors import InputError

    data = read_mapping_file(path)
    if not isinstance(data, dict) or not isinstance(data.get("counts"), dict):
        raise InputError(path, "expected a FREQS.json document with a 'counts' map")
    return data


def read_counts(path: str | Path, concept_ids: Sequence[str]) -> np.ndarray:
    """Every concept's count from a FREQS.json (its ``"counts"``) or a plain JSON/YAML map, in the given order."""
    data = read_mapping_file(path)
    if isinstance(data, dict) and isinstance(data.get("counts"), dict):
        data = data["counts"]
    return concept_values(path, data, concept_ids, "count", non_negative=True)
