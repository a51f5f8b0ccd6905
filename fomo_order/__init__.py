"""fomo-order: concept streams for continual multimodal pretraining (FoMo-in-Flux).

The library does all the work; the ``fomo-order`` command only parses flags, calls it and prints::

    import fomo_order as fo

    catalog = fo.load_catalog("configs/fif/catalog.yaml")
    stream = fo.order(catalog, "time", within_year="by-dataset", seed=1)   # .concept_ids, .meta
    stream.write("time.json")                                               # and time.meta.json
    tasks = fo.split_stream(stream, tasks=20)                               # .tasks, .meta, .write(path)

Names are imported on first use, so ``import fomo_order`` stays light (no torch, numba or matplotlib);
type checkers see them through the ``TYPE_CHECKING`` imports below.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # catalog
    "Catalog": "fomo_order.catalog",
    "Dataset": "fomo_order.catalog",
    "load_catalog": "fomo_order.catalog",
    "concept_id": "fomo_order.catalog",
    # frequencies and embeddings (the orderings' inputs)
    "fetch_frequencies": "fomo_order.frequencies",
    "FetchOptions": "fomo_order.frequencies",
    "Frequencies": "fomo_order.frequencies",
    "EmbedSettings": "fomo_order.embeddings",
    "EmbedResult": "fomo_order.embeddings",
    "embed": "fomo_order.embeddings",
    "ImageSource": "fomo_order.scores",
    "ScoreResult": "fomo_order.scores",
    "score": "fomo_order.scores",
    "proxy_scores": "fomo_order.scores",
    # orderings
    "ORDERINGS": "fomo_order.orderings",
    "Stream": "fomo_order.orderings.api",
    "order": "fomo_order.orderings.api",
    "reverse_stream": "fomo_order.orderings.api",
    "similarity_path": "fomo_order.similarity",
    "SimilarityPath": "fomo_order.similarity",
    # split, FoMo-in-Flux, report
    "split_stream": "fomo_order.split",
    "Tasks": "fomo_order.split",
    # export to Continuum and Avalanche
    "read_tasks": "fomo_order.artifacts.tasks",
    "label_map": "fomo_order.export",
    "read_labels": "fomo_order.export",
    "to_continuum": "fomo_order.export",
    "to_avalanche": "fomo_order.export",
    "export_tasks": "fomo_order.export",
    "Export": "fomo_order.export",
    "fif_overrides": "fomo_order.fif",
    "class_list_differences": "fomo_order.fif",
    "compare_streams": "fomo_order.report",
    "render_report": "fomo_order.report",
    "Comparison": "fomo_order.report",
    "Report": "fomo_order.report",
    # artifacts
    "read_stream": "fomo_order.artifacts.streams",
    "write_stream": "fomo_order.artifacts.streams",
    "write_tasks": "fomo_order.artifacts.streams",
    "read_scores": "fomo_order.artifacts.scores",
    "write_scores": "fomo_order.artifacts.scores",
    "read_frequencies": "fomo_order.artifacts.freqs",
    "embeddings_for": "fomo_order.artifacts.embeddings",
    "write_embeddings": "fomo_order.artifacts.embeddings",
    # choices and errors
    "Device": "fomo_order.choices",
    "FomoOrderError": "fomo_order.errors",
    "InputError": "fomo_order.errors",
    "ParameterError": "fomo_order.errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # the lazy names for type checkers and editors (`X as X`: re-exported); tests/test_api.py keeps it
    # in step with _EXPORTS
    from fomo_order.artifacts.embeddings import embeddings_for as embeddings_for
    from fomo_order.artifacts.embeddings import write_embeddings as write_embeddings
    from fomo_order.artifacts.freqs import read_frequencies as read_frequencies
    from fomo_order.artifacts.scores import read_scores as read_scores
    from fomo_order.artifacts.scores import write_scores as write_scores
    from fomo_order.artifacts.streams import read_stream as read_stream
    from fomo_order.artifacts.streams import write_stream as write_stream
    from fomo_order.artifacts.streams import write_tasks as write_tasks
    from fomo_order.artifacts.tasks import read_tasks as read_tasks
    from fomo_order.catalog import Catalog as Catalog
    from fomo_order.catalog import Dataset as Dataset
    from fomo_order.catalog import concept_id as concept_id
    from fomo_order.catalog import load_catalog as load_catalog
    from fomo_order.choices import Device as Device
    from fomo_order.embeddings import EmbedResult as EmbedResult
    from fomo_order.embeddings import EmbedSettings as EmbedSettings
    from fomo_order.embeddings import embed as embed
    from fomo_order.errors import FomoOrderError as FomoOrderError
    from fomo_order.errors import InputError as InputError
    from fomo_order.errors import ParameterError as ParameterError
    from fomo_order.export import Export as Export
    from fomo_order.export import export_tasks as export_tasks
    from fomo_order.export import label_map as label_map
    from fomo_order.export import read_labels as read_labels
    from fomo_order.export import to_avalanche as to_avalanche
    from fomo_order.export import to_continuum as to_continuum
    from fomo_order.fif import class_list_differences as class_list_differences
    from fomo_order.fif import fif_overrides as fif_overrides
    from fomo_order.frequencies import FetchOptions as FetchOptions
    from fomo_order.frequencies import Frequencies as Frequencies
    from fomo_order.frequencies import fetch_frequencies as fetch_frequencies
    from fomo_order.orderings import ORDERINGS as ORDERINGS
    from fomo_order.orderings.api import Stream as Stream
    from fomo_order.orderings.api import order as order
    from fomo_order.orderings.api import reverse_stream as reverse_stream
    from fomo_order.report import Comparison as Comparison
    from fomo_order.report import Report as Report
    from fomo_order.report import compare_streams as compare_streams
    from fomo_order.report import render_report as render_report
    from fomo_order.scores import ImageSource as ImageSource
    from fomo_order.scores import ScoreResult as ScoreResult
    from fomo_order.scores import proxy_scores as proxy_scores
    from fomo_order.scores import score as score
    from fomo_order.similarity import SimilarityPath as SimilarityPath
    from fomo_order.similarity import similarity_path as similarity_path
    from fomo_order.split import Tasks as Tasks
    from fomo_order.split import split_stream as split_stream


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value  # resolved once
        return value
    raise AttributeError(f"module 'fomo_order' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
