"""`fomo-order order similarity` through the CLI: the stream is the library's path, the meta records
start, weights and the lower bound, and bad embeddings files are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fomo_order.artifacts.embeddings import sidecar_path, write_embeddings
from fomo_order.catalog import load_catalog
from fomo_order.similarity import naive_greedy_all_starts


def unit_rows(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def embedded(small_catalog: Path, tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    catalog = load_catalog(small_catalog)
    vectors = unit_rows(len(catalog))
    # the file lists the concepts in another order and one concept more: rows are matched by id
    ids = [*catalog.concept_ids[::-1], "EXTRA+++x"]
    rows = np.vstack([vectors[::-1], unit_rows(1, seed=9)])
    write_embeddings(tmp_path / "e.npy", rows, ids, {"backend": "test"})
    return small_catalog, tmp_path / "e.npy", vectors


@pytest.mark.slow
def test_stream_is_the_exact_all_starts_path(run_cli, embedded, tmp_path: Path) -> None:
    catalog_dir, embeddings, vectors = embedded
    out = tmp_path / "sim.json"
    result = run_cli("order", "similarity", catalog_dir, "--embeddings", embeddings, "-o", out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    ids = load_catalog(catalog_dir).concept_ids
    path, cost, start = naive_greedy_all_starts(vectors)
    assert json.loads(out.read_text()) == [ids[i] for i in path]
    meta = json.loads(out.with_name("sim.meta.json").read_text())
    assert meta["details"]["start"] == ids[start] and meta["details"]["start_rank"] == 1
    assert meta["details"]["path_weight"] == pytest.approx(cost)
    assert meta["parameters"]["start_rank"] == 1 and "device" not in meta["parameters"]
    assert set(meta["inputs"]) >= {"embeddings", "embeddings_sidecar"}
    reverse = tmp_path / "rev.json"
    run_cli("order", "similarity", catalog_dir, "--embeddings", embeddings, "-o", reverse, "--reverse")
    assert json.loads(reverse.read_text()) == json.loads(out.read_text())[::-1]


@pytest.mark.slow
def test_start_start_rank_and_refine(run_cli, embedded, tmp_path: Path) -> None:
    catalog_dir, embeddings, _ = embedded
    out = tmp_path / "s.json"
    assert run_cli("order", "similarity", catalog_dir, "--embeddings", embeddings, "-o", out,
                   "--start", "BETA+++b1").exit_code == 0
    assert json.loads(out.read_text())[0] == "BETA+++b1"
    assert run_cli("order", "similarity", catalog_dir, "--embeddings", embeddings, "-o", out,
                   "--start-rank", 2, "--refine", "2opt").exit_code == 0
    details = json.loads(out.with_name("s.meta.json").read_text())["details"]
    assert details["start_rank"] == 2 and details["refine"] == "2opt"
    assert details["mst_lower_bound"] <= details["path_weight"] <= details["greedy_path_weight"]


def corrupt(kind: str, catalog_dir: Path, path: Path) -> None:
    ids = load_catalog(catalog_dir).concept_ids
    vectors = unit_rows(len(ids))
    if kind == "stale":
        write_embeddings(path, vectors[:7], ids[:7], {})
    elif kind in ("nan", "inf", "zero"):
        vectors[3] = {"nan": np.nan, "inf": np.inf, "zero": 0.0}[kind]
        write_embeddings(path, vectors, ids, {})
    elif kind == "rows":
        write_embeddings(path, vectors, ids, {})
        np.save(path, vectors[:5])
    elif kind == "dim":
        write_embeddings(path, vectors, ids, {})
        side = json.loads(sidecar_path(path).read_text())
        sidecar_path(path).write_text(json.dumps({**side, "dim": 16}))
    elif kind == "no-sidecar":
        np.save(path, vectors)
    elif kind == "not-npy":
        write_embeddings(path, vectors, ids, {})
        path.write_bytes(b"not an array")


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("stale", "3 of 10 catalog concepts are missing"),
        ("nan", "NaN or infinite values in the vector of 'ALPHA+++a3'"),
        ("inf", "NaN or infinite values in the vector of 'ALPHA+++a3'"),
        ("zero", "zero vector for 'ALPHA+++a3'"),
        ("rows", "5 rows but the sidecar e.json names 10 concepts"),
        ("dim", "dimension 8 but the sidecar e.json says 16"),
        ("no-sidecar", "missing sidecar e.json"),
        ("not-npy", "not a .npy file (no NumPy header)"),
    ],
)
def test_bad_embeddings_are_refused(run_cli, small_catalog: Path, tmp_path: Path, kind: str, message: str) -> None:
    embeddings = tmp_path / "e.npy"
    corrupt(kind, small_catalog, embeddings)
    out = tmp_path / "sim.json"
    result = run_cli("order", "similarity", small_catalog, "--embeddings", embeddings, "-o", out)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "sim.meta.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "NOPE+++x"], "'NOPE+++x' is not a concept of the catalog"),
        (["--start", "ALPHA+++a0", "--start-rank", "2"], "give --start or --start-rank, not both"),
        (["--start-rank", "11"], "--start-rank"),
        (["--within-year", "shuffle"], "not used by the similarity ordering"),
    ],
)
def test_bad_similarity_options(run_cli, embedded, tmp_path: Path, args, message: str) -> None:
    catalog_dir, embeddings, _ = embedded
    out = tmp_path / "sim.json"
    result = run_cli("order", "similarity", catalog_dir, "--embeddings", embeddings, "-o", out, *args)
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()


def test_missing_embeddings_option(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    result = run_cli("order", "similarity", small_catalog, "-o", tmp_path / "s.json")
    assert result.exit_code == 2 and "--embeddings: the similarity ordering needs caption embeddings" in result.stderr
