"""What every backend provides to the embedding pipeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

# Called after every batch with the indices (into the captions given to ``encode``) and their vectors.
BatchSink = Callable[[np.ndarray, np.ndarray], None]


class TextEncoder(Protocol):
    def identity(self) -> dict[str, Any]:
        """Everything that decides the vectors (model, weights, precision, device, and under ``"versions"``
        the libraries' versions, which the sidecar records as they are): the cache key. Cheap: no model is
        loaded for it where that can be avoided."""

    def describe(self) -> dict[str, Any]:
        """Fields for the sidecar: backend, model, weights (file name + sha256, never an absolute path)."""

    def text_forward(self) -> str:
        """How captions run through the model (loads it)."""

    def encode(self, captions: Sequence[str], sink: BatchSink) -> None:
        """Embed ``captions`` (raw model output, float32), handing every batch to ``sink``."""


def one_line(exc: BaseException, limit: int = 240) -> str:
    """An exception as one short line for an error message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
