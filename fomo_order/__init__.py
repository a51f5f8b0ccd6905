"""fomo-order: concept streams for continual multimodal pretraining (FoMo-in-Flux).

The library does all the work; the ``fomo-order`` command only parses flags, calls it and prints::

    import fomo_order as fo

    catalog = fo.load_catalog("configs/fif/catalog.yaml")
    stream = fo.order(catalog, "time", within_year="by-dataset", seed=1)   # .concept_ids, .meta
    fo.write_stream("time.json", stream.concept_ids, stream.meta)
    tasks, _ = fo.split_stream(stream.concept_ids, tasks=20)

Names are imported on first use, so ``import fomo_order`` stays light (no torch, numba or matplotlib).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

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
    "similarity_path": "fomo_order.similarity",
    # split, FoMo-in-Flux, report
    "split_stream": "fomo_order.split",
    # export to Continuum and Avalanche
    "read_tasks": "fomo_order.artifacts.tasks",
    "label_map": "fomo_order.export",
    "read_labels": "fomo_order.export",
    "to_continuum": "fomo_order.export",
    "to_avalanche": "fomo_order.export",
    "export_tasks": "fomo_order.export",
    "Export": "fomo_order.export",
    "fif_overrides": "fomo_order.fif",
    "compare_streams": "fomo_order.report",
    "render_report": "fomo_order.report",
    # artifacts
    "read_stream": "fomo_order.artifacts.streams",
    "write_stream": "fomo_order.artifacts.streams",
    "write_tasks": "fomo_order.artifacts.streams",
    "reversed_stream": "fomo_order.artifacts.streams",
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


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value  # resolved once
        return value
    raise AttributeError(f"module 'fomo_order' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
