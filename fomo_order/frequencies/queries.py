"""The query sent for each concept: its class name, or its dataset's query template, or an override.

A query template is a string with placeholders: ``{}`` is the class name; ``{words[a:b]}`` (or
``{words[i]}``) is a Python slice of the class name's whitespace-separated words, joined by spaces, e.g.
``"{words[-2:]}"`` keeps the last two words ("Animalia Chordata ... Lumbricus terrestris" -> "Lumbricus
terrestris"). An overrides file (``queries_file``) maps concept ids to queries and wins over templates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from pathlib import Path

from fomo_order.catalog import QUERY_PLACEHOLDER as PLACEHOLDER
from fomo_order.catalog import Catalog, concept_id, is_query_template
from fomo_order.errors import InputError
from fomo_order.fileio import read_mapping_file

__all__ = [
    "CaseMode",
    "build_queries",
    "case_variants",
    "is_query_template",
    "load_query_overrides",
    "query_templates",
    "render_query",
]


class CaseMode(str, Enum):
    """Which spellings of a query a case-sensitive source (infini-gram) counts."""

    exact = "exact"  # the query as written
    variants = "variants"  # every distinct spelling of :func:`case_variants`, counted together


def case_variants(query: str) -> list[str]:
    """The query as given, lower, Title and UPPER case, each distinct spelling once, in that order.

    Title capitalises each space-separated word (``king's cup`` -> ``King's Cup``, not ``str.title``'s
    ``King'S Cup``).
    """
    title = " ".join(word[:1].upper() + word[1:].lower() for word in query.split(" "))
    return list(dict.fromkeys((query, query.lower(), title, query.upper())))


def render_query(template: str, class_name: str) -> str:
    """``template`` with its placeholders filled from ``class_name``; whitespace collapsed."""
    words = class_name.split()

    def fill(match: re.Match[str]) -> str:
        if match.group(0) == "{}":
            return class_name
        start, colon, stop = match.groups()
        if colon is None:
            if start is None:
                return class_name
            position = int(start)
            return words[position] if -len(words) <= position < len(words) else ""
        return " ".join(words[slice(None if start is None else int(start), None if stop is None else int(stop))])

    return " ".join(PLACEHOLDER.sub(fill, template).split())


def build_queries(catalog: Catalog, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Concept id -> query, in catalog order."""
    overrides = overrides or {}
    queries: dict[str, str] = {}
    for dataset in catalog.datasets:
        for class_name in dataset.classes:
            concept = concept_id(dataset.name, class_name)
            query = overrides.get(concept)
            if query is None:
                query = render_query(dataset.query, class_name)
                if not query:
                    problem = f"query template {dataset.query!r} gives an empty query for {class_name!r}"
                    raise InputError(catalog.source, f"dataset {dataset.name!r}: {problem}")
            queries[concept] = query
    return queries


def query_templates(catalog: Catalog) -> dict[str, str]:
    return {dataset.name: dataset.query for dataset in catalog.datasets}


def load_query_overrides(path: str | Path, catalog: Catalog) -> dict[str, str]:
    """Read a query overrides file: a JSON/YAML map concept id -> query, every id in the catalog."""
    data = read_mapping_file(path)
    if not isinstance(data, dict):
        raise InputError(path, "expected a map of concept id ('<DATASET>+++<class name>') -> query")
    known = catalog.index_of
    unknown = [str(key) for key in data if key not in known]
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:3])
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        raise InputError(path, f"{len(unknown)} concept id(s) not in the catalog: {shown}{more}")
    overrides = {}
    for concept, query in data.items():
        if not isinstance(query, str) or not query.strip():
            raise InputError(path, f"query for {concept!r} must be a non-empty string")
        overrides[concept] = " ".join(query.split())
    return overrides
