"""The image side of an open_clip model: its evaluation transform, checked once, and batched features."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.embeddings.encoder import one_line
from fomo_order.embeddings.openclip_backend import OpenClipEncoder
from fomo_order.embeddings.settings import Runtime
from fomo_order.errors import InputError
from fomo_order.scores.decode import SplitTransform, split_transform

# Batches are padded to a multiple of this many images (copies of their first image): CPU GEMM kernels
# round rows differently when the row count is not a multiple of their block, so an image's features
# would depend on its batch. In whole blocks they do not (measured on x86 for ViT-B-16 and ViT-B-32: an
# image's features were bit-identical in batches of 8, 16, 24, 32 and 48), so cached features equal fresh ones.
ROW_MULTIPLE = 16


def padded_rows(count: int) -> int:
    return -(-count // ROW_MULTIPLE) * ROW_MULTIPLE


class ImageTower:
    """The model's image tower with its own eval transform; raises :class:`InputError` when that transform
    or the tower cannot take an image (e.g. an image size of 0, or smaller than one patch)."""

    def __init__(self, encoder: OpenClipEncoder, runtime: Runtime) -> None:
        import torch
        from open_clip.transform import PreprocessCfg, image_transform_v2

        self._runtime = runtime
        self.model = encoder.clip_model()
        self.name = encoder.name
        source: str | Path = encoder.config_file if encoder.config_file is not None else "model"
        visual = getattr(self.model, "visual", None)
        config = getattr(visual, "preprocess_cfg", None)
        if not isinstance(config, dict):
            raise InputError(source, f"open_clip {self.name} has no image preprocessing config (no image tower?)")
        try:
            self.transform = image_transform_v2(PreprocessCfg(**config), is_train=False)
            self.split: SplitTransform = split_transform(self.transform)
            self.encode(np.stack([self.split.pil_stage(probe_image())]))
        except Exception as exc:
            size = config.get("size")
            raise InputError(
                source,
                f"cannot build the image input of open_clip {self.name} (image size {size!r}): "
                f"{type(exc).__name__}: {one_line(exc, 160)}",
            ) from None
        with torch.no_grad():
            self.logit_scale = float(self.model.logit_scale.exp().float().cpu())

    def describe_transform(self) -> list[str]:
        """The eval transform step by step, as torchvision prints it."""
        return [repr(step) for step in getattr(self.transform, "transforms", [self.transform])]

    def encode(self, arrays: np.ndarray) -> np.ndarray:
        """Raw image features (float32) of a stacked batch from :attr:`split`'s ``pil_stage``."""
        import torch

        count = arrays.shape[0]
        rows = np.concatenate([np.arange(count), np.zeros(padded_rows(count) - count, dtype=np.int64)])
        batch = torch.from_numpy(np.ascontiguousarray(arrays[rows]))
        device = self._runtime.device
        with torch.inference_mode(), self._runtime.autocast():
            batch = batch.to(device, non_blocking=True)
            pixels = self.split.tensor_stage(batch) if self.split.tensor_stage is not None else batch
            features = self.model.encode_image(pixels)
        return features[:count].float().cpu().numpy()


def probe_image() -> Any:
    """A small image to check, before any file is read, that the transform and the tower run."""
    from PIL import Image

    return Image.new("RGB", (48, 40), (120, 80, 40))
