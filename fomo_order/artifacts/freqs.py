"""FREQS.json, what ``fetch-frequencies`` writes and the frequency ordering and ``report`` read.

One flat JSON object: first the meta keys every artifact starts with (:func:`fomo_order.artifacts.meta.make_meta`:
``tool``, ``version``, ``command``, ``argv``, ``inputs``, as in stream metas), then where the counts come from
and what they count (``source``, ``index``, ``count``, ``counts_are``, the source's own facts,
``query_templates``, ``query_overrides``, ``concepts``, ``distinct_queries``), then ``queries`` (concept id ->
query) and ``counts`` (concept id -> integer), both in catalog order. The bytes depend only on the inputs and
the counts, never on the order answers arrived in. (Earlier files kept the meta under ``"meta"``;
:func:`read_frequencies` still reads their counts, which sit at the same place.)

:func:`read_frequencies` is the one reader: it also takes a plain JSON/YAML map concept id -> count, and
``-`` for standard input.

A count is a non-negative integer below 2^63 (:func:`count_problem`), wherever it comes from: a server, the
count cache or a file. Nothing else is ever written as one.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.artifacts.per_concept import concept_values
from fomo_order.errors import InputError
from fomo_order.fileio import read_mapping_file

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


DOCUMENT_MAPS = ("queries", "counts")  # the keys after the meta, in this order
STDIN = "-"


def freqs_document(meta: Mapping[str, Any], queries: Mapping[str, str], counts: Mapping[str, int]) -> dict[str, Any]:
    """The document: ``meta``'s keys, then ``queries`` and ``counts``, counts in the order of ``queries``.

    Integral floats become ints; anything else that is not a count is a ValueError (callers check counts
    where they enter: this is the last guard before a file holds them).
    """
    clash = [key for key in DOCUMENT_MAPS if key in meta]
    if clash:
        raise ValueError(f"meta key {clash[0]!r} would hide the document's own {clash[0]!r}")
    checked: dict[str, int] = {}
    for cid in queries:
        value: Any = counts[cid]  # the guard: a caller's count may be a float or no number at all
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        problem = count_problem(value)
        if problem:
            raise ValueError(f"count of {cid!r} {problem}")
        checked[cid] = value
    return {**meta, "queries": dict(queries), "counts": checked}


def output_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be written, when that can be told before the work (a directory, a parent that is a
    file or not writable); None when it looks writable (and for ``-``, standard output). Disk space is only
    known by writing."""
    if str(path) == STDIN:
        return None
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


def read_frequencies(path: str | Path, concept_ids: Sequence[str]) -> np.ndarray:
    """Every concept's count, in the order of ``concept_ids`` (catalog order), as float64.

    ``path`` is a FREQS.json (its ``"counts"``) or a plain JSON/YAML map concept id -> count; ``-`` reads
    standard input. Concepts in the file but not in ``concept_ids`` are ignored; a missing concept, or a
    value that is not a count, is an InputError naming the file.
    """
    data = _read_stdin() if str(path) == STDIN else read_mapping_file(path)
    where = "standard input" if str(path) == STDIN else path
    if isinstance(data, dict) and isinstance(data.get("counts"), dict):
        data = data["counts"]
    if isinstance(data, dict):
        for cid in concept_ids:
            value = data.get(cid)
            if isinstance(value, float) and math.isfinite(value):
                if not value.is_integer():
                    raise InputError(where, f"count of {cid!r} is not a whole number: {value!r}")
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool) and count_problem(value):
                raise InputError(where, f"count of {cid!r} {count_problem(value)}")
    return concept_values(where, data, concept_ids, "count", non_negative=True)


def _read_stdin() -> Any:
    """Standard input as JSON, else YAML (a plain map), with errors naming standard input."""
    import yaml

    try:
        text = sys.stdin.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("standard input", f"unreadable: {exc}") from None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError):
        pass
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise InputError("standard input", f"neither JSON nor YAML: {str(exc).splitlines()[0][:120]}") from None
