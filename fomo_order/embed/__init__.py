"""``fomo-order embed``: one L2-normalised text embedding per concept, from its dataset's caption
template(s), with open_clip (default: the paper's ViT-L-14, OpenAI weights) or sentence-transformers.

Importing this package needs numpy only; torch, open_clip and sentence-transformers load when a
model is built.
"""

from fomo_order.embed.cache import EmbeddingCache, default_cache_root, model_key
from fomo_order.embed.pipeline import EmbedResult, embed, embed_catalog
from fomo_order.embed.settings import Backend, EmbedSettings, Precision

__all__ = [
    "Backend",
    "EmbedResult",
    "EmbedSettings",
    "EmbeddingCache",
    "Precision",
    "default_cache_root",
    "embed",
    "embed_catalog",
    "model_key",
]
