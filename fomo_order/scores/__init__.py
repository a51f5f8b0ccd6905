"""Per-concept scores for the performance (easy-to-hard) ordering, one :class:`ScoreResult` each way:

- :func:`score` (``fomo-order score``): each concept's zero-shot score (accuracy or true-class
  probability) with an open_clip model on its dataset's own images (:mod:`.pipeline`);
- :func:`proxy_scores` (``fomo-order proxy-scores``): the text margin, a stand-in from the concepts'
  caption embeddings when no images are at hand (:mod:`.proxy`).

The file format is :mod:`fomo_order.artifacts.scores`. Names load on first use, so importing the package
(as the command line does for its defaults) loads nothing; torch, torchvision, PIL and open_clip load
only when images are scored.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fomo_order.scores.images import IMAGE_EXTENSIONS, SPLITS, ImageListing, ImageSource, list_images, sample_images
    from fomo_order.scores.pipeline import score, score_catalog
    from fomo_order.scores.proxy import TEXT_MARGIN, proxy_scores, text_margin_scores
    from fomo_order.scores.result import ScoreResult
    from fomo_order.scores.settings import DEFAULT_BATCH_SIZE, MAX_DEFAULT_WORKERS, default_workers
    from fomo_order.scores.zeroshot import METRIC_DEFINITIONS, METRICS, zero_shot_scores

_MODULE_OF = {
    **dict.fromkeys(
        ("IMAGE_EXTENSIONS", "SPLITS", "ImageListing", "ImageSource", "list_images", "sample_images"),
        "fomo_order.scores.images",
    ),
    **dict.fromkeys(("score", "score_catalog"), "fomo_order.scores.pipeline"),
    **dict.fromkeys(("TEXT_MARGIN", "proxy_scores", "text_margin_scores"), "fomo_order.scores.proxy"),
    "ScoreResult": "fomo_order.scores.result",
    **dict.fromkeys(("DEFAULT_BATCH_SIZE", "MAX_DEFAULT_WORKERS", "default_workers"), "fomo_order.scores.settings"),
    **dict.fromkeys(("METRICS", "METRIC_DEFINITIONS", "zero_shot_scores"), "fomo_order.scores.zeroshot"),
}

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "IMAGE_EXTENSIONS",
    "MAX_DEFAULT_WORKERS",
    "METRICS",
    "METRIC_DEFINITIONS",
    "SPLITS",
    "TEXT_MARGIN",
    "ImageListing",
    "ImageSource",
    "ScoreResult",
    "default_workers",
    "list_images",
    "proxy_scores",
    "sample_images",
    "score",
    "score_catalog",
    "text_margin_scores",
    "zero_shot_scores",
]


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        value = getattr(import_module(_MODULE_OF[name]), name)
        globals()[name] = value  # resolved once
        return value
    raise AttributeError(f"module 'fomo_order.scores' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
