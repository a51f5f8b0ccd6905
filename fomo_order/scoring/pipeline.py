"""Catalog + images + open_clip model -> one zero-shot score per concept.

Steps: list the images of every concept (and sample them), embed the captions as ``embed`` does (its
caption cache included), hash the image files, look their features up in the image-feature cache,
decode and encode the rest in batches, then classify every image among its own dataset's classes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from fomo_order.catalog import Catalog
from fomo_order.embed.cache import EmbeddingCache, model_key
from fomo_order.embed.openclip_backend import OpenClipEncoder
from fomo_order.embed.pipeline import ENSEMBLING, embed_catalog
from fomo_order.embed.settings import EmbedSettings, resolve_runtime
from fomo_order.errors import InputError, ParameterError
from fomo_order.scoring.decode import ImageFiles, decode_files, hash_files
from fomo_order.scoring.images import EXAMPLES, ImageSource, list_images, sample_images
from fomo_order.scoring.zeroshot import METRIC_DEFINITIONS, METRICS, zero_shot_scores

IMAGE_CACHE_DIRECTORY = "images"  # under the embed cache root: image features beside caption vectors


class ScoreProgress(Protocol):
    def __call__(self, stage: str, done: int, total: int) -> None:
        """``stage``: "captions" (embedding captions), "hashing" (reading image files) or "images"
        (decoding and encoding images); ``done`` of ``total`` items of that stage."""


@dataclass(frozen=True)
class ScoreResult:
    scores: dict[str, float]  # concept id -> score, catalog order
    images: dict[str, int]  # concept id -> number of images scored
    meta: dict[str, Any]  # the meta file's fields (no cache state, no timestamps)
    skipped: list[tuple[str, str]]  # (image path relative to the root, reason) of unreadable images
    encoded: int  # distinct images run through the model now
    cached: int  # distinct images whose features came from the cache
    cache_directory: Path | None


def score_catalog(
    catalog: Catalog,
    images: ImageSource,
    settings: EmbedSettings,
    metric: str = "accuracy",
    max_per_class: int | None = None,
    rng: np.random.Generator | None = None,
    workers: int = 0,
    cache_root: Path | None = None,
    progress: ScoreProgress | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> ScoreResult:
    """Zero-shot score of every concept of ``catalog`` on its images with an open_clip model.

    ``max_per_class``: at most that many images per concept, drawn with ``rng``. ``workers``: decoding
    processes (0: decode here). ``cache_root``: the embed cache root (caption vectors, and image features
    under ``images/``); None disables both caches. ``log`` gets one-line notes and warnings (model
    loading, unreadable images). Raises :class:`InputError` for bad input.
    """
    if metric not in METRICS:
        raise ParameterError("metric", f"unknown metric {metric!r} (choose {' or '.join(METRICS)})")
    if settings.backend != "openclip":
        raise ParameterError("backend", "scoring images needs an open_clip model")
    if workers < 0:
        raise ParameterError("workers", f"must be 0 or more, got {workers}")
    listing = list_images(catalog, images)
    sampled = sample_images(listing.relative, max_per_class, rng)
    root = Path(images.root)
    image_paths = [path for paths in sampled for path in paths]
    image_concepts = np.repeat(np.arange(len(catalog)), [len(paths) for paths in sampled])

    runtime = resolve_runtime(settings)
    encoder = OpenClipEncoder(settings, runtime, log, keep_image_tower=True)
    text = embed_catalog(
        catalog,
        settings,
        cache_root=cache_root,
        reporter=_CaptionReporter(progress, log),
        encoder=encoder,
    )

    def hashing_progress(done: int) -> None:
        if progress is not None:
            progress("hashing", done, len(image_paths))

    hashed = hash_files([root / path for path in image_paths], threads=max(2, workers), progress=hashing_progress)
    skipped = {i: h.error for i, h in enumerate(hashed) if h.error is not None}

    identity = {
        **encoder.identity(),
        "features": "image",
        "image_versions": {"torchvision": version("torchvision"), "pillow": version("pillow")},
    }
    image_root = None if cache_root is None else Path(cache_root) / IMAGE_CACHE_DIRECTORY
    cache = EmbeddingCache.for_model(image_root, identity, warn=log)
    readable = [i for i in range(len(image_paths)) if i not in skipped]
    distinct = list(dict.fromkeys(hashed[i].digest for i in readable))
    found, cached_vectors = cache.lookup(distinct)
    vector_of: dict[bytes, np.ndarray] = {}
    if cached_vectors is not None:
        vector_of.update(zip([d for d, hit in zip(distinct, found, strict=True) if hit], cached_vectors, strict=True))
    missing = [digest for digest, hit in zip(distinct, found, strict=True) if not hit]

    info = cache.info or {}
    model_facts = info if info.get("identity") == identity and not missing else None
    if model_facts is None or "logit_scale" not in model_facts or "transform" not in model_facts:
        from fomo_order.scoring.tower import ImageTower

        tower = ImageTower(encoder, runtime)
        model_facts = {"identity": identity, "logit_scale": tower.logit_scale, "transform": tower.describe_transform()}
        cache.record_info(model_facts)
        if missing:
            failed = _encode_missing(
                tower, root, image_paths, hashed, missing, settings.batch_size, workers, cache, vector_of, progress
            )
            for i in readable:
                if hashed[i].digest in failed:
                    skipped[i] = failed[hashed[i].digest]

    if skipped:
        examples = "; ".join(f"{image_paths[i]} ({reason})" for i, reason in list(sorted(skipped.items()))[:EXAMPLES])
        log(f"warning: skipped {len(skipped)} unreadable image(s) of {len(image_paths)}, e.g. {examples}")
    used = np.array([i for i in range(len(image_paths)) if i not in skipped], dtype=np.int64)
    features = np.stack([vector_of[hashed[i].digest] for i in used]) if used.size else np.zeros((0, 1), np.float32)
    per_concept = np.bincount(image_concepts[used], minlength=len(catalog))
    without = [cid for cid, n in zip(catalog.concept_ids, per_concept, strict=True) if n == 0]
    if without:
        shown = ", ".join(repr(cid) for cid in without[:EXAMPLES])
        raise InputError(root, f"{len(without)} of {len(catalog)} concepts have no readable image, e.g. {shown}")
    values = zero_shot_scores(
        features, image_concepts[used], text.matrix, catalog.dataset_of_concept, metric, model_facts["logit_scale"]
    )

    meta = {
        **text.meta,
        "metric": metric,
        "metric_definition": METRIC_DEFINITIONS[metric],
        "logit_scale": model_facts["logit_scale"],
        "classifier": f"per dataset, the concepts' caption embeddings ({ENSEMBLING})",
        "image_transform": model_facts["transform"],
        "image_model_key": model_key(identity),
        "images": {
            "layout": images.layout,
            "root": str(images.root),
            **(
                {"fif_info": str(images.fif_info), "split": images.split_name, "info_files": listing.info_files}
                if images.fif_info is not None
                else {"ignored_non_image_files": listing.ignored_files}
            ),
            "listed": listing.count,
            "max_per_class": max_per_class,
            "sampled": len(image_paths),
            "scored": int(used.size),
            "unreadable": {
                "count": len(skipped),
                "examples": [{"path": image_paths[i], "reason": r} for i, r in sorted(skipped.items())[:10]],
            },
            "per_concept": {"min": int(per_concept.min()), "max": int(per_concept.max())},
        },
        "tied_concepts": tied_concepts(values),
    }
    return ScoreResult(
        scores={cid: float(v) for cid, v in zip(catalog.concept_ids, values, strict=True)},
        images={cid: int(n) for cid, n in zip(catalog.concept_ids, per_concept, strict=True)},
        meta=meta,
        skipped=[(image_paths[i], r) for i, r in sorted(skipped.items())],
        encoded=len(missing),
        cached=int(found.sum()),
        cache_directory=cache.directory,
    )


def tied_concepts(values: np.ndarray) -> int:
    """How many concepts share their score with another concept (the performance ordering breaks such
    ties by its seed, not by the model)."""
    _, counts = np.unique(values, return_counts=True)
    return int(counts[counts > 1].sum())


def _encode_missing(
    tower: Any,
    root: Path,
    image_paths: list[str],
    hashed: list[Any],
    missing: list[bytes],
    batch_size: int,
    workers: int,
    cache: EmbeddingCache,
    vector_of: dict[bytes, np.ndarray],
    progress: ScoreProgress | None,
) -> dict[bytes, str]:
    """Decode and encode one file per missing digest; returns the digests that failed, with the reason."""
    from fomo_order.scoring.tower import padded_rows

    path_of: dict[bytes, Path] = {}
    for path, h in zip(image_paths, hashed, strict=True):
        if h.digest is not None:
            path_of.setdefault(h.digest, root / path)
    files = ImageFiles([path_of[d] for d in missing], missing, tower.split.pil_stage)
    failed: dict[bytes, str] = {}
    pending: list[tuple[bytes, np.ndarray]] = []
    done = 0
    batch_rows = padded_rows(batch_size)  # a batch is padded to whole blocks anyway: fill them with images

    def run(batch: list[tuple[bytes, np.ndarray]]) -> None:
        nonlocal done
        digests = [digest for digest, _ in batch]
        vectors = tower.encode(np.stack([array for _, array in batch]))
        if not np.isfinite(vectors).all() or not vectors.any(axis=1).all():
            raise ParameterError(
                "model", f"{tower.name} gave a NaN, infinite or zero image feature (try fp32 precision)"
            )
        vector_of.update(zip(digests, vectors, strict=True))
        cache.add(digests, vectors)
        done += len(batch)
        if progress is not None:
            progress("images", done + len(failed), len(missing))

    if progress is not None:
        progress("images", 0, len(missing))
    try:
        for item in decode_files(files, workers):
            if item.array is None:
                failed[missing[item.index]] = item.error or "unreadable"
                continue
            pending.append((missing[item.index], item.array))
            if len(pending) >= batch_rows:
                run(pending)
                pending = []
        if pending:
            run(pending)
    finally:
        cache.flush()  # keep what was computed, even when interrupted
    return failed


class _CaptionReporter:
    """Embedding's :class:`~fomo_order.progress.Reporter` calls as this module's ``(stage, done, total)``."""

    def __init__(self, progress: ScoreProgress | None, log: Callable[[str], None]) -> None:
        self.progress, self.note = progress, log
        self.done = self.total = 0

    def start(self, total: int, description: str, unit: str) -> None:
        self.done, self.total = 0, total
        if self.progress is not None:
            self.progress("captions", 0, total)

    def advance(self, amount: int) -> None:
        self.done += amount
        if self.progress is not None:
            self.progress("captions", self.done, self.total)

    def finish(self) -> None:
        pass
