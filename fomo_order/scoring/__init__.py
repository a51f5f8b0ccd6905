"""``fomo-order score``: each concept's zero-shot score (accuracy or true-class probability) with an
open_clip model on its dataset's own images: the input of the performance ordering.

Importing this package needs numpy only; torch, torchvision, PIL and open_clip load when images are scored.
"""

from fomo_order.scoring.images import IMAGE_EXTENSIONS, SPLITS, ImageListing, ImageSource, list_images, sample_images
from fomo_order.scoring.pipeline import ScoreProgress, ScoreResult, score_catalog
from fomo_order.scoring.zeroshot import METRIC_DEFINITIONS, METRICS, zero_shot_scores

__all__ = [
    "IMAGE_EXTENSIONS",
    "METRICS",
    "METRIC_DEFINITIONS",
    "SPLITS",
    "ImageListing",
    "ImageSource",
    "ScoreProgress",
    "ScoreResult",
    "list_images",
    "sample_images",
    "score_catalog",
    "zero_shot_scores",
]
