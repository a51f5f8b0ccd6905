"""The model-free parts of `embed`: batching by token length, prompt ensembling, the caption cache."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fomo_order.embeddings import cache as cache_module
from fomo_order.embeddings.batching import MIN_BATCH_ROWS, pad_batch, plan_batches
from fomo_order.embeddings.cache import EmbeddingCache, model_key
from fomo_order.embeddings.captions import caption_digest, ensemble, unique_captions


@settings(max_examples=200, deadline=None)
@given(lengths=st.lists(st.integers(1, 77), max_size=300), batch_size=st.integers(1, 64))
def test_batches_cover_every_caption_once_with_one_length_each(lengths: list[int], batch_size: int) -> None:
    lengths_array = np.array(lengths, dtype=np.int64)
    batches = plan_batches(lengths_array, batch_size)
    seen = np.concatenate(batches) if batches else np.array([], dtype=np.int64)
    assert sorted(seen.tolist()) == list(range(len(lengths)))
    for batch in batches:
        assert 1 <= batch.size <= batch_size
        assert len(set(lengths_array[batch].tolist())) == 1
    # a length's captions are split evenly: no batch is a small remainder of a larger one
    for length in set(lengths):
        sizes = [b.size for b in batches if lengths_array[b[0]] == length]
        assert max(sizes) - min(sizes) <= 1
    batch_lengths = [int(lengths_array[b[0]]) for b in batches]
    assert batch_lengths == sorted(batch_lengths)


def test_pad_batch_repeats_the_first_row() -> None:
    padded = pad_batch(np.array([7, 3, 5]))
    assert padded.size == MIN_BATCH_ROWS and padded[:3].tolist() == [7, 3, 5] and set(padded[3:].tolist()) == {7}
    big = np.arange(40)
    assert pad_batch(big) is big


def test_unique_captions_embed_shared_captions_once() -> None:
    captions, rows = unique_captions([["a cat", "a cat pattern"], ["a dog"], ["a cat"]])
    assert captions == ["a cat", "a cat pattern", "a dog"]
    assert [r.tolist() for r in rows] == [[0, 1], [2], [0]]


def test_ensemble_is_the_normalised_mean_of_normalised_vectors() -> None:
    vectors = np.array([[3.0, 0.0, 0.0], [0.0, 0.5, 0.0], [1.0, 1.0, 1.0]], dtype=np.float32)
    result = ensemble(vectors, [np.array([0, 1]), np.array([2]), np.array([0, 1, 2])])
    assert result.dtype == np.float32
    np.testing.assert_allclose(result[0], [np.sqrt(0.5), np.sqrt(0.5), 0.0], atol=1e-7)
    np.testing.assert_allclose(result[1], np.ones(3) / np.sqrt(3), atol=1e-7)
    mean = np.array([1.0, 1.0, 0.0]) + np.ones(3) / np.sqrt(3)
    np.testing.assert_allclose(result[2], mean / np.linalg.norm(mean), atol=1e-7)
    with pytest.raises(ValueError):
        ensemble(np.zeros((1, 3), dtype=np.float32), [np.array([0])])


IDENTITY = {"backend": "openclip", "model": "ViT-B/32", "weights": {"tag": "openai"}, "precision": "fp32"}


def test_model_key_is_readable_and_changes_with_the_identity() -> None:
    key = model_key(IDENTITY)
    assert key.startswith("openclip-ViT-B_32-") and "/" not in key
    assert model_key(dict(IDENTITY)) == key
    assert model_key({**IDENTITY, "precision": "fp16"}) != key


def vectors_for(captions: list[str], dim: int = 8) -> np.ndarray:
    rng = np.random.default_rng(len(captions))
    return rng.standard_normal((len(captions), dim)).astype(np.float32)


def test_cache_round_trip_is_bit_exact(tmp_path) -> None:
    captions = ["a cat", "a dog", "ein Hund", "猫"]
    digests = [caption_digest(c) for c in captions]
    vectors = vectors_for(captions)
    cache = EmbeddingCache.for_model(tmp_path, IDENTITY)
    cache.add(digests[:3], vectors[:3])
    cache.flush()
    reopened = EmbeddingCache.for_model(tmp_path, IDENTITY)
    found, got = reopened.lookup(digests)
    assert found.tolist() == [True, True, True, False]
    assert got.tobytes() == vectors[:3].tobytes()
    assert not EmbeddingCache.for_model(tmp_path, {**IDENTITY, "precision": "bf16"}).lookup(digests)[0].any()


def test_cache_ignores_leftovers_of_a_crash_and_damaged_shards(tmp_path) -> None:
    cache = EmbeddingCache.for_model(tmp_path, IDENTITY)
    cache.add([caption_digest("a cat")], vectors_for(["a cat"]))
    cache.flush()
    directory = cache.directory
    (directory / ".0123.npz.tmp").write_bytes(b"half a shard")  # what a crash mid-write leaves
    (directory / ("f" * 64 + ".npz")).write_bytes(b"PK\x03\x04 damaged")
    warnings: list[str] = []
    reopened = EmbeddingCache(directory, warn=warnings.append)
    found, _ = reopened.lookup([caption_digest("a cat")])
    assert found.all()
    assert len(warnings) == 1 and "unreadable cache shard" in warnings[0]


def test_many_shards_are_merged_into_one(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cache_module, "MERGE_ABOVE_SHARDS", 3)
    captions = [f"caption {i}" for i in range(5)]
    vectors = vectors_for(captions)
    cache = EmbeddingCache.for_model(tmp_path, IDENTITY)
    for i, caption in enumerate(captions):  # one shard per flush, as a run that is stopped five times
        cache.add([caption_digest(caption)], vectors[i : i + 1])
        cache.flush()
    assert len(list(cache.directory.glob("*.npz"))) == 5
    merged = EmbeddingCache.for_model(tmp_path, IDENTITY)
    assert len(list(merged.directory.glob("*.npz"))) == 1
    found, got = merged.lookup([caption_digest(c) for c in captions])
    assert found.all() and got.tobytes() == vectors.tobytes()


def test_an_unwritable_cache_warns_and_the_run_goes_on(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    warnings: list[str] = []
    cache = EmbeddingCache.for_model(blocker, IDENTITY, warn=warnings.append)
    cache.add([caption_digest("a cat")], vectors_for(["a cat"]))
    cache.flush()
    assert len(warnings) == 1 and "not caching" in warnings[0]
    assert cache.directory is None


def test_no_cache_holds_nothing(tmp_path) -> None:
    cache = EmbeddingCache.for_model(None, IDENTITY)
    cache.add([caption_digest("a cat")], vectors_for(["a cat"]))
    cache.flush()
    assert len(cache) == 0 and not cache.lookup([caption_digest("a cat")])[0].any()
    assert list(tmp_path.iterdir()) == []


def test_fomo_order_embed_is_the_function_after_the_package_is_imported() -> None:
    """The command line imports the embeddings package before anyone asks for ``fomo_order.embed``: a
    subpackage named ``embed`` would then stand where the function should."""
    import fomo_order
    import fomo_order.embeddings.pipeline
    import fomo_order.scores.pipeline

    assert fomo_order.embed is fomo_order.embeddings.pipeline.embed
    assert fomo_order.score is fomo_order.scores.pipeline.score
