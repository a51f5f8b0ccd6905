"""``fomo-order embed``: one L2-normalised text embedding per concept, from its dataset's caption
template(s), with open_clip (default: the paper's ViT-L-14, OpenAI weights) or sentence-transformers.

:func:`embed` returns an :class:`EmbedResult`; ``result.write(path)`` writes the artifact whose format is
:mod:`fomo_order.artifacts.embeddings`. (The package is not named ``embed``: a subpackage of that name
would replace the lazily exported function ``fomo_order.embed`` once imported.)

Importing this package needs numpy only; torch, open_clip and sentence-transformers load when a
model is built.
"""

from fomo_order.embeddings.cache import EmbeddingCache, default_cache_root, model_key
from fomo_order.embeddings.pipeline import EmbedResult, embed, embed_catalog
from fomo_order.embeddings.settings import Backend, EmbedSettings, Precision

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
