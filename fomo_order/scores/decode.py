"""Reading, hashing and decoding image files, in parallel.

Files are hashed first (threads: reading and sha256 release the GIL), so that images whose features
are cached are never decoded. The rest are decoded by torch ``DataLoader`` worker processes, which run
the PIL part of the model's evaluation transform (resize, crop, RGB) and hand back uint8 arrays: a
quarter of the bytes of float tensors, and no shared memory. The tensor part of the transform
(to float, /255, normalise) runs on the whole batch where the model runs; it is element-wise, so the
result equals the transform applied image by image, bit for bit.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from fomo_order.embeddings.encoder import one_line

if TYPE_CHECKING:
    from torch.utils.data import Dataset

# Images per worker task: small enough for a smooth progress bar, large enough to amortise the hand-over.
CHUNK = 8


@dataclass(frozen=True)
class Hashed:
    digest: bytes | None  # sha256 of the file's bytes; None when it could not be read
    error: str | None


def hash_file(path: Path) -> Hashed:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return Hashed(None, f"cannot read ({exc.strerror or type(exc).__name__})")
    return Hashed(hashlib.sha256(data).digest(), None)


def hash_files(paths: Sequence[Path], threads: int, advance: Callable[[int], None] | None = None) -> list[Hashed]:
    """The sha256 of every file, in order; ``advance(n)`` every few files with how many more are hashed."""
    results: list[Hashed] = []
    reported = 0
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for done, result in enumerate(pool.map(hash_file, paths, chunksize=16), start=1):
            results.append(result)
            if advance is not None and (done % 64 == 0 or done == len(paths)):
                advance(done - reported)
                reported = done
    return results


@dataclass(frozen=True)
class SplitTransform:
    """An evaluation transform cut where PIL images become tensors.

    ``pil_stage`` (in the workers) maps a decoded PIL image to what is sent back: a uint8 HxWx3 array when
    the transform could be split, else the whole transform's float32 CxHxW array. ``tensor_stage`` (where
    the model runs) maps the stacked uint8 batch (a torch tensor, N x H x W x 3) to the model's input.
    """

    pil_stage: Callable[[Any], np.ndarray]
    tensor_stage: Callable[[Any], Any] | None


def split_transform(transform: Any) -> SplitTransform:
    """Cut open_clip's eval ``Compose`` (resize, crop, convert to RGB, to tensor, normalise) at to-tensor.

    Transforms of another shape are run whole in the workers (float arrays, four times the bytes).
    """
    from torchvision.transforms import Compose, Normalize, ToTensor

    steps = list(transform.transforms) if isinstance(transform, Compose) else None
    if steps:
        cut = next((i for i, step in enumerate(steps) if isinstance(step, ToTensor)), None)
        converts_to_rgb = cut is not None and any(getattr(step, "mode", None) == "RGB" for step in steps[:cut])
        if cut is not None and converts_to_rgb and all(isinstance(step, Normalize) for step in steps[cut + 1 :]):
            return SplitTransform(
                pil_stage=_PilStage(Compose(steps[:cut])), tensor_stage=_TensorStage(tuple(steps[cut + 1 :]))
            )
    return SplitTransform(pil_stage=_WholeTransform(transform), tensor_stage=None)


class _PilStage:
    def __init__(self, transform: Any) -> None:
        self.transform = transform

    def __call__(self, image: Any) -> np.ndarray:
        result = self.transform(image)
        if getattr(result, "mode", None) != "RGB":
            raise ValueError(f"the transform gave a {type(result).__name__}, not an RGB image")
        return np.asarray(result, dtype=np.uint8)


class _TensorStage:
    def __init__(self, normalizations: tuple[Any, ...]) -> None:
        self.normalizations = normalizations

    def __call__(self, batch: Any) -> Any:
        import torch

        # As torchvision's to_tensor, per image: HWC -> CHW (contiguous, so the model sees the layout it
        # would see image by image), to float, / 255; then the transform's Normalize steps.
        x = batch.permute(0, 3, 1, 2).contiguous().to(dtype=torch.get_default_dtype()).div(255)
        for normalize in self.normalizations:
            x = normalize(x)
        return x


class _WholeTransform:
    def __init__(self, transform: Any) -> None:
        self.transform = transform

    def __call__(self, image: Any) -> np.ndarray:
        return self.transform(image).numpy().astype(np.float32, copy=False)


@dataclass(frozen=True)
class Decoded:
    index: int
    array: np.ndarray | None
    error: str | None


class ImageFiles:
    """A map-style dataset for ``DataLoader``: file ``i`` read, checked against its digest, decoded."""

    def __init__(self, paths: Sequence[Path], digests: Sequence[bytes], pil_stage: Callable[[Any], np.ndarray]):
        self.paths = list(paths)
        self.digests = list(digests)
        self.pil_stage = pil_stage

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Decoded:
        from PIL import Image

        try:
            data = self.paths[index].read_bytes()
        except OSError as exc:
            return Decoded(index, None, f"cannot read ({exc.strerror or type(exc).__name__})")
        if hashlib.sha256(data).digest() != self.digests[index]:
            return Decoded(index, None, "the file changed while it was being read")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PIL's notes on palettes, EXIF, large images
                with Image.open(io.BytesIO(data)) as image:
                    image.load()  # decode now: a truncated file fails here, not later
                    array = self.pil_stage(image)
        except Exception as exc:  # PIL raises many types for broken files (OSError, SyntaxError, ValueError, ...)
            return Decoded(index, None, f"{type(exc).__name__}: {without_addresses(one_line(exc, 120))}")
        return Decoded(index, array, None)


def without_addresses(message: str) -> str:
    """``message`` without object addresses (PIL names the buffer it read: ``<_io.BytesIO object at 0x7f..>``),
    which differ from run to run and would make the meta that records the reason differ too."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", message)


def keep_as_list(items: list[Decoded]) -> list[Decoded]:
    """``DataLoader`` collate function: the decoded items as they are (arrays travel by pickling)."""
    return items


def decode_files(files: ImageFiles, workers: int) -> Iterator[Decoded]:
    """Every item of ``files`` in order, decoded by ``workers`` processes (0: in this process)."""
    from torch.utils.data import DataLoader

    # ImageFiles is a map-style dataset by its shape (len, getitem): this module imports torch only here.
    loader: DataLoader[Decoded] = DataLoader(
        cast("Dataset[Decoded]", files),
        batch_size=CHUNK,
        shuffle=False,
        num_workers=workers,
        collate_fn=keep_as_list,
        prefetch_factor=4 if workers > 0 else None,
    )
    for chunk in loader:
        yield from chunk
