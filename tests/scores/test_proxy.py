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


def test_the_library_returns_a_scores_result_that_writes_the_cli_bytes(
    run_cli, small_catalog: Path, tmp_path: Path
) -> None:
    import fomo_order as fo

    catalog = load_catalog(small_catalog)
    vectors = np.random.default_rng(0).normal(size=(len(catalog), 6)).astype(np.float32)
    embeddings = tmp_path / "e.npy"
    write_embeddings(embeddings, vectors, catalog.concept_ids, {"backend": "test"})
    cli = tmp_path / "cli.json"
    assert run_cli("proxy-scores", small_catalog, "--embeddings", embeddings, "-o", cli).exit_code == 0
    cli_meta = json.loads((tmp_path / "cli.meta.json").read_text(encoding="utf-8"))

    result = fo.proxy_scores(catalog, embeddings, argv=cli_meta["argv"])
    assert isinstance(result, fo.ScoreResult) and list(result.scores) == catalog.concept_ids
    assert list(result.meta)[:5] == ["tool", "version", "command", "argv", "inputs"]
    api = tmp_path / "api.json"
    result.write(api)
    assert api.read_bytes() == cli.read_bytes()
    assert (tmp_path / "api.meta.json").read_bytes() == (tmp_path / "cli.meta.json").read_bytes()
    result.write(cli, check=True)
    # Rounded as write_scores rounds them; from an array the scores are the same numbers.
    assert json.loads(api.read_text(encoding="utf-8"))["scores"] == {
        cid: round(score, 6) for cid, score in result.scores.items()
    }
    rows = fo.embeddings_for(embeddings, catalog.concept_ids)
    assert fo.proxy_scores(catalog, rows).scores == result.scores


def test_every_name_of_the_scores_package_resolves() -> None:
    import fomo_order.scores as scores

    for name in scores.__all__:
        assert getattr(scores, name) is not None, name
    assert sorted(scores.__all__) == sorted(scores._MODULE_OF)


def test_proxy_scores_quiet_and_standard_output(tmp_path) -> None:
    from tests.conftest import REPO, run_subprocess

    args = ("proxy-scores", REPO / "configs" / "demo" / "catalog.yaml", "--embeddings",
            REPO / "streams" / "embeddings.npy")
    quiet = run_subprocess(*args, "-o", tmp_path / "s.json", "-q", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == ""
    to_stdout = run_subprocess(*args, "-o", "-", cwd=tmp_path)
    assert to_stdout.returncode == 0 and to_stdout.stderr == ""
    assert to_stdout.stdout == (tmp_path / "s.json").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.meta.json"]  # no file named `-`
