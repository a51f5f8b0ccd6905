"""fomo-order: concept streams for continual multimodal pretraining (FoMo-in-Flux)."""

__version__ = "0.1.0"
