"""The concept catalog: datasets, their class names, years, caption templates and query templates.

Two sources are read: a catalog file (YAML or JSON) and a directory of FoMo-in-Flux dataset lists
(``<DATASET>.json``, each a JSON list of ``"<DATASET>+++<class name>"``). Both are validated here, once,
so that everything downstream can trust a :class:`Catalog`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.errors import InputError, ParameterError
from fomo_order.fileio import read_json, read_mapping_file, read_text, repeated, sha256_bytes, sha256_file, shorten

SEPARATOR = "+++"
DEFAULT_TEMPLATE = "A photo of a {}."
DEFAULT_QUERY = "{}"
# A query template names the class name as ``{}`` or a slice of its words, ``{words[a:b]}`` / ``{words[i]}``
# (e.g. "{words[-2:]}": the species of a long taxonomic string); see fomo_order.frequencies.queries.
QUERY_PLACEHOLDER = re.compile(r"\{\}|\{words\[(-?\d+)?(:)?(-?\d+)?\]\}")
# C0 and C1 controls, DEL, and the line/paragraph separators (U+2028/U+2029): none can be part of an id.
# A regex: checked for every one of 18,381 names.
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
SURROGATE = re.compile("[\ud800-\udfff]")  # a lone surrogate (JSON's "\\ud800", a non-UTF-8 file name)
# Plausible years of a dataset (the time ordering sorts by them): a typo such as -5 or 20100 is refused.
YEAR_RANGE = (1800, 2200)
DATASET_KEYS = {"name", "year", "template", "templates", "query", "classes", "classes_file"}


def is_query_template(template: str) -> bool:
    """Whether ``template`` names the class name at least once (``{}`` or ``{words[...]}``)."""
    return bool(QUERY_PLACEHOLDER.search(template))


def check_text(text: str, source: str | Path, what: str) -> None:
    """``text`` (a name, class name or template) holds no control character (NUL, CR, LF, tab, U+0085,
    U+2028, ...) and is valid Unicode (no lone surrogate, which no UTF-8 file can hold)."""
    bad = CONTROL_CHARACTER.search(text)
    if bad is not None:
        raise InputError(source, f"{what} {shorten(repr(text))} holds the control character {bad.group()!r}")
    bad = SURROGATE.search(text)
    if bad is not None:
        raise InputError(source, f"{what} {shorten(repr(text))} is not valid Unicode (a lone surrogate)")


def check_class_name(name: str, source: str | Path, where: str) -> None:
    """A class name holds no control character (NUL, CR, LF, ...) and is valid Unicode text.

    This also stops a file that is not a class list (``/proc/self/environ``, a binary) from being read
    in as class names and sent to a count server.
    """
    check_text(name, source, f"{where}: class name")


def dataset_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a dataset name, or None.

    A concept id is ``<dataset>+++<class name>`` and is split at its first ``+++``; class names may hold
    ``+`` (even begin with it), so a dataset name must neither contain ``+++`` nor end with ``+``
    (``A+`` with class ``x`` would make ``A++++x``, which reads back as dataset ``A``, class ``+x``).
    """
    if not name.strip():
        return "is empty"
    if SEPARATOR in name:
        return f"cannot contain '{SEPARATOR}'"
    if name.endswith("+"):
        return f"cannot end with '+' (its concept ids would split at the wrong '{SEPARATOR}')"
    return None


def check_dataset_name(name: str, source: str | Path, what: str) -> None:
    check_text(name, source, what)
    problem = dataset_name_problem(name)
    if problem is not None:
        raise InputError(source, f"{what} {shorten(repr(name))} {problem}")


def concept_id(dataset: str, class_name: str) -> str:
    return f"{dataset}{SEPARATOR}{class_name}"


def dataset_of(concept: str) -> str:
    """The dataset part of a concept id ``"<dataset>+++<class name>"`` (the id as a whole when it has no '+++')."""
    return concept.split(SEPARATOR, 1)[0]


def class_name_of(concept: str) -> str:
    """The class-name part of a concept id ``"<dataset>+++<class name>"``."""
    return concept.split(SEPARATOR, 1)[-1]


def split_concept_id(value: str, source: str | Path) -> tuple[str, str]:
    """Split ``"<dataset>+++<class name>"`` into its two parts, or raise naming ``source``."""
    parts = value.split(SEPARATOR)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise InputError(
            source, f"concept id {shorten(repr(value))} does not split into one dataset and one class name at '+++'"
        )
    check_text(value, source, "concept id")
    return parts[0], parts[1]


@dataclass(frozen=True)
class Dataset:
    name: str
    classes: tuple[str, ...]
    year: int | None = None
    templates: tuple[str, ...] = (DEFAULT_TEMPLATE,)
    query: str = DEFAULT_QUERY
    # Whether the templates were written (catalog entry or templates file), rather than left at the default
    # (a written "A photo of a {}." is not the default, though its text is the same).
    templates_given: bool = field(default=False, compare=False)

    def __repr__(self) -> str:
        year = "" if self.year is None else f", {self.year}"
        return f"Dataset({self.name!r}: {len(self.classes):,} classes{year})"

    def captions(self, class_name: str) -> list[str]:
        return [template.replace("{}", class_name) for template in self.templates]


@dataclass(frozen=True)
class Catalog:
    """Datasets in catalog order; concepts are numbered 0..N-1 through the datasets in that order."""

    datasets: tuple[Dataset, ...]
    source: str = "<catalog>"
    # Every file the catalog was read from, with its sha256, for the provenance in meta files.
    files: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    # The datasets a selection kept (None: the whole catalog), recorded in meta files as `datasets`.
    selected: tuple[str, ...] | None = field(default=None, compare=False)

    @cached_property
    def concept_ids(self) -> list[str]:
        return [concept_id(d.name, c) for d in self.datasets for c in d.classes]

    @cached_property
    def class_names(self) -> list[str]:
        return [c for d in self.datasets for c in d.classes]

    @cached_property
    def dataset_of_concept(self) -> np.ndarray:
        """Index into ``datasets`` of every concept."""
        sizes = [len(d.classes) for d in self.datasets]
        return np.repeat(np.arange(len(self.datasets), dtype=np.int64), sizes)

    @cached_property
    def index_of(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self.concept_ids)}

    def __len__(self) -> int:
        return len(self.concept_ids)

    def __repr__(self) -> str:
        return f"Catalog({self.source!r}: {len(self.datasets)} datasets, {len(self):,} concepts, {self._years()})"

    def _years(self) -> str:
        years = sorted({d.year for d in self.datasets if d.year is not None})
        missing = len(self.datasets_without_year())
        span = "no years" if not years else str(years[0]) if len(years) == 1 else f"years {years[0]}-{years[-1]}"
        return span + (f" ({missing} without a year)" if missing and years else "")

    def _repr_html_(self) -> str:
        """A notebook's view: one row per dataset (concepts, year, caption template)."""
        rows = "".join(
            f"<tr><td>{html.escape(d.name)}</td><td style='text-align:right'>{len(d.classes):,}</td>"
            f"<td>{'' if d.year is None else d.year}</td><td>{html.escape(' | '.join(d.templates))}</td></tr>"
            for d in self.datasets
        )
        caption = html.escape(f"{self.source}: {len(self.datasets)} datasets, {len(self):,} concepts, {self._years()}")
        return (f"<table><caption>{caption}</caption><tr><th>dataset</th><th>concepts</th><th>year</th>"
                f"<th>template</th></tr>{rows}</table>")

    @property
    def dataset_names(self) -> list[str]:
        return [d.name for d in self.datasets]

    def sha256(self) -> str:
        """Digest of the catalog's contents as read (datasets, classes, years, templates, queries)."""
        lines = []
        for d in self.datasets:
            lines.append(repr((d.name, d.year, d.templates, d.query, d.classes)))
        return sha256_bytes("\n".join(lines).encode("utf-8"))

    def select(self, names: Sequence[str]) -> Catalog:
        """Keep only the named datasets, in catalog order."""
        known = {d.name for d in self.datasets}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ParameterError(
                "datasets", f"unknown dataset(s) {', '.join(unknown)} (catalog {self.source} has {len(known)})"
            )
        wanted = set(names)
        return replace(self, datasets=tuple(d for d in self.datasets if d.name in wanted), selected=tuple(names))

    def record(self) -> dict[str, Any]:
        """The catalog as a meta file's input: path, content sha256, and every file it was read from."""
        return {
            "path": self.source,
            "sha256": self.sha256(),
            "files": [{"path": path, "sha256": digest} for path, digest in self.files],
        }

    def with_years(self, years: Mapping[str, int]) -> Catalog:
        return replace(self, datasets=tuple(replace(d, year=years.get(d.name, d.year)) for d in self.datasets))

    def with_templates(self, templates: Mapping[str, tuple[str, ...]]) -> Catalog:
        return replace(
            self,
            datasets=tuple(
                replace(d, templates=templates[d.name], templates_given=True) if d.name in templates else d
                for d in self.datasets
            ),
        )

    def datasets_without_year(self) -> list[str]:
        return [d.name for d in self.datasets if d.year is None]


def summarize(catalog: Catalog) -> dict[str, Any]:
    """What ``fomo-order catalog`` shows: each dataset, and what is missing for which ordering."""
    rows = [
        {
            "name": d.name,
            "concepts": len(d.classes),
            "year": d.year,
            "templates": list(d.templates),
            "default_template": not d.templates_given,
            "query": d.query,
        }
        for d in catalog.datasets
    ]
    missing = {}
    without_year = catalog.datasets_without_year()
    if without_year:
        missing["time"] = without_year
    notes = []
    defaults = [row["name"] for row in rows if row["default_template"]]
    if defaults:
        notes.append(
            f"similarity: {len(defaults)} dataset(s) use the default caption template {DEFAULT_TEMPLATE!r}"
        )
    return {"source": catalog.source, "concepts": len(catalog), "datasets": rows, "missing": missing, "notes": notes}


def load_catalog(
    path: str | Path,
    years: str | Path | None = None,
    templates: str | Path | None = None,
    datasets: Sequence[str] | None = None,
) -> Catalog:
    """Load and validate a catalog file or dataset-list directory, then apply overrides and selection."""
    path = Path(path)
    if path.is_dir():
        catalog = _load_directory(path)
    elif path.exists():
        catalog = _load_catalog_file(path)
    else:
        raise InputError(path, "catalog not found (expected a catalog file or a directory of <DATASET>.json lists)")
    files = list(catalog.files)
    if years is not None:
        catalog = catalog.with_years(load_years(years))
        files.append((str(years), sha256_file(years)))
    if templates is not None:
        catalog = catalog.with_templates(load_templates(templates))
        files.append((str(templates), sha256_file(templates)))
    if datasets:
        catalog = catalog.select(datasets)
    catalog = replace(catalog, files=tuple(files))
    _check_unique(catalog)
    return catalog


def load_years(path: str | Path) -> dict[str, int]:
    data = read_mapping_file(path)
    if not isinstance(data, dict):
        raise InputError(path, "expected a map of dataset name -> year")
    years = {}
    for name, year in data.items():
        years[str(name)] = _year(year, path, f"year of {shorten(repr(name))}")
    return years


def load_templates(path: str | Path) -> dict[str, tuple[str, ...]]:
    data = read_mapping_file(path)
    if not isinstance(data, dict):
        raise InputError(path, "expected a map of dataset name -> caption template (or list of templates)")
    return {str(name): _templates(value, path, f"template of {shorten(repr(name))}") for name, value in data.items()}


def _year(value: Any, source: str | Path, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(source, f"{what} must be an integer year, got {shorten(repr(value))}")
    low, high = YEAR_RANGE
    if not low <= value <= high:
        raise InputError(source, f"{what} {shorten(str(value))} is not a plausible year ({low}..{high})")
    return value


def _templates(value: Any, source: str | Path, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(t, str) for t in items):
        raise InputError(source, f"{what} must be a string or a non-empty list of strings")
    for template in items:
        check_text(template, source, what)
        if "{}" not in template:
            raise InputError(source, f"{what} {shorten(repr(template))} has no '{{}}' for the class name")
    return tuple(items)


def _load_directory(directory: Path) -> Catalog:
    list_files = sorted(p for p in directory.iterdir() if p.suffix == ".json")
    for list_file in list_files:  # nothing is skipped silently: a dataset would go missing from the stream
        if list_file.is_symlink() and not list_file.exists():
            raise InputError(list_file, "is a dangling or looping symbolic link")
        if not list_file.is_file():
            raise InputError(list_file, "is not a regular file")
        check_dataset_name(list_file.stem, list_file, "dataset name (the file name)")
    if not list_files:
        raise InputError(directory, "directory holds no <DATASET>.json dataset lists")
    result = []
    files = []
    for list_file in list_files:
        name = list_file.stem
        classes = _classes_from_json_list(list_file, name)
        result.append(Dataset(name=name, classes=classes))
        files.append((str(list_file), sha256_file(list_file)))
    return Catalog(datasets=tuple(result), source=str(directory), files=tuple(files))


def _classes_from_json_list(path: Path, dataset: str) -> tuple[str, ...]:
    """A FoMo-in-Flux list holds concept ids; plain class names (no '+++') are accepted too."""
    data = read_json(path)
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        raise InputError(path, "expected a JSON list of strings (concept ids '<DATASET>+++<class name>')")
    classes: list[str] = []
    for item in data:
        if SEPARATOR in item:
            item_dataset, class_name = split_concept_id(item, path)
            if item_dataset != dataset:
                raise InputError(
                    path,
                    f"concept id {shorten(repr(item))} names dataset {shorten(repr(item_dataset))}, "
                    f"expected {shorten(repr(dataset))}",
                )
        else:
            class_name = item
        if not class_name.strip():
            raise InputError(path, "empty class name")
        check_class_name(class_name, path, f"item {len(classes) + 1}")
        classes.append(class_name)
    if not classes:
        raise InputError(path, f"dataset {dataset!r} is empty")
    return tuple(classes)


def _classes_from_text(path: Path, dataset: str) -> tuple[str, ...]:
    # split on newlines only: any other control character in a line is an error, not a line break
    lines = [line.rstrip("\r").strip(" \t") for line in read_text(path).split("\n")]
    for number, line in enumerate(lines, start=1):
        if line:
            check_class_name(line, path, f"line {number}")
    classes = tuple(line for line in lines if line)
    for class_name in classes:
        if SEPARATOR in class_name:
            raise InputError(path, f"class name {shorten(repr(class_name))} contains '+++'")
    if not classes:
        raise InputError(path, f"dataset {dataset!r} is empty")
    return classes


def _load_catalog_file(path: Path) -> Catalog:
    data = read_mapping_file(path)
    entries = data.get("datasets") if isinstance(data, dict) else data
    if isinstance(data, dict) and set(data) - {"datasets"}:
        raise InputError(path, f"unknown top-level key(s): {', '.join(sorted(map(str, set(data) - {'datasets'})))}")
    if not isinstance(entries, list) or not entries:
        raise InputError(path, "expected 'datasets': a non-empty list of datasets")
    files = [(str(path), sha256_file(path))]
    result = []
    for position, entry in enumerate(entries):
        dataset, class_file = _parse_dataset_entry(entry, position, path)
        result.append(dataset)
        if class_file is not None:
            files.append((str(class_file), sha256_file(class_file)))
    return Catalog(datasets=tuple(result), source=str(path), files=tuple(files))


def _parse_dataset_entry(entry: Any, position: int, path: Path) -> tuple[Dataset, Path | None]:
    where = f"datasets[{position}]"
    if not isinstance(entry, dict):
        raise InputError(path, f"{where} must be a mapping with 'name' and 'classes' or 'classes_file'")
    unknown = sorted(map(str, set(entry) - DATASET_KEYS))
    if unknown:
        raise InputError(path, f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(DATASET_KEYS))})")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(path, f"{where}: 'name' must be a non-empty string")
    check_dataset_name(name, path, f"{where}: 'name'")
    where = f"dataset {shorten(repr(name))}"
    year = None if entry.get("year") is None else _year(entry["year"], path, f"{where}: 'year'")
    if "template" in entry and "templates" in entry:
        raise InputError(path, f"{where}: give 'template' or 'templates', not both")
    template_key = "templates" if "templates" in entry else "template"
    templates = (
        _templates(entry[template_key], path, f"{where}: '{template_key}'")
        if template_key in entry
        else (DEFAULT_TEMPLATE,)
    )
    query = entry.get("query", DEFAULT_QUERY)
    if isinstance(query, str):
        check_text(query, path, f"{where}: 'query'")
    if not isinstance(query, str) or not is_query_template(query):
        raise InputError(
            path, f"{where}: 'query' must be a string with '{{}}' (or '{{words[a:b]}}') for the class name"
        )
    has_inline, has_file = "classes" in entry, "classes_file" in entry
    if has_inline == has_file:
        raise InputError(path, f"{where}: give exactly one of 'classes' or 'classes_file'")
    class_file = None
    if has_inline:
        classes = entry["classes"]
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise InputError(path, f"{where}: 'classes' must be a list of strings")
        for position, class_name in enumerate(classes, start=1):
            if SEPARATOR in class_name or not class_name.strip():
                raise InputError(path, f"{where}: class name {shorten(repr(class_name))} is empty or contains '+++'")
            check_class_name(class_name, path, f"{where}: class {position}")
        if not classes:
            raise InputError(path, f"{where}: dataset is empty")
        classes = tuple(classes)
    else:
        if not isinstance(entry["classes_file"], str):
            raise InputError(path, f"{where}: 'classes_file' must be a path")
        class_file = path.parent / entry["classes_file"]
        if class_file.is_symlink() and not class_file.exists():
            raise InputError(class_file, "is a dangling or looping symbolic link")
        if not class_file.exists():
            raise InputError(path, f"{where}: 'classes_file' {shorten(repr(entry['classes_file']))} not found")
        if not class_file.is_file():
            raise InputError(class_file, "is not a regular file (a class list must be a JSON list or text file)")
        if class_file.suffix == ".json":
            classes = _classes_from_json_list(class_file, name)
        else:
            classes = _classes_from_text(class_file, name)
    dataset = Dataset(name=name, classes=classes, year=year, templates=templates, query=query,
                      templates_given=template_key in entry)
    return dataset, class_file


def _check_unique(catalog: Catalog) -> None:
    duplicate_names = repeated(catalog.dataset_names)
    if duplicate_names:
        raise InputError(catalog.source, f"dataset {shorten(repr(duplicate_names[0]))} appears more than once")
    duplicates = repeated(catalog.concept_ids)
    if duplicates:
        shown = ", ".join(shorten(repr(d)) for d in duplicates[:3])
        raise InputError(catalog.source, f"{len(duplicates)} duplicate concept(s): {shown}")
