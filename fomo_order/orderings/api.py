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
from typing import TYPE_CHECKING, Any

import numpy as np

from fomo_order.artifacts.meta import input_record, make_meta
from fomo_order.artifacts.result import Written
from fomo_order.catalog import Catalog, load_catalog
from fomo_order.errors import InputError, ParameterError
from fomo_order.orderings.registry import ORDERINGS, make_order
from fomo_order.progress import SILENT, Reporter

if TYPE_CHECKING:
    from fomo_order.choices import Device
    from fomo_order.orderings.basic import WithinYear
    from fomo_order.similarity.search import Refine

# What each required input is, for messages.
_INPUT_WHAT = {
    "frequencies": "frequency counts",
    "scores": "per-concept scores (made by proxy-scores from embeddings, or by score: zero-shot on images)",
    "embeddings": "caption embeddings",
}


REPR_IDS = 3  # concept ids a stream's repr shows
REPR_HTML_IDS = 10


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

    def __len__(self) -> int:
        return len(self.concept_ids)

    def __repr__(self) -> str:
        return f"Stream({self._summary()}: {', '.join(map(repr, self.concept_ids[:REPR_IDS]))}{self._more()})"

    def _summary(self) -> str:
        strategy = self.meta.get("strategy", self.meta.get("command", "stream"))
        reverse = ", reversed" if self.meta.get("reverse") else ""
        seed = f", seed {self.meta['seed']}" if "seed" in self.meta else ""
        return f"{strategy}{seed}{reverse}, {len(self.concept_ids):,} concepts"

    def _more(self) -> str:
        return ", ..." if len(self.concept_ids) > REPR_IDS else ""

    def _repr_html_(self) -> str:
        """A notebook's view: the first concepts, numbered, under the stream's strategy and size."""
        import html

        rows = "".join(f"<tr><td style='text-align:right'>{i}</td><td>{html.escape(c)}</td></tr>"
                       for i, c in enumerate(self.concept_ids[:REPR_HTML_IDS], start=1))
        more = f"<tr><td></td><td>... {len(self) - REPR_HTML_IDS:,} more</td></tr>" if len(self) > REPR_HTML_IDS else ""
        return (f"<table><caption>{html.escape(self._summary())}</caption><tr><th>#</th><th>concept</th></tr>"
                f"{rows}{more}</table>")

    def files(self, path: Path) -> dict[Path, bytes]:
        from fomo_order.artifacts.streams import json_with_meta

        return json_with_meta(path, self.concept_ids, self.meta)


def order(
    catalog: Catalog | str | Path,
    strategy: str,
    *,
    seed: int = 0,
    reverse: bool = False,
    frequencies: np.ndarray | Mapping[str, float] | str | Path | None = None,
    scores: np.ndarray | Mapping[str, float] | str | Path | None = None,
    embeddings: np.ndarray | str | Path | None = None,
    within_year: str | WithinYear | None = None,
    start: str | None = None,
    start_rank: int | None = None,
    refine: str | Refine | None = None,
    starts: int | None = None,
    device: str | Device | None = None,
    ray_address: str | None = None,
    options: Mapping[str, Any] | None = None,
    argv: list[str] | None = None,
    reporter: Reporter = SILENT,
) -> Stream:
    """Order the concepts of ``catalog`` by ``strategy`` (see :data:`fomo_order.ORDERINGS`).

    Inputs, each for the strategy that needs it: ``frequencies`` (frequency: counts per concept),
    ``scores`` (performance: higher = easier) and ``embeddings`` (similarity: caption embeddings).
    Options: ``within_year`` (time: ``shuffle``, ``by-dataset`` or ``by-dataset-shuffled``); for
    similarity ``start`` (a concept id) or ``start_rank`` (the K-th best start, default 1), ``refine``
    (``none``, ``2opt``), ``starts`` (sample K starts instead of all), ``device`` and ``ray_address``
    (where it runs; the path is the same). ``options`` passes the options of an ordering registered
    outside fomo-order. An input or option the strategy does not use is an error, so a typo does not pass
    silently. ``argv`` is recorded in the meta (the CLI's command line); ``reporter`` hears of a long
    search's progress (neighbour lists, walks, refinement).
    """
    if strategy not in ORDERINGS:
        raise ParameterError("strategy", f"unknown ordering {strategy!r} (choose one of {', '.join(ORDERINGS)})")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ParameterError("seed", f"must be a non-negative integer, got {seed!r}")
    if start is not None and start_rank is not None:
        raise ParameterError("start", "give {start} or {start_rank}, not both", mentions=("start", "start_rank"))
    named = {"within_year": within_year, "start": start, "start_rank": start_rank, "refine": refine,
             "starts": starts, "device": device, "ray_address": ray_address}
    given_options = {**(options or {}), **{name: value for name, value in named.items() if value is not None}}
    given_inputs = {"frequencies": frequencies, "scores": scores, "embeddings": embeddings}
    return _order(catalog, strategy, int(seed), reverse, given_inputs, given_options, argv, reporter)


def _order(
    catalog: Catalog | str | Path,
    strategy: str,
    seed: int,
    reverse: bool,
    given_inputs: dict[str, Any],
    options: dict[str, Any],
    argv: list[str] | None,
    reporter: Reporter,
) -> Stream:
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    ordering = ORDERINGS[strategy]
    for name, value in {**given_inputs, **options}.items():
        if value is not None and name not in ordering.requires and name not in ordering.options:
            raise ParameterError(name, f"is not used by the {strategy} ordering")
    for name in ordering.requires:
        if given_inputs.get(name) is None:
            raise ParameterError(name, f"the {strategy} ordering needs {_INPUT_WHAT.get(name, name)}")
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
    result = make_order(strategy, cat, seed=seed, reverse=reverse, **inputs, **call_options)

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
        seed=seed,
        reverse=reverse,
        parameters={"datasets": list(cat.selected) if cat.selected else None, **recorded},
        concepts=len(stream),
        datasets=cat.dataset_names,
        details=result.details,
    )
    return Stream(concept_ids=stream, meta=meta)


def reverse_stream(stream: Stream | Sequence[str] | str | Path, *, argv: list[str] | None = None) -> Stream:
    """The exact reversal of ``stream`` (a :class:`Stream`, a list of concept ids, or a stream file;
    ``-``: standard input), with its meta: the same bytes as ordering with ``reverse=True``.

    The meta carries over the forward stream's description (strategy, seed, parameters, details;
    ``reverse`` flipped), from the Stream or from the meta file beside the stream file, and records the
    forward stream (path and sha256) as the input. ``argv`` is recorded in the meta (the CLI's command line).
    """
    from fomo_order.artifacts.streams import meta_path, read_meta
    from fomo_order.fileio import shorten
    from fomo_order.split import stream_input

    concept_ids, record = stream_input(stream)
    forward = (read_meta(stream) if isinstance(stream, (str, Path)) else getattr(stream, "meta", None)) or {}
    carried = ("strategy", "seed", "parameters", "datasets", "details")
    described = {key: forward[key] for key in carried if key in forward}
    if "reverse" in forward:
        if not isinstance(forward["reverse"], bool):
            where = meta_path(stream) if isinstance(stream, (str, Path)) else "stream.meta"
            raise InputError(where, f"'reverse' must be true or false, got {shorten(repr(forward['reverse']))}")
        described["reverse"] = not forward["reverse"]
    meta = make_meta("reverse", argv=argv, inputs={"stream": record}, **described, concepts=len(concept_ids))
    return Stream(concept_ids=concept_ids[::-1], meta=meta)


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

            what = _ONE_VALUE[name]
            arrays[name] = concept_values(name, dict(value), concept_ids, what, non_negative=name == "frequencies")
        else:
            arrays[name] = _checked_array(name, value, len(concept_ids))
    return arrays, files


_ONE_VALUE = {"frequencies": "count", "scores": "score", "embeddings": "embedding"}
_FILE_KEY = {"frequencies": "frequencies", "scores": "scores", "embeddings": "embeddings"}


def _read_input(name: str, path: str | Path, concept_ids: Sequence[str]) -> np.ndarray:
    if name == "frequencies":
        return _read_frequencies(path, concept_ids)
    if name == "scores":
        from fomo_order.artifacts.scores import read_scores

        return read_scores(path, concept_ids)
    from fomo_order.artifacts.embeddings import embeddings_for

    return embeddings_for(path, concept_ids)


def _read_frequencies(path: str | Path, concept_ids: Sequence[str]) -> np.ndarray:
    from fomo_order.artifacts.freqs import read_frequencies

    return read_frequencies(path, concept_ids)


def _checked_array(name: str, value: Any, n: int) -> np.ndarray:
    array = np.asarray(value)
    expected_ndim = 2 if name == "embeddings" else 1
    if array.ndim != expected_ndim or array.shape[0] != n:
        raise ParameterError(name, f"expected {n} {'rows' if expected_ndim == 2 else 'values'} (one per concept), "
                             f"got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise ParameterError(name, "must be finite numbers")
    if name == "frequencies" and (array < 0).any():
        raise ParameterError(name, "counts must be non-negative")
    if name == "embeddings":
        norms = np.linalg.norm(array.astype(np.float64), axis=1)
        if (norms == 0).any():
            raise ParameterError(name, "a zero vector cannot be normalised")
        return (array / norms[:, None]).astype(np.float32)
    return array.astype(np.float64)
