from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fomo_order.artifacts.embeddings import write_embeddings
from fomo_order.catalog import load_catalog


def test_text_margin_scores_rank_confusable_classes_as_hard(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    catalog = load_catalog(small_catalog)
    ids = catalog.concept_ids
    vectors = np.eye(len(ids), 12, dtype=np.float32)
    # ALPHA+++a0 and ALPHA+++a1 are nearly the same caption: both hard; a2, a3 are orthogonal: easy
    vectors[1] = vectors[0] * 0.99 + vectors[1] * 0.14
    write_embeddings(tmp_path / "e.npy", vectors, ids, {"backend": "test"})
    out = tmp_path / "scores.json"
    result = run_cli("proxy-scores", small_catalog, "--embeddings", tmp_path / "e.npy", "-o", out)
    assert result.exit_code == 0, result.output
    scores = json.loads(out.read_text())["scores"]
    assert list(scores) == ids
    assert scores["ALPHA+++a0"] < 0.05 and scores["ALPHA+++a1"] < 0.05 and scores["ALPHA+++a2"] == 1.0
    stream = tmp_path / "perf.json"
    assert run_cli("order", "performance", small_catalog, "--scores", out, "-o", stream).exit_code == 0
    assert json.loads(stream.read_text())[-2:] in (["ALPHA+++a0", "ALPHA+++a1"], ["ALPHA+++a1", "ALPHA+++a0"])
    check = run_cli("proxy-scores", small_catalog, "--embeddings", tmp_path / "e.npy", "-o", out, "--check")
    assert check.exit_code == 0


def test_proxy_scores_refuse_stale_embeddings(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    write_embeddings(tmp_path / "e.npy", np.eye(2, 4, dtype=np.float32), ["ALPHA+++a0", "OTHER+++x"], {})
    out = tmp_path / "scores.json"
    result = run_cli("proxy-scores", small_catalog, "--embeddings", tmp_path / "e.npy", "-o", out)
    assert result.exit_code == 2 and "9 of 10 catalog concepts are missing" in result.stderr
    assert "1 rows are for concepts not in the catalog" in result.stderr and not out.exists()
