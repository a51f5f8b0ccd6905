"""FREQS.json, what ``fetch-frequencies`` writes and the frequency ordering and ``report`` read.

``{"meta": {...}, "queries": {concept id: query}, "counts": {concept id: integer}}``, both maps in catalog
order. ``meta`` has the one meta shape of every artifact (:func:`fomo_order.artifacts.meta.make_meta`:
``tool``, ``version``, ``command``, ``argv``, ``inputs``), then says where the counts come from and what
they count (``source``, ``index``, ``count``, ``counts_are``, the source's own facts, ``query_templates``,
``query_overrides``, ``concepts``, ``distinct_queries``). The bytes depend only on the inputs and the
counts, never on the order answers arrived in. Readers also take a plain JSON/YAML map concept id -> count.

A count is a non-negative integer below 2^63 (:func:`count_problem`), wherever it comes from: a server, the
count cache or a file. Nothing else is ever written as one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.artifacts.per_concept import concept_values
from fomo_order.errors import InputError
from fomo_order.fileio import atomic_path, check_texts, dumps_json, read_mapping_file

# Counts are stored as SQLite integers (signed 64-bit) and read as exact integers: 2^63 and above do not fit.
COUNT_LIMIT = 2**63


def count_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a count (``"is negative: -7"``), or None for a non-negative int below 2^63.

    Never prints a huge integer whole (its text can be thousands of digits, or too long for ``str`` at all).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return f"is not an integer: {_short_repr(value)}"
    if value < 0:
        return f"is negative: {_describe_int(value)}"
    if value >= COUNT_LIMIT:
        return f"is 2^63 or more: {_describe_int(value)}"
    return None


def _describe_int(value: int) -> str:
    if abs(value) < 10**30:
        return str(value)
    size = abs(value)
    digits = int((size.bit_length() - 1) * math.log10(2)) + 1  # never more than the true number of digits
    while size >= 10**digits:
        digits += 1
    return f"{'a negative' if value < 0 else 'an'} integer of {digits} digits"


def _short_repr(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) else _describe_int(value)
    return text if len(text) <= 60 else text[:57] + "..."


def freqs_document(meta: Mapping[str, Any], queries: Mapping[str, str], counts: Mapping[str, int]) -> dict[str, Any]:
    """The document, counts in the order of ``queries`` (catalog order).

    Integral floats become ints; anything else that is not a count is a ValueError (callers check counts
    where they enter: this is the last guard before a file holds them).
    """
    checked: dict[str, int] = {}
    for cid in queries:
        value = counts[cid]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        problem = count_problem(value)
        if problem:
            raise ValueError(f"count of {cid!r} {problem}")
        checked[cid] = value
    return {"meta": dict(meta), "queries": dict(queries), "counts": checked}


def write_freqs(path: str | Path, document: Mapping[str, Any], check: bool = False) -> None:
    """Write ``document`` to ``path`` atomically; with ``check``, write nothing and raise CheckFailed
    (exit 1) when ``path`` is missing or differs from it.

    A failed write (disk full, file too large, no permission, ``path`` a directory) is an InputError naming
    ``path``, and leaves neither a temporary file nor a changed ``path``.
    """
    path = Path(path)
    text = dumps_json(document)
    if check:
        check_texts({path: text})
        return
    data = text.encode("utf-8")
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise InputError(path, f"cannot write: {exc.strerror or exc}") from None


def output_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be written, when that can be told before the work (a directory, a parent that is a
    file or not writable); None when it looks writable. Disk space is only known by writing."""
    path = Path(path)
    if path.is_dir():
        return "is a directory, expected a file"
    parent = path.parent if str(path.parent) else Path(".")
    existing = parent
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot write: {existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write: no permission to write in {existing}"
    return None


def read_freqs(path: str | Path) -> dict[str, Any]:
    """The whole document (``meta``, ``queries``, ``counts``) as written."""
    data = read_mapping_file(path)
    if not isinstance(data, dict) or not isinstance(data.get("counts"), dict):
        raise InputError(path, "expected a FREQS.json document with a 'counts' map")
    return data


def read_counts(path: str | Path, concept_ids: Sequence[str]) -> np.ndarray:
    """Every concept's count from a FREQS.json (its ``"counts"``) or a plain JSON/YAML map, in the given order."""
    data = read_mapping_file(path)
    if isinstance(data, dict) and isinstance(data.get("counts"), dict):
        data = data["counts"]
    if isinstance(data, dict):
        for cid in concept_ids:
            value = data.get(cid)
            if isinstance(value, float) and math.isfinite(value):
                if not value.is_integer():
                    raise InputError(path, f"count of {cid!r} is not a whole number: {value!r}")
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool) and count_problem(value):
                raise InputError(path, f"count of {cid!r} {count_problem(value)}")
    return concept_values(path, data, concept_ids, "count", non_negative=True)
