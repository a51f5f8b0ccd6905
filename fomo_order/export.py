"""Handing tasks to the continual-learning libraries: Continuum's ``ClassIncremental`` and Avalanche's
``nc_benchmark``, both of which take integer class labels.

- :func:`label_map`: concept id -> label in a catalog's order (dataset by dataset as the catalog lists
  them, each dataset's classes in class-list order: the numbering of the datasets concatenated).
- :func:`read_labels`: a user's labels file, a JSON list of concept ids whose index is the label.
- :func:`to_continuum` / :func:`to_avalanche`: exactly the keyword arguments of
  ``ClassIncremental(dataset, **kwargs)`` / ``nc_benchmark(train, test, task_labels=False, **kwargs)``.
  Both take every task's size, so FoMo-in-Flux's unequal tasks (N // T, the first N % T one more) are
  passed whole (neither library's task count divides N unevenly; Avalanche's
  ``class_incremental_benchmark`` would drop the remainder).
- :func:`export_tasks`: a tasks file in, an :class:`Export` out (what ``fomo-order export`` writes: the
  keyword arguments plus ``labels``, and a meta).

Without a labels file or a catalog, :func:`export_tasks` finds the catalog through the metas: the tasks
meta records its stream, the stream's meta its catalog (a reversed stream's meta the forward stream).
A relative path in a meta is relative to the directory the recording command ran in, which the meta does
not name; it is looked for in the working directory first (where the project's own metas are made and
checked), then in the folder of the artifact that records it and each folder above, and a candidate is
taken only when its sha256 matches the record, so a moved or edited file is never used by mistake.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fomo_order.artifacts.meta import input_record, make_meta
from fomo_order.artifacts.result import Written
from fomo_order.artifacts.tasks import STDIN, STDIN_NAME, check_tasks, read_tasks_bytes
from fomo_order.catalog import Catalog, load_catalog, split_concept_id
from fomo_order.errors import InputError, ParameterError
from fomo_order.fileio import read_json, sha256_bytes, sha256_file
from fomo_order.split import Tasks

__all__ = [
    "TARGETS",
    "Export",
    "export_tasks",
    "label_map",
    "read_labels",
    "stream_catalog",
    "to_avalanche",
    "to_continuum",
]

TARGETS = ("continuum", "avalanche")
MAX_HOPS = 16  # tasks -> stream -> forward stream -> ...: a longer chain is a loop
# ClassIncremental relabels a target y as class_order.argsort()[y]: the inverse of class_order only when
# class_order is a permutation of 0..K-1; other labels fail there (an index out of range).
CONTINUUM_NEEDS = (
    "Continuum's ClassIncremental needs the tasks' {k} concepts labelled 0..{k_1} (its class_order must be a "
    "permutation of them), but a label reaches {top}: number only the tasks' concepts"
)


def label_map(catalog: Catalog | str | Path) -> dict[str, int]:
    """Concept id -> integer label in the catalog's order (the datasets' class lists concatenated)."""
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    return dict(cat.index_of)


def read_labels(path: str | Path) -> dict[str, int]:
    """A labels file, a JSON list of distinct concept ids whose index is the label, as concept id -> label."""
    data = read_json(path)
    if not isinstance(data, list):
        raise InputError(path, "expected a JSON list of concept ids (the index of each is its label)")
    labels: dict[str, int] = {}
    for label, concept in enumerate(data):
        if not isinstance(concept, str):
            raise InputError(path, f"item {label} is {concept!r}, not a concept id '<dataset>+++<class name>'")
        split_concept_id(concept, path)
        if concept in labels:
            raise InputError(path, f"concept {concept!r} appears twice (items {labels[concept]} and {label})")
        labels[concept] = label
    return labels


def _class_order(
    tasks: Tasks | Sequence[Sequence[str]], labels: Mapping[str, int]
) -> tuple[list[list[str]], list[int]]:
    task_lists = tasks.tasks if isinstance(tasks, Tasks) else tasks
    checked = check_tasks([list(task) for task in task_lists], "tasks")
    missing = [concept for task in checked for concept in task if concept not in labels]
    if missing:
        raise ParameterError("labels", f"lack {len(missing)} concept(s) of the tasks, e.g. {missing[0]!r}")
    order = [labels[concept] for task in checked for concept in task]
    if any(isinstance(label, bool) or not isinstance(label, int) or label < 0 for label in order):
        raise ParameterError("labels", "must map concept ids to non-negative integers")
    if len(set(order)) != len(order):
        raise ParameterError("labels", "give two concepts of the tasks the same label")
    return checked, order


def to_continuum(tasks: Tasks | Sequence[Sequence[str]], labels: Mapping[str, int]) -> dict[str, Any]:
    """``ClassIncremental(dataset, **to_continuum(tasks, labels))``: ``class_order`` (the labels in stream
    order) and ``increment`` (every task's size). Continuum relabels the targets to their position in
    ``class_order``; ``TaskSet.get_original_targets`` maps them back to ``labels``."""
    checked, order = _class_order(tasks, labels)
    if sorted(order) != list(range(len(order))):
        raise ParameterError("labels", CONTINUUM_NEEDS.format(k=len(order), k_1=len(order) - 1, top=max(order)))
    return {"class_order": order, "increment": [len(task) for task in checked]}


def to_avalanche(tasks: Tasks | Sequence[Sequence[str]], labels: Mapping[str, int]) -> dict[str, Any]:
    """``nc_benchmark(train, test, task_labels=False, **to_avalanche(tasks, labels))``: ``fixed_class_order``
    (the labels in stream order), ``n_experiences`` and ``per_exp_classes`` (experience index -> its size,
    every experience given, so no remainder is dropped). Avalanche keeps the original labels."""
    checked, order = _class_order(tasks, labels)
    return {
        "fixed_class_order": order,
        "n_experiences": len(checked),
        "per_exp_classes": {index: len(task) for index, task in enumerate(checked)},
    }


CONVERTERS = {"continuum": to_continuum, "avalanche": to_avalanche}


@dataclass(frozen=True)
class Export(Written):
    """A tasks file as one library's keyword arguments, with the labels and the meta.

    The file is ``{**kwargs, "labels": {concept id: label}}`` (``per_exp_classes``' keys as strings, as
    JSON has them); ``export.write(path)`` writes it and its ``.meta.json`` (``-``: the file to stdout).
    """

    target: str
    kwargs: dict[str, Any]
    labels: dict[str, int]
    meta: dict[str, Any]

    def document(self) -> dict[str, Any]:
        """The file's contents: the keyword arguments, then ``labels``."""
        kwargs = dict(self.kwargs)
        if "per_exp_classes" in kwargs:
            kwargs["per_exp_classes"] = {str(key): size for key, size in kwargs["per_exp_classes"].items()}
        return {**kwargs, "labels": self.labels}

    def files(self, path: Path) -> dict[Path, bytes]:
        from fomo_order.artifacts.streams import json_with_meta

        return json_with_meta(path, self.document(), self.meta)


def export_tasks(
    tasks_file: str | Path,
    to: str,
    *,
    labels: str | Path | None = None,
    catalog: Catalog | str | Path | None = None,
    argv: list[str] | None = None,
) -> Export:
    """Export the tasks file ``tasks_file`` (``-``: standard input) for ``to`` (one of :data:`TARGETS`).

    The labels come from ``labels`` (a labels file, see :func:`read_labels`), else from ``catalog``'s
    order, else from the catalog the tasks' provenance records (:func:`stream_catalog`). The export's
    labels are those of the tasks' concepts, so the file says what every label in it means.
    """
    if to not in CONVERTERS:
        raise ParameterError("to", f"unknown library {to!r} (choose one of {', '.join(TARGETS)})")
    if labels is not None and catalog is not None:
        raise ParameterError("labels", "give a labels file or a catalog, not both")
    tasks, data = read_tasks_bytes(tasks_file)
    inputs: dict[str, Any] = {"tasks": {"path": str(tasks_file), "sha256": sha256_bytes(data)}}
    label_of, labels_source, record = _labels_of(tasks, tasks_file, labels, catalog)
    inputs.update(record)
    used = dict(sorted(((c, label_of[c]) for task in tasks for c in task), key=lambda item: item[1]))
    if to == "continuum" and list(used.values()) != list(range(len(used))):
        numbered = f"numbers {len(label_of)} concepts" if labels is not None else f"has {len(label_of)} concepts"
        raise InputError(
            labels_source,
            f"{numbered} but the tasks hold {len(used)}: "
            + CONTINUUM_NEEDS.format(k=len(used), k_1=len(used) - 1, top=max(used.values())),
        )
    kwargs = CONVERTERS[to](tasks, label_of)
    meta = make_meta(
        "export",
        argv=argv,
        inputs=inputs,
        to=to,
        labels_from="labels" if labels is not None else "catalog",
        concepts=len(used),
        tasks=len(tasks),
        task_sizes=[len(task) for task in tasks],
    )
    return Export(target=to, kwargs=kwargs, labels=used, meta=meta)


def _labels_of(
    tasks: list[list[str]], tasks_file: str | Path, labels: str | Path | None, catalog: Catalog | str | Path | None
) -> tuple[Mapping[str, int], str, dict[str, Any]]:
    """Concept id -> label for ``tasks``, the file the labels come from, and its record for the meta."""
    source = STDIN_NAME if str(tasks_file) == STDIN else str(tasks_file)
    if labels is not None:
        label_of = read_labels(labels)
        missing = [concept for task in tasks for concept in task if concept not in label_of]
        if missing:
            raise InputError(labels, f"lacks {len(missing)} concept(s) of {source}, e.g. {missing[0]!r}")
        return label_of, str(labels), {"labels": input_record(labels)}
    if catalog is None:
        cat = stream_catalog(tasks_file)
    else:
        cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    missing = [concept for task in tasks for concept in task if concept not in cat.index_of]
    if missing:
        raise InputError(source, f"{len(missing)} concept(s) are not in the catalog {cat.source}, e.g. {missing[0]!r}")
    return cat.index_of, cat.source, {"catalog": cat.record()}


def stream_catalog(tasks_file: str | Path) -> Catalog:
    """The catalog the tasks' stream was ordered from, followed through the metas (see the module's notes),
    with the dataset selection the ordering recorded."""
    if str(tasks_file) == STDIN:
        raise ParameterError(
            "catalog", "tasks read from standard input have no meta to find the catalog in: give one or a labels file"
        )
    from fomo_order.artifacts.streams import meta_path, read_meta

    artifact = Path(tasks_file)
    for _ in range(MAX_HOPS):
        meta = read_meta(artifact)
        where = meta_path(artifact)
        if meta is None:
            raise InputError(artifact, f"has no meta {where} to find its catalog in: give a catalog or a labels file")
        inputs = meta.get("inputs")
        if not isinstance(inputs, dict):
            inputs = {}
        if isinstance(inputs.get("catalog"), dict):
            return _recorded_catalog(inputs["catalog"], meta, artifact)
        if not isinstance(inputs.get("stream"), dict):
            raise InputError(where, "records neither a catalog nor a stream as input: give a catalog or a labels file")
        artifact = _recorded_file(inputs["stream"], where, artifact)
    raise InputError(tasks_file, f"its metas record more than {MAX_HOPS} streams in a chain (a loop?)")


def _record_fields(record: Mapping[str, Any], where: Path) -> tuple[str, str]:
    path, digest = record.get("path"), record.get("sha256")
    if not isinstance(path, str) or not isinstance(digest, str):
        raise InputError(where, "an input record lacks its path or sha256")
    return path, digest


def _candidates(recorded: str, artifact: Path) -> Iterator[Path]:
    """Where a path recorded in ``artifact``'s meta may be: as given (from the working directory), then
    relative to the artifact's folder and each folder above it."""
    path = Path(recorded)
    yield path
    if path.is_absolute():
        return
    here = Path.cwd().resolve()
    for folder in [artifact.resolve().parent, *artifact.resolve().parent.parents]:
        found = folder / path
        # recorded (in the export's meta) relative to the working directory when inside it, as paths are
        yield Path(os.path.relpath(found, here)) if found.is_relative_to(here) else found


def _recorded_file(record: Mapping[str, Any], where: Path, artifact: Path) -> Path:
    recorded, digest = _record_fields(record, where)
    for candidate in _candidates(recorded, artifact):
        if candidate.is_file() and sha256_file(candidate) == digest:
            return candidate
    raise InputError(
        where, f"its input {recorded!r} was not found with the recorded sha256: give a catalog or a labels file"
    )


def _recorded_catalog(record: Mapping[str, Any], meta: Mapping[str, Any], artifact: Path) -> Catalog:
    from fomo_order.artifacts.streams import meta_path

    where = meta_path(artifact)
    recorded, _ = _record_fields(record, where)
    files = record.get("files")
    if not isinstance(files, list):
        files = []
    digests = [entry.get("sha256") for entry in files if isinstance(entry, dict)]
    parameters = meta.get("parameters")
    if not isinstance(parameters, dict):
        parameters = {}
    selected = parameters.get("datasets")
    for candidate in _candidates(recorded, artifact):
        if not candidate.exists():
            continue
        try:
            catalog = load_catalog(candidate)
        except InputError:
            continue
        # the catalog's own files come first in the record (a years or templates file after them, which
        # does not change the numbering)
        if [digest for _, digest in catalog.files] == digests[: len(catalog.files)]:
            if isinstance(selected, list) and all(isinstance(name, str) for name in selected):
                catalog = catalog.select(selected)
            return catalog
    raise InputError(
        where, f"its catalog {recorded!r} was not found with the recorded contents: give a catalog or a labels file"
    )
