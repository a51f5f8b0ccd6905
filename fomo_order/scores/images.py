"""Which image shows which concept: FoMo-in-Flux's info files or a plain ``<dataset>/<class>/`` folder tree.

Both layouts give, for every concept of the catalog (catalog order), the list of its image files. A
class that has images but is no concept of the catalog, and a concept with no image, are refused:
either means the catalog and the images do not belong together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.catalog import Catalog
from fomo_order.errors import InputError, ParameterError
from fomo_order.fileio import read_json, sha256_file

SPLITS = ("test", "train")
# torchvision's ImageFolder extensions, plus .gif and .jpe; other files in a class folder are ignored (counted).
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif"}
)
EXAMPLES = 3


@dataclass(frozen=True)
class ImageSource:
    """Where the images are.

    ``fif_info=None``: a folder tree ``root/<dataset>/<class name>/<image files>`` (subfolders of a class
    folder are searched too). Otherwise FoMo-in-Flux's layout: ``fif_info/<dataset>_<split>.json`` maps an
    image path relative to ``root`` to a record whose ``classname`` is the class name.
    """

    root: Path
    fif_info: Path | None = None
    split: str | None = None  # FoMo-in-Flux layout only; None = "test"

    def __post_init__(self) -> None:
        if self.split is not None and self.split not in SPLITS:
            raise ParameterError("split", f"unknown split {self.split!r} (choose {' or '.join(SPLITS)})")
        if self.fif_info is None and self.split is not None:
            raise ParameterError("split", "only applies to FoMo-in-Flux info files (fif_info)")

    @property
    def layout(self) -> str:
        return "folder" if self.fif_info is None else "fif-info"

    @property
    def split_name(self) -> str:
        return self.split or "test"


@dataclass(frozen=True)
class ImageListing:
    """Image files per concept (catalog order), sorted; paths are ``root / relative``."""

    relative: list[list[str]]  # per concept: paths relative to the image root (POSIX separators)
    info_files: dict[str, str]  # FoMo-in-Flux layout: info file name -> sha256
    ignored_files: int  # folder layout: files without an image extension

    @property
    def count(self) -> int:
        return sum(len(paths) for paths in self.relative)


def list_images(catalog: Catalog, source: ImageSource) -> ImageListing:
    """The image files of every concept, or an :class:`InputError` naming the file or parameter at fault."""
    root = Path(source.root)
    if not root.is_dir():
        raise InputError(root, "image root not found" if not root.exists() else "image root is not a directory")
    if source.fif_info is None:
        listing = _list_folders(catalog, root)
    else:
        listing = _list_info_files(catalog, Path(source.fif_info), source.split_name)
    _refuse_concepts_without_images(catalog, listing, source)
    return listing


def _list_folders(catalog: Catalog, root: Path) -> ImageListing:
    relative: list[list[str]] = []
    ignored = 0
    for dataset in catalog.datasets:
        directory = root / dataset.name
        known = set(dataset.classes)
        if directory.is_dir():
            unknown = sorted(
                child.name for child in directory.iterdir() if child.is_dir() and not child.name.startswith(".")
            )
            unknown = [name for name in unknown if name not in known]
            if unknown:
                raise InputError(directory, _no_concept_message(dataset.name, unknown))
        for class_name in dataset.classes:
            class_dir = directory / class_name
            files: list[str] = []
            if class_dir.is_dir():
                for path in sorted(class_dir.rglob("*")):
                    if any(part.startswith(".") for part in path.relative_to(class_dir).parts) or not path.is_file():
                        continue
                    if path.suffix.lower() in IMAGE_EXTENSIONS:
                        files.append(path.relative_to(root).as_posix())
                    else:
                        ignored += 1
            relative.append(files)
    return ImageListing(relative=relative, info_files={}, ignored_files=ignored)


def _list_info_files(catalog: Catalog, info_dir: Path, split: str) -> ImageListing:
    if not info_dir.is_dir():
        raise InputError(info_dir, "info directory not found" if not info_dir.exists() else "not a directory")
    relative: list[list[str]] = []
    info_files: dict[str, str] = {}
    for dataset in catalog.datasets:
        path = info_dir / f"{dataset.name}_{split}.json"
        if not path.is_file():
            raise InputError(path, f"info file of dataset {dataset.name!r} ({split} split) not found")
        records = read_json(path)
        if not isinstance(records, dict):
            raise InputError(path, "expected a JSON object mapping image paths to records with a 'classname'")
        per_class: dict[str, list[str]] = {name: [] for name in dataset.classes}
        unknown: list[str] = []
        for image, record in records.items():
            class_name = _classname(record, image, path)
            if class_name in per_class:
                per_class[class_name].append(Path(image).as_posix())
            elif class_name not in unknown:
                unknown.append(class_name)
        if unknown:
            raise InputError(path, _no_concept_message(dataset.name, unknown))
        relative.extend(sorted(per_class[name]) for name in dataset.classes)
        info_files[path.name] = sha256_file(path)
    return ImageListing(relative=relative, info_files=info_files, ignored_files=0)


def _classname(record: Any, image: str, path: Path) -> str:
    if not isinstance(record, dict) or not isinstance(record.get("classname"), str):
        raise InputError(path, f"the record of {image!r} has no string 'classname'")
    if not image or Path(image).is_absolute():
        raise InputError(path, f"image path {image!r} must be relative to the image root")
    return record["classname"]


def _no_concept_message(dataset: str, classes: list[str]) -> str:
    shown = ", ".join(repr(name) for name in classes[:EXAMPLES])
    return f"{len(classes)} class(es) with images are not concepts of dataset {dataset!r} in the catalog, e.g. {shown}"


def _refuse_concepts_without_images(catalog: Catalog, listing: ImageListing, source: ImageSource) -> None:
    empty = [cid for cid, paths in zip(catalog.concept_ids, listing.relative, strict=True) if not paths]
    if empty:
        shown = ", ".join(repr(cid) for cid in empty[:EXAMPLES])
        where = "info files" if source.fif_info is not None else "image folders"
        raise InputError(
            source.fif_info if source.fif_info is not None else source.root,
            f"{len(empty)} of {len(catalog)} concepts have no image in the {where}, e.g. {shown} "
            "(keep only the datasets whose images are at hand)",
        )


def sample_images(
    relative: list[list[str]], max_per_class: int | None, rng: np.random.Generator | None
) -> list[list[str]]:
    """At most ``max_per_class`` images per concept, drawn without replacement (kept in listed order).

    The draws go through the concepts in catalog order with one generator, so the sample depends only
    on the listing and the seed.
    """
    if max_per_class is None:
        return [list(paths) for paths in relative]
    if max_per_class < 1:
        raise ParameterError("max_per_class", f"must be at least 1, got {max_per_class}")
    if rng is None:
        raise ValueError("sampling at most max_per_class images needs a random generator")
    sampled = []
    for paths in relative:
        if len(paths) <= max_per_class:
            sampled.append(list(paths))
        else:
            chosen = np.sort(rng.choice(len(paths), size=max_per_class, replace=False))
            sampled.append([paths[i] for i in chosen])
    return sampled
