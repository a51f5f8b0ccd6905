"""Issue 10, the embedding cache: wrong shards, a wrong ``model.json``, a cache or output that cannot be written.

The contract: a cache entry is used only after it is checked (its sha256, its arrays, finite non-zero vectors
of the model's dimension, a ``model.json`` of this model with the expected keys and types); one that fails is
set aside with a note and its captions are embedded again, so the output is byte-identical to a fresh run.
A cache that cannot be written never fails the run; an output that cannot be written is one line, exit 2.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fomo_order.embeddings.cache as cache_module
from tests.conftest import REPO, RecordingReporter
from tests.embeddings.test_embed import (
    CATALOG,
    assert_one_line_error,
    counts,
    embed_args,
    make_tiny_clip,
    write_catalog,
)

pytestmark = pytest.mark.usefixtures("offline_hub")

CAPTIONS = 4  # CATALOG[:1]: four classes, one template


@pytest.fixture(autouse=True)
def every_note(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI reporter drops a note that follows another within a second (for floods of retry notes); the
    # tiny model loads faster than that, so a cache warning right after "loading ..." would be dropped here.
    import fomo_order.cli.progress as progress

    monkeypatch.setattr(progress, "NOTE_INTERVAL_S", 0.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    return make_tiny_clip(tmp_path_factory.mktemp("tiny"), "fomo-test-tiny-hardening")


@pytest.fixture
def cached_run(run_cli, tmp_path: Path, tiny):
    """A run that filled the cache, and the bytes of a run without any cache: what every rerun must give."""
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG[:1])
    cache = tmp_path / "cache"
    first = run_cli(*embed_args(catalog, tmp_path / "first.npy", tiny, "--cache-dir", cache))
    assert first.exit_code == 0 and counts(first.stderr) == (CAPTIONS, 0), first.output
    fresh = tmp_path / "fresh.npy"
    assert run_cli(*embed_args(catalog, fresh, tiny, "--no-cache")).exit_code == 0
    (model_dir,) = [p for p in cache.iterdir() if p.is_dir()]
    (shard,) = model_dir.glob("*.npz")
    return catalog, cache, model_dir, shard, fresh


def rerun(run_cli, tmp_path: Path, tiny, catalog: Path, cache: Path):
    out = tmp_path / "again.npy"
    result = run_cli(*embed_args(catalog, out, tiny, "--cache-dir", cache))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result, out


def write_shard(directory: Path, digests: np.ndarray, vectors: np.ndarray, name: str | None = None) -> Path:
    """A well-formed shard, named by its own sha256 unless ``name`` is given."""
    buffer = io.BytesIO()
    np.savez(buffer, digests=digests, vectors=vectors)
    data = buffer.getvalue()
    path = directory / (name or f"{hashlib.sha256(data).hexdigest()}.npz")
    path.write_bytes(data)
    return path


def sidecar(path: Path) -> dict:
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return {k: v for k, v in meta.items() if k != "argv"}


def assert_same_as_fresh(out: Path, fresh: Path) -> None:
    assert out.read_bytes() == fresh.read_bytes()
    assert sidecar(out) == sidecar(fresh)


@pytest.mark.parametrize("model_json", ["kept", "missing", "claims 100"])
def test_a_well_formed_shard_of_another_dimension_is_set_aside(run_cli, tmp_path, tiny, cached_run, model_json):
    catalog, cache, model_dir, shard, fresh = cached_run
    with np.load(shard) as data:
        digests = data["digests"]
    shard.unlink()
    wrong = write_shard(model_dir, digests, np.ones((len(digests), 100), dtype=np.float32))
    info_path = model_dir / "model.json"
    if model_json == "missing":
        info_path.unlink()
    elif model_json == "claims 100":  # a consistent lie: only the model itself can tell
        info = json.loads(info_path.read_text(encoding="utf-8"))
        info_path.write_text(json.dumps({**info, "dim": 100}), encoding="utf-8")

    result, out = rerun(run_cli, tmp_path, tiny, catalog, cache)
    assert counts(result.stderr) == (CAPTIONS, 0)
    assert "dimension 100" in result.stderr and wrong.name in result.stderr
    assert np.load(out).shape == (4, 32)
    assert_same_as_fresh(out, fresh)
    assert not wrong.exists() and (model_dir / (wrong.name + ".bad")).exists()
    assert json.loads(info_path.read_text(encoding="utf-8"))["dim"] == 32
    result, _ = rerun(run_cli, tmp_path, tiny, catalog, cache)  # what was set aside is not reported again
    assert counts(result.stderr) == (0, CAPTIONS) and "set aside" not in result.stderr


def test_a_wrong_shard_beside_good_ones_costs_only_its_own_captions(run_cli, tmp_path, tiny, cached_run):
    catalog, cache, model_dir, shard, fresh = cached_run
    with np.load(shard) as data:
        digests = data["digests"]
    for name in ("0" * 64, "f" * 64):  # sorted before and after the good shard: the order must not matter
        wrong = write_shard(model_dir, digests[:1], np.ones((1, 100), dtype=np.float32))
        wrong.rename(model_dir / f"{name}.npz")
    wrong = write_shard(model_dir, digests[:2], np.ones((2, 100), dtype=np.float32))

    result, out = rerun(run_cli, tmp_path, tiny, catalog, cache)
    assert counts(result.stderr) == (0, CAPTIONS)
    assert_same_as_fresh(out, fresh)
    assert shard.exists() and not wrong.exists()
    assert sorted(p.name for p in model_dir.glob("*.npz")) == [shard.name]


def test_a_shard_whose_bytes_do_not_match_its_hash_is_set_aside(run_cli, tmp_path, tiny, cached_run):
    catalog, cache, model_dir, shard, fresh = cached_run
    with np.load(shard) as data:
        digests, vectors = data["digests"], data["vectors"].copy()
    vectors[0] *= 2.0  # still finite, non-zero and 32-dim: only the hash tells
    write_shard(model_dir, digests, vectors, name=shard.name)

    result, out = rerun(run_cli, tmp_path, tiny, catalog, cache)
    assert counts(result.stderr) == (CAPTIONS, 0)
    assert "does not match the sha256" in result.stderr
    assert_same_as_fresh(out, fresh)
    assert (model_dir / (shard.name + ".bad")).exists()


@pytest.mark.parametrize("value", [np.nan, np.inf, 0.0])
def test_cached_vectors_are_checked_finite_and_non_zero(run_cli, tmp_path, tiny, cached_run, value):
    catalog, cache, model_dir, shard, fresh = cached_run
    with np.load(shard) as data:
        digests, vectors = data["digests"], data["vectors"].copy()
    vectors[1] = value
    shard.unlink()
    bad = write_shard(model_dir, digests, vectors)  # correctly hashed: the content is what is wrong

    result, out = rerun(run_cli, tmp_path, tiny, catalog, cache)
    assert counts(result.stderr) == (CAPTIONS, 0)
    assert "NaN, infinite or zero vector" in result.stderr and bad.name in result.stderr
    assert_same_as_fresh(out, fresh)


@pytest.mark.parametrize(
    "edit",
    [
        lambda info: "{not json",
        lambda info: json.dumps([info]),
        lambda info: json.dumps({**info, "text_forward": {"injected": "INJECTED"}}),
        lambda info: json.dumps({**info, "text_forward": "INJECTED\n[red]x"}),
        lambda info: json.dumps({**info, "extra": "INJECTED"}),
        lambda info: json.dumps({**info, "dim": "32"}),
        lambda info: json.dumps({**info, "dim": True}),
        lambda info: json.dumps({**info, "dim": -32}),
        lambda info: json.dumps({k: v for k, v in info.items() if k != "dim"}),
        lambda info: json.dumps({**info, "identity": {**info["identity"], "model": "INJECTED"}}),
    ],
    ids=["not-json", "a-list", "text-forward-object", "text-forward-control", "extra-key", "dim-string",
         "dim-bool", "dim-negative", "no-dim", "other-identity"],
)
def test_a_wrong_model_json_is_rebuilt_and_never_copied(run_cli, tmp_path, tiny, cached_run, edit):
    catalog, cache, model_dir, _, fresh = cached_run
    info_path = model_dir / "model.json"
    good = json.loads(info_path.read_text(encoding="utf-8"))
    info_path.write_text(edit(good), encoding="utf-8")

    result, out = rerun(run_cli, tmp_path, tiny, catalog, cache)
    assert counts(result.stderr) == (0, CAPTIONS)  # the vectors were fine: the model is asked only its dimension
    assert "model.json" in result.stderr
    assert_same_as_fresh(out, fresh)
    assert "INJECTED" not in out.with_suffix(".json").read_text(encoding="utf-8")
    assert json.loads(info_path.read_text(encoding="utf-8")) == good


def test_a_full_disk_under_the_cache_does_not_fail_the_run(run_cli, tmp_path, tiny, monkeypatch):
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)

    @contextlib.contextmanager
    def disk_full(path: Path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
        yield  # pragma: no cover

    monkeypatch.setattr(cache_module, "atomic_path", disk_full)
    monkeypatch.setattr(cache_module, "FLUSH_ROWS", 2)  # many flushes: still a single note
    out = tmp_path / "e.npy"
    result = run_cli(*embed_args(catalog, out, tiny, "--cache-dir", tmp_path / "cache", "--batch-size", "2"))
    assert result.exit_code == 0, result.output
    assert result.stderr.count("not caching") == 1 and "No space left on device" in result.stderr
    monkeypatch.undo()
    fresh = tmp_path / "fresh.npy"
    assert run_cli(*embed_args(catalog, fresh, tiny, "--no-cache")).exit_code == 0
    assert_same_as_fresh(out, fresh)
    assert not list((tmp_path / "cache").rglob("*.npz"))


def test_an_output_that_cannot_be_written_is_one_line_and_leaves_no_temporary(tmp_path, tiny):
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "e.npy"
    limit = 1024  # bytes: the 12 x 32 float32 matrix (1.5 kB) does not fit, as on a full disk

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "fomo_order", *map(str, embed_args(catalog, out, tiny, "--cache-dir", tmp_path / "c"))],
        capture_output=True, text=True, cwd=REPO, preexec_fn=small_files, timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(out) in errors[0] and "too large" in errors[0].lower()
    assert list(out_dir.iterdir()) == []
    assert not [p for p in (tmp_path / "c").rglob("*") if p.name.endswith(".tmp")]


def test_unwritable_output_in_process(run_cli, tmp_path, tiny):
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG[:1])
    out = tmp_path / "e.npy"
    out.mkdir()
    assert_one_line_error(run_cli(*embed_args(catalog, out, tiny, "--cache-dir", tmp_path / "c")), mentions=str(out))


class NoConfigDimension:
    """The tiny encoder, less its config's dimension: as a Hub model whose modules say nothing plain."""

    def __init__(self, encoder) -> None:
        self._encoder = encoder
        self.encoded = 0

    def identity(self):
        return self._encoder.identity()

    def describe(self):
        return self._encoder.describe()

    def text_forward(self):
        return self._encoder.text_forward()

    def encode(self, captions, sink):
        self.encoded += len(captions)
        self._encoder.encode(captions, sink)


def test_a_model_json_that_lies_about_the_dimension_is_found_by_the_model(tmp_path, tiny, cached_run):
    """Where the model's config does not tell its dimension, model.json's is checked against what it computes:
    a mismatch sets the cache aside and embeds again, never a RuntimeError."""
    from fomo_order.catalog import load_catalog
    from fomo_order.embeddings.pipeline import embed_catalog, make_encoder
    from fomo_order.embeddings.settings import EmbedSettings, resolve_runtime

    catalog_path, cache, model_dir, shard, fresh = cached_run
    config, checkpoint, _ = tiny
    settings = EmbedSettings(pretrained=str(checkpoint), model_config=config, device="cpu")
    reporter = RecordingReporter()
    encoder = NoConfigDimension(make_encoder(settings, resolve_runtime(settings), reporter.note))
    with np.load(shard) as data:
        digests = data["digests"]
    extra = write_shard(model_dir, digests[:1], np.ones((1, 100), dtype=np.float32))  # beside the good shard
    info_path = model_dir / "model.json"
    info = json.loads(info_path.read_text(encoding="utf-8"))
    info_path.write_text(json.dumps({**info, "dim": 100}), encoding="utf-8")
    shard.unlink()  # only the 100-dim shard is left: model.json and it agree, the model does not
    catalog = load_catalog(catalog_path)

    result = embed_catalog(catalog, settings, cache_root=cache, reporter=reporter, encoder=encoder)
    assert result.matrix.shape == (4, 32) and result.computed == CAPTIONS
    assert np.array_equal(result.matrix, np.load(fresh))
    assert any("model.json" in note and "dimension 100" in note for note in reporter.notes), reporter.notes
    assert any(extra.name in note and "dimension 100" in note for note in reporter.notes), reporter.notes
    assert json.loads(info_path.read_text(encoding="utf-8"))["dim"] == 32
