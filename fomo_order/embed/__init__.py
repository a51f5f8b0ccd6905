"""``fomo-order embed``: one L2-normalised text embedding per concept, from its dataset's caption
template(s), with open_clip (default: the paper's ViT-L-14, OpenAI weights) or sentence-transformers.

Importing this package needs numpy only; torch, open_clip and sentence-transformers load when a
model is built.
"""

from fomo_order.embed.cache import EmbeddingCache, default_cache_root, model_key
from fomo_order.embed.pipeline import EmbedResult, embed_catalog
from fomo_order.embed.settings import BACKENDS, DEVICES, PRECISIONS, EmbedSettings

__all__ = [
    "BACKENDS",
    "DEVICES",
    "PRECISIONS",
    "EmbedResult",
    "EmbedSettings",
    "EmbeddingCache",
    "default_cache_root",
    "embed_catalog",
    "model_key",
]
