"""Catalog -> one unit vector per concept: captions, cache lookup, the model for what is missing,
prompt ensembling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.artifacts.result import Written
from fomo_order.catalog import Catalog
from fomo_order.embeddings.cache import EmbeddingCache
from fomo_order.embeddings.captions import caption_digest, captions_sha256, concept_captions, ensemble, unique_captions
from fomo_order.embeddings.encoder import TextEncoder
from fomo_order.embeddings.settings import EmbedSettings, Runtime, resolve_runtime
from fomo_order.errors import ParameterError
from fomo_order.progress import SILENT, Reporter

ENSEMBLING = "each caption L2-normalised, mean over a concept's templates, L2-normalised"
INFO_KEYS = {"identity", "text_forward", "dim"}


class _DimensionMismatchError(Exception):
    def __init__(self, recorded: int, actual: int) -> None:
        super().__init__(f"dimension {recorded} recorded, {actual} computed")
        self.recorded, self.actual = recorded, actual


def checked_info(cache: EmbeddingCache, identity: dict[str, Any], model_dim: int | None) -> dict[str, Any] | None:
    """The cache's ``model.json`` when it has exactly the expected keys, of the expected types, for this
    model (and its dimension, where the model's config tells it); else None (with a warning; it is written
    again), so nothing unchecked reaches the sidecar."""
    info = cache.info
    if info is None:
        return None
    dim = info.get("dim")
    if model_dim is not None and dim != model_dim:
        cache.set_aside_info(f"it gives the vectors' dimension as {dim!r}, the model's config {model_dim}")
        return None
    if (
        set(info) != INFO_KEYS
        or info["identity"] != identity
        or not isinstance(info["text_forward"], str)
        or not info["text_forward"].isprintable()
        or len(info["text_forward"]) > 1000
        or type(dim) is not int
        or not 0 < dim <= 1 << 20
    ):
        cache.set_aside_info("not the expected 'identity', 'text_forward' and 'dim' of this model")
        return None
    return info


def probe_dimension(encoder: TextEncoder, caption: str) -> int:
    """The dimension of the model's vectors, from one caption."""
    dims: list[int] = []
    encoder.encode([caption], lambda batch, vectors: dims.append(int(vectors.shape[1])))
    return dims[0]


@dataclass(frozen=True)
class EmbedResult(Written):
    """One unit vector per concept and the sidecar's fields; ``result.write(path)`` writes ``path`` (.npy)
    and its ``.json`` sidecar, the bytes `fomo-order embed` writes."""

    matrix: np.ndarray  # float32, one unit row per concept, catalog order
    concept_ids: list[str]
    meta: dict[str, Any]  # the sidecar's fields (no timestamps, no cache state)
    captions: int  # distinct captions
    computed: int  # of those, run through the model now
    cached: int  # of those, read from the cache
    cache_directory: Path | None

    def files(self, path: Path) -> dict[Path, bytes]:
        from fomo_order.artifacts.embeddings import embeddings_files

        return embeddings_files(path, self.matrix, self.concept_ids, self.meta)


def make_encoder(settings: EmbedSettings, runtime: Runtime, log: Callable[[str], None]) -> TextEncoder:
    if settings.backend == "openclip":
        from fomo_order.embeddings.openclip_backend import OpenClipEncoder

        return OpenClipEncoder(settings, runtime, log)
    from fomo_order.embeddings.sentence_transformers_backend import SentenceTransformerEncoder

    return SentenceTransformerEncoder(settings, runtime, log)


class _CaptionVectors:
    """The distinct captions' vectors as they arrive: the cached ones, then the model's batch by batch
    (each batch checked, kept, added to the cache and reported)."""

    def __init__(
        self,
        captions: list[str],
        digests: list[bytes],
        missing: np.ndarray,
        cache: EmbeddingCache,
        info: dict[str, Any],
        model_name: str,
        precision: str,
        reporter: Reporter,
    ) -> None:
        self.captions, self.digests, self.missing, self.cache = captions, digests, missing, cache
        self.info = info  # identity, text_forward, dim (None until known)
        self.model_name, self.precision, self.reporter = model_name, precision, reporter
        self.vectors: np.ndarray | None = None

    def place_cached(self, found: np.ndarray, cached_vectors: np.ndarray | None) -> None:
        if cached_vectors is not None:
            self.vectors = np.empty((len(self.captions), cached_vectors.shape[1]), dtype=np.float32)
            self.vectors[found] = cached_vectors
        if self.info["dim"] is not None:  # (else it is recorded with the first vectors computed)
            self.cache.record_info(dict(self.info))

    def __call__(self, batch: np.ndarray, batch_vectors: np.ndarray) -> None:
        bad = ~np.isfinite(batch_vectors).all(axis=1) | ~batch_vectors.any(axis=1)
        if bad.any():  # refused before it reaches the cache
            caption = self.captions[self.missing[batch[np.flatnonzero(bad)[0]]]]
            hint = " (try precision fp32)" if self.precision != "fp32" else ""
            problem = f"{self.model_name} gave a NaN, infinite or zero vector for {caption!r}{hint}"
            raise ParameterError("model", problem)
        dim = self.info["dim"]
        if dim is None:
            dim = self.info["dim"] = int(batch_vectors.shape[1])
        if batch_vectors.shape[1] != dim:  # model.json named another dimension than the model gives
            raise _DimensionMismatchError(dim, int(batch_vectors.shape[1]))
        if self.vectors is None:
            self.vectors = np.empty((len(self.captions), dim), dtype=np.float32)
        self.cache.record_info(dict(self.info))
        rows = self.missing[batch]
        self.vectors[rows] = batch_vectors
        self.cache.add([self.digests[row] for row in rows], batch_vectors)
        self.reporter.advance(int(batch.size))


def _known_dimension(
    cache: EmbeddingCache,
    info: dict[str, Any] | None,
    model_dim: int | None,
    encoder: TextEncoder,
    captions: list[str],
) -> int | None:
    """The vectors' dimension before any cached vector is used: the cache's checked record of how its vectors
    were computed (so a fully cached run needs no model), else the model's config, else (when the cache holds
    vectors to check) one caption through the model. None: learnt from the first vectors computed."""
    dim = info["dim"] if info is not None else model_dim
    if dim is None and len(cache):
        dim = probe_dimension(encoder, captions[0])
    if dim is not None:
        cache.keep_dimension(dim)
    return dim


def _encode_missing(
    encoder: TextEncoder, sink: _CaptionVectors, reporter: Reporter, retried: bool
) -> _DimensionMismatchError | None:
    """Run the captions the cache lacks through the model; the mismatch when the model's dimension is not
    the one the cache recorded (the caller sets the record aside and starts again)."""
    if not sink.missing.size:
        return None
    reporter.start(int(sink.missing.size), "embedding captions", "captions")
    try:
        encoder.encode([sink.captions[row] for row in sink.missing], sink)
    except _DimensionMismatchError as exc:
        if retried:  # the model changed its dimension between two runs of it: a bug, not a cache fault
            raise RuntimeError(f"{sink.model_name} gave vectors of two dimensions") from None
        return exc
    finally:
        sink.cache.flush()  # keep what was computed, even when interrupted
        reporter.finish()
    return None


def embed_catalog(
    catalog: Catalog,
    settings: EmbedSettings,
    cache_root: Path | None = None,
    reporter: Reporter = SILENT,
    encoder: TextEncoder | None = None,
    _retried: bool = False,
) -> EmbedResult:
    """Embed every concept's captions (cached ones are not recomputed) and ensemble them per concept.

    ``cache_root=None`` disables the cache; ``reporter`` is told of the captions embedded, batch by batch,
    and gets one-line notes (model loading, cache warnings). ``encoder``: one made for ``settings`` by the
    caller (``score`` shares its model with the image side), else one is made. The result's ``meta`` holds
    the sidecar's facts without the fields every artifact starts with (:func:`embed` adds those).
    """
    per_concept = concept_captions(catalog)
    captions, rows_per_concept = unique_captions(per_concept)
    runtime = resolve_runtime(settings)
    if encoder is None:
        encoder = make_encoder(settings, runtime, reporter.note)
    identity = encoder.identity()
    # The dimension the model's config gives (not trusted again on a retry: the vectors it computed differed).
    model_dim = None if _retried else getattr(encoder, "dimension", lambda: None)()
    cache = EmbeddingCache.for_model(cache_root, identity, warn=reporter.note, dim=model_dim)
    info = checked_info(cache, identity, model_dim)
    dim = _known_dimension(cache, info, model_dim, encoder, captions)
    digests = [caption_digest(caption) for caption in captions]
    found, cached_vectors = cache.lookup(digests)
    missing = np.flatnonzero(~found)
    text_forward = info["text_forward"] if info is not None and missing.size == 0 else encoder.text_forward()
    record = {"identity": identity, "text_forward": text_forward, "dim": dim}
    sink = _CaptionVectors(captions, digests, missing, cache, record, settings.model_name, runtime.precision, reporter)
    sink.place_cached(found, cached_vectors)
    mismatch = _encode_missing(encoder, sink, reporter, _retried)
    if mismatch is not None:
        cache.set_aside_info(f"it gives vectors of dimension {mismatch.recorded}, the model {mismatch.actual}")
        return embed_catalog(catalog, settings, cache_root, reporter, encoder, _retried=True)
    assert sink.vectors is not None
    meta = {
        **encoder.describe(),
        "precision": runtime.precision,
        "device": runtime.device,
        "text_forward": text_forward,
        "templates": {dataset.name: list(dataset.templates) for dataset in catalog.datasets},
        "captions": {"distinct": len(captions), "sha256": captions_sha256(per_concept)},
        "ensembling": ENSEMBLING,
        # What decides the vectors besides the model: the libraries that ran it (the cache's key hashes
        # these; the sidecar names them readably, so two installs of one lock write the same bytes).
        "versions": dict(identity["versions"]),
    }
    return EmbedResult(
        matrix=ensemble(sink.vectors, rows_per_concept),
        concept_ids=catalog.concept_ids,
        meta=meta,
        captions=len(captions),
        computed=int(missing.size),
        cached=int(found.sum()),
        cache_directory=cache.directory,
    )


def embed(
    catalog: Catalog,
    settings: EmbedSettings | None = None,
    *,
    cache_root: Path | None = None,
    reporter: Reporter = SILENT,
    argv: list[str] | None = None,
) -> EmbedResult:
    """:func:`embed_catalog`, with the meta of the embeddings artifact (its sidecar) in ``meta``.

    ``settings`` defaults to :class:`EmbedSettings()` (open_clip ViT-L-14, OpenAI weights). ``cache_root``
    None: no caption cache (pass :func:`fomo_order.embeddings.default_cache_root` for the usual one). ``argv``:
    the command line the sidecar records (None from Python). ``result.write(path)`` writes the artifact.
    """
    from fomo_order.artifacts.meta import make_meta

    result = embed_catalog(catalog, settings or EmbedSettings(), cache_root=cache_root, reporter=reporter)
    meta = make_meta("embed", argv=argv, inputs={"catalog": catalog.record()}, **result.meta)
    return replace(result, meta=meta)
