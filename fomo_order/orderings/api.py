"""``order``: a catalog and an ordering's inputs in, a stream (concept ids) and its meta out.

This is what ``fomo-order order`` runs; the CLI only parses flags into these parameters, writes the
result and prints. Inputs are given as arrays (one value or row per catalog concept, in catalog order),
as maps concept id -> value, or as file paths (then read, matched by concept id, and recorded in the
meta with their sha256).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.artifacts.meta import input_record, make_meta
from fomo_order.artifacts.result import Written
from fomo_order.catalog import Catalog, load_catalog
from fomo_order.errors import ParameterError
from fomo_order.orderings.registry import ORDERINGS, make_order
from fomo_order.progress import SILENT, Reporter

# What each required input is, for messages.
_INPUT_WHAT = {"counts": "frequency counts", "scores": "per-concept scores", "embeddings": "caption embeddings"}


@dataclass(frozen=True)
class Stream(Written):
    """An ordered stream: the concept ids FoMo-in-Flux reads, and the meta that says how it was made.

    ``stream.write(path)`` writes the stream file and its ``.meta.json`` (``-``: the stream to stdout).
    """

    concept_ids: list[str]
    meta: dict[str, Any]

    @property
    def details(self) -> dict[str, Any]:
        return self.meta.get("details", {})

    def files(self, path: Path) -> dict[Path, bytes]:
        from fomo_order.artifacts.streams import meta_path
        from fomo_order.fileio import dumps_json

        return {
            path: dumps_json(self.concept_ids).encode("utf-8"),
            meta_path(path): dumps_json(self.meta).encode("utf-8"),
        }


def order(
    catalog: Catalog | str | Path,
    strategy: str,
    *,
    seed: int = 0,
    reverse: bool = False,
    counts: np.ndarray | Mapping[str, float] | str | Path | None = None,
    scores: np.ndarray | Mapping[str, float] | str | Path | None = None,
    embeddings: np.ndarray | str | Path | None = None,
    argv: list[str] | None = None,
    reporter: Reporter = SILENT,
    **options: Any,
) -> Stream:
    """Order the concepts of ``catalog`` by ``strategy`` (see :data:`fomo_order.ORDERINGS`).

    ``counts`` (frequency), ``scores`` (performance) and ``embeddings`` (similarity) are the inputs the
    strategy needs; ``options`` are its options (``within_year``, ``start`` (a concept id),
    ``start_rank``, ``refine``, ``device``, ...). An input or option the strategy does not use is an
    error, so a typo does not pass silently. ``argv`` is recorded in the meta (the CLI's command line);
    ``reporter`` hears of a long search's progress (neighbour lists, walks, refinement).
    """
    if strategy not in ORDERINGS:
        raise ParameterError("strategy", f"unknown ordering {strategy!r} (choose one of {', '.join(ORDERINGS)})")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ParameterError("seed", f"must be a non-negative integer, got {seed!r}")
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    ordering = ORDERINGS[strategy]
    given_inputs = {"counts": counts, "scores": scores, "embeddings": embeddings}
    for name, value in {**given_inputs, **options}.items():
        if value is not None and name not in ordering.requires and name not in ordering.options:
            raise ParameterError(name, f"is not used by the {strategy} ordering")
    for name in ordering.requires:
        if given_inputs[name] is None:
            raise ParameterError(name, f"the {strategy} ordering needs {_INPUT_WHAT[name]}")
    inputs, input_files = _inputs(cat, {name: given_inputs[name] for name in ordering.requires})

    defaults = inspect.signature(ordering.func).parameters
    parameters = {
        name: options[name] if options.get(name) is not None else defaults[name].default for name in ordering.options
    }
    call_options = {name: value for name, value in parameters.items() if value is not None}
    if "reporter" in ordering.options:  # progress of a long search; never part of the meta
        call_options["reporter"] = reporter
    if parameters.get("start") is not None:
        if parameters["start"] not in cat.index_of:
            raise ParameterError("start", f"{parameters['start']!r} is not a concept of the catalog")
        call_options["start"] = cat.index_of[parameters["start"]]
    result = make_order(strategy, cat, seed=int(seed), reverse=reverse, **inputs, **call_options)

    concept_ids = cat.concept_ids
    stream = [concept_ids[i] for i in result.order]
    # The device and the Ray address give the same path, so the meta must not differ either; `starts` only
    # when sampled, so that exact streams keep their meta.
    recorded = {
        k: (v.value if hasattr(v, "value") else v)
        for k, v in parameters.items()
        if k not in ("device", "ray_address", "reporter") and (k, v) != ("starts", None)
    }
    meta = make_meta(
        "order",
        argv=argv,
        inputs={"catalog": cat.record(), **input_files},
        strategy=strategy,
        seed=int(seed),
        reverse=reverse,
        parameters={"datasets": list(cat.selected) if cat.selected else None, **recorded},
        concepts=len(stream),
        datasets=cat.dataset_names,
        details=result.details,
    )
    return Stream(concept_ids=stream, meta=meta)


def _inputs(catalog: Catalog, given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each input as an array in catalog order, and the files they came from (for the meta)."""
    concept_ids = catalog.concept_ids
    arrays: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for name, value in given.items():
        if isinstance(value, (str, Path)):
            arrays[name] = _read_input(name, value, concept_ids)
            files[_FILE_KEY[name]] = input_record(value)
            if name == "embeddings":
                from fomo_order.artifacts.embeddings import sidecar_path

                files["embeddings_sidecar"] = input_record(sidecar_path(value))
        elif isinstance(value, Mapping):
            from fomo_order.artifacts.per_concept import concept_values

            what = name.rstrip("s")
            arrays[name] = concept_values(name, dict(value), concept_ids, what, non_negative=name == "counts")
        else:
            arrays[name] = _checked_array(name, value, len(concept_ids))
    return arrays, files


_FILE_KEY = {"counts": "frequencies", "scores": "scores", "embeddings": "embeddings"}


def _read_input(name: str, path: str | Path, concept_ids: Sequence[str]) -> np.ndarray:
    if name == "counts":
        from fomo_order.artifacts.freqs import read_frequencies

        return read_frequencies(path, concept_ids)
    if name == "scores":
        from fomo_order.artifacts.scores import read_scores

        return read_scores(path, concept_ids)
    from fomo_order.artifacts.embeddings import embeddings_for

    return embeddings_for(path, concept_ids)


def _checked_array(name: str, value: Any, n: int) -> np.ndarray:
    array = np.asarray(value)
    expected_ndim = 2 if name == "embeddings" else 1
    if array.ndim != expected_ndim or array.shape[0] != n:
        raise ParameterError(name, f"expected {n} {'rows' if expected_ndim == 2 else 'values'} (one per concept), "
                             f"got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise ParameterError(name, "must be finite numbers")
    if name == "counts" and (array < 0).any():
        raise ParameterError(name, "counts must be non-negative")
    if name == "embeddings":
        norms = np.linalg.norm(array.astype(np.float64), axis=1)
        if (norms == 0).any():
            raise ParameterError(name, "a zero vector cannot be normalised")
        return (array / norms[:, None]).astype(np.float32)
    return array.astype(np.float64)
