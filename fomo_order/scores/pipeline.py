"""Catalog + images + open_clip model -> one zero-shot score per concept.

Steps: list the images of every concept (and sample them), embed the captions as ``embed`` does (its
caption cache included), hash the image files, look their features up in the image-feature cache,
decode and encode the rest in batches, then classify every image among its own dataset's classes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import numpy as np

from fomo_order.catalog import Catalog
from fomo_order.embeddings.cache import EmbeddingCache
from fomo_order.embeddings.openclip_backend import OpenClipEncoder
from fomo_order.embeddings.pipeline import ENSEMBLING, EmbedResult, embed_catalog
from fomo_order.embeddings.settings import EmbedSettings, Runtime, resolve_runtime
from fomo_order.errors import InputError, ParameterError
from fomo_order.progress import SILENT, Reporter
from fomo_order.scores.decode import Hashed, ImageFiles, decode_files, hash_files
from fomo_order.scores.images import EXAMPLES, ImageListing, ImageSource, list_images, sample_images
from fomo_order.scores.result import ScoreResult
from fomo_order.scores.settings import DEFAULT_BATCH_SIZE, default_workers
from fomo_order.scores.zeroshot import METRIC_DEFINITIONS, METRICS, zero_shot_scores

IMAGE_CACHE_DIRECTORY = "images"  # under the embed cache root: image features beside caption vectors


@dataclass(frozen=True)
class _Sample:
    """The images to score: paths relative to ``root``, and the concept (catalog row) of each."""

    listing: ImageListing
    root: Path
    paths: list[str]
    concepts: np.ndarray


@dataclass(frozen=True)
class _ImageFeatures:
    """Every readable image's raw features (by file digest), the images that could not be used (index ->
    reason), what the image cache recorded of the model (identity, logit scale, transform), and counts."""

    hashed: list[Hashed]
    vector_of: dict[bytes, np.ndarray]
    skipped: dict[int, str]
    model_facts: dict[str, Any]
    encoded: int
    cached: int
    cache_directory: Path | None


def score(
    catalog: Catalog,
    images: ImageSource | str | Path,
    settings: EmbedSettings | None = None,
    *,
    metric: str = "accuracy",
    max_per_class: int | None = None,
    seed: int = 0,
    workers: int | None = None,
    cache_root: Path | None = None,
    reporter: Reporter = SILENT,
    argv: list[str] | None = None,
) -> ScoreResult:
    """Each concept's zero-shot score on its own images, with the meta of the scores artifact.

    ``images``: an :class:`ImageSource` (or a folder-tree root). ``settings`` defaults to open_clip
    ViT-L-14 with the OpenAI weights, batches of DEFAULT_BATCH_SIZE. ``metric``: ``accuracy`` or
    ``probability``. ``max_per_class``: at most that many images per concept, a sample drawn with ``seed``.
    ``workers``: decoding processes (None: :func:`default_workers`; 0: decode here). ``cache_root``: the
    embed cache root (None: no cache). ``reporter`` gets the phases (captions, reading images, encoding
    images) and notes (model loading, unreadable images). ``argv``: the command line the meta records.
    ``result.write(path)`` writes the scores file and its meta.
    """
    from fomo_order.artifacts.meta import make_meta

    source = images if isinstance(images, ImageSource) else ImageSource(root=Path(images))
    result = score_catalog(
        catalog,
        source,
        settings or EmbedSettings(batch_size=DEFAULT_BATCH_SIZE),
        metric=metric,
        max_per_class=max_per_class,
        rng=np.random.default_rng(seed),
        workers=default_workers() if workers is None else workers,
        cache_root=cache_root,
        reporter=reporter,
    )
    meta = make_meta(
        "score",
        argv=argv,
        inputs={"catalog": catalog.record()},
        **result.meta,
        seed=seed if max_per_class is not None else None,
        concepts=len(catalog),
    )
    return replace(result, meta=meta)


def score_catalog(
    catalog: Catalog,
    images: ImageSource,
    settings: EmbedSettings,
    metric: str = "accuracy",
    max_per_class: int | None = None,
    rng: np.random.Generator | None = None,
    workers: int = 0,
    cache_root: Path | None = None,
    reporter: Reporter = SILENT,
) -> ScoreResult:
    """Zero-shot score of every concept of ``catalog`` on its images with an open_clip model.

    ``max_per_class``: at most that many images per concept, drawn with ``rng``. ``workers``: decoding
    processes (0: decode here). ``cache_root``: the embed cache root (caption vectors, and image features
    under ``images/``); None disables both caches. ``reporter`` gets the phases and one-line notes and
    warnings (model loading, unreadable images). The result's ``meta`` holds the facts without the fields
    every artifact starts with (:func:`score` adds those). Raises :class:`InputError` for bad input.
    """
    if metric not in METRICS:
        raise ParameterError("metric", f"unknown metric {metric!r} (choose {' or '.join(METRICS)})")
    if settings.backend != "openclip":
        raise ParameterError("backend", "scoring images needs an open_clip model")
    if workers < 0:
        raise ParameterError("workers", f"must be 0 or more, got {workers}")
    sample = _sample(catalog, images, max_per_class, rng)
    runtime = resolve_runtime(settings)
    encoder = OpenClipEncoder(settings, runtime, reporter.note, keep_image_tower=True)
    text = embed_catalog(catalog, settings, cache_root=cache_root, reporter=reporter, encoder=encoder)
    features = _image_features(sample, encoder, runtime, settings, workers, cache_root, reporter)
    skipped = features.skipped
    if skipped:
        shown = "; ".join(f"{sample.paths[i]} ({reason})" for i, reason in sorted(skipped.items())[:EXAMPLES])
        reporter.note(f"warning: skipped {len(skipped)} unreadable image(s) of {len(sample.paths)}, e.g. {shown}")
    used = np.array([i for i in range(len(sample.paths)) if i not in skipped], dtype=np.int64)
    per_concept = np.bincount(sample.concepts[used], minlength=len(catalog))
    without = [cid for cid, n in zip(catalog.concept_ids, per_concept, strict=True) if n == 0]
    if without:
        shown = ", ".join(repr(cid) for cid in without[:EXAMPLES])
        raise InputError(sample.root, f"{len(without)} of {len(catalog)} concepts have no readable image, e.g. {shown}")
    image_features = np.stack([features.vector_of[features.hashed[i].digest] for i in used])
    values = zero_shot_scores(
        image_features,
        sample.concepts[used],
        text.matrix,
        catalog.dataset_of_concept,
        metric,
        features.model_facts["logit_scale"],
    )
    return ScoreResult(
        scores={cid: float(v) for cid, v in zip(catalog.concept_ids, values, strict=True)},
        meta=_score_facts(text, features, sample, images, metric, max_per_class, used, per_concept, values),
        images={cid: int(n) for cid, n in zip(catalog.concept_ids, per_concept, strict=True)},
        digits=None,
        skipped=[(sample.paths[i], reason) for i, reason in sorted(skipped.items())],
        encoded=features.encoded,
        cached=features.cached,
        cache_directory=features.cache_directory,
    )


def _sample(
    catalog: Catalog, images: ImageSource, max_per_class: int | None, rng: np.random.Generator | None
) -> _Sample:
    listing = list_images(catalog, images)
    sampled = sample_images(listing.relative, max_per_class, rng)
    paths = [path for paths in sampled for path in paths]
    concepts = np.repeat(np.arange(len(catalog)), [len(paths) for paths in sampled])
    return _Sample(listing=listing, root=Path(images.root), paths=paths, concepts=concepts)


def image_versions() -> dict[str, str]:
    """The libraries that turn an image file into the model's input, besides torch."""
    return {"torchvision": version("torchvision"), "pillow": version("pillow")}


def _image_features(
    sample: _Sample,
    encoder: OpenClipEncoder,
    runtime: Runtime,
    settings: EmbedSettings,
    workers: int,
    cache_root: Path | None,
    reporter: Reporter,
) -> _ImageFeatures:
    """Hash every sampled file, take the features the image cache has, decode and encode the rest."""
    reporter.start(len(sample.paths), "reading images", "images")
    try:
        hashed = hash_files([sample.root / p for p in sample.paths], threads=max(2, workers), advance=reporter.advance)
    finally:
        reporter.finish()
    skipped = {i: h.error for i, h in enumerate(hashed) if h.error is not None}
    identity = {**encoder.identity(), "features": "image", "image_versions": image_versions()}
    image_root = None if cache_root is None else Path(cache_root) / IMAGE_CACHE_DIRECTORY
    cache = EmbeddingCache.for_model(image_root, identity, warn=reporter.note)
    readable = [i for i in range(len(sample.paths)) if i not in skipped]
    digest_of = {i: cast(bytes, hashed[i].digest) for i in readable}  # a file read has its digest
    distinct = list(dict.fromkeys(digest_of.values()))
    found, cached_vectors = cache.lookup(distinct)
    vector_of: dict[bytes, np.ndarray] = {}
    if cached_vectors is not None:
        vector_of.update(zip([d for d, hit in zip(distinct, found, strict=True) if hit], cached_vectors, strict=True))
    missing = [digest for digest, hit in zip(distinct, found, strict=True) if not hit]

    # A fully cached run needs no model: the cache records the tower's logit scale and transform.
    info = cache.info or {}
    model_facts = info if info.get("identity") == identity and not missing else None
    if model_facts is None or "logit_scale" not in model_facts or "transform" not in model_facts:
        from fomo_order.scores.tower import ImageTower

        tower = ImageTower(encoder, runtime)
        model_facts = {"identity": identity, "logit_scale": tower.logit_scale, "transform": tower.describe_transform()}
        cache.record_info(model_facts)
        if missing:
            batches = _ImageBatches(tower, cache, vector_of, reporter)
            failed = batches.encode(sample, hashed, missing, settings.batch_size, workers)
            skipped.update({i: failed[digest_of[i]] for i in readable if digest_of[i] in failed})
    return _ImageFeatures(
        hashed=hashed,
        vector_of=vector_of,
        skipped=skipped,
        model_facts=model_facts,
        encoded=len(missing),
        cached=int(found.sum()),
        cache_directory=cache.directory,
    )


def _score_facts(
    text: EmbedResult,
    features: _ImageFeatures,
    sample: _Sample,
    images: ImageSource,
    metric: str,
    max_per_class: int | None,
    used: np.ndarray,
    per_concept: np.ndarray,
    values: np.ndarray,
) -> dict[str, Any]:
    """The meta's facts: the text side as ``embed`` records it, the image side, and the images scored."""
    listing, skipped = sample.listing, features.skipped
    layout: dict[str, Any]
    if images.fif_info is not None:
        layout = {"fif_info": str(images.fif_info), "split": images.split_name, "info_files": listing.info_files}
    else:
        layout = {"ignored_non_image_files": listing.ignored_files}
    return {
        **text.meta,
        "versions": {**text.meta["versions"], **features.model_facts["identity"]["image_versions"]},
        "metric": metric,
        "metric_definition": METRIC_DEFINITIONS[metric],
        "logit_scale": features.model_facts["logit_scale"],
        "classifier": f"per dataset, the concepts' caption embeddings ({ENSEMBLING})",
        "image_transform": features.model_facts["transform"],
        "images": {
            "layout": images.layout,
            "root": str(images.root),
            **layout,
            "listed": listing.count,
            "max_per_class": max_per_class,
            "sampled": len(sample.paths),
            "scored": int(used.size),
            "unreadable": {
                "count": len(skipped),
                "examples": [{"path": sample.paths[i], "reason": r} for i, r in sorted(skipped.items())[:10]],
            },
            "per_concept": {"min": int(per_concept.min()), "max": int(per_concept.max())},
        },
        "tied_concepts": tied_concepts(values),
    }


def tied_concepts(values: np.ndarray) -> int:
    """How many concepts share their score with another concept (the performance ordering breaks such
    ties by its seed, not by the model)."""
    _, counts = np.unique(values, return_counts=True)
    return int(counts[counts > 1].sum())


class _ImageBatches:
    """Decodes the files whose features are missing and runs them through the image tower in batches,
    keeping (and caching) every feature and reporting each image done."""

    def __init__(
        self, tower: Any, cache: EmbeddingCache, vector_of: dict[bytes, np.ndarray], reporter: Reporter
    ) -> None:
        self.tower, self.cache, self.vector_of, self.reporter = tower, cache, vector_of, reporter

    def encode(
        self, sample: _Sample, hashed: list[Hashed], missing: list[bytes], batch_size: int, workers: int
    ) -> dict[bytes, str]:
        """Decode and encode one file per missing digest; returns the digests that failed, with the reason."""
        from fomo_order.scores.tower import padded_rows

        path_of: dict[bytes, Path] = {}
        for path, h in zip(sample.paths, hashed, strict=True):
            if h.digest is not None:
                path_of.setdefault(h.digest, sample.root / path)
        files = ImageFiles([path_of[d] for d in missing], missing, self.tower.split.pil_stage)
        failed: dict[bytes, str] = {}
        pending: list[tuple[bytes, np.ndarray]] = []
        batch_rows = padded_rows(batch_size)  # a batch is padded to whole blocks anyway: fill them with images
        self.reporter.start(len(missing), "encoding images", "images")
        try:
            for item in decode_files(files, workers):
                if item.array is None:
                    failed[missing[item.index]] = item.error or "unreadable"
                    self.reporter.advance(1)
                    continue
                pending.append((missing[item.index], item.array))
                if len(pending) >= batch_rows:
                    self._run(pending)
                    pending = []
            if pending:
                self._run(pending)
        finally:
            self.cache.flush()  # keep what was computed, even when interrupted
            self.reporter.finish()
        return failed

    def _run(self, batch: list[tuple[bytes, np.ndarray]]) -> None:
        digests = [digest for digest, _ in batch]
        vectors = self.tower.encode(np.stack([array for _, array in batch]))
        if not np.isfinite(vectors).all() or not vectors.any(axis=1).all():
            raise ParameterError(
                "model", f"{self.tower.name} gave a NaN, infinite or zero image feature (try fp32 precision)"
            )
        self.vector_of.update(zip(digests, vectors, strict=True))
        self.cache.add(digests, vectors)
        self.reporter.advance(len(batch))
