from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fomo_order.artifacts.embeddings import write_embeddings
from fomo_order.catalog import load_catalog
from fomo_order.report import dataset_colours, spearman
from tests.conftest import DEMO_CATALOG, write_json


@pytest.fixture
def demo_streams(run_cli, tmp_path: Path) -> list[Path]:
    paths = []
    for strategy, extra in (("random", []), ("dataset", []), ("time", ["--within-year", "by-dataset"])):
        out = tmp_path / f"{strategy}.json"
        assert run_cli("order", strategy, DEMO_CATALOG, "-o", out, *extra).exit_code == 0
        paths.append(out)
    return paths


@pytest.fixture
def demo_inputs(tmp_path: Path) -> dict[str, Path]:
    catalog = load_catalog(DEMO_CATALOG)
    ids = catalog.concept_ids
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(ids), 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    write_embeddings(tmp_path / "e.npy", vectors, ids, {"backend": "test"})
    counts = write_json(tmp_path / "f.json", {"counts": {cid: int(i * 7 % 1000) for i, cid in enumerate(ids)}})
    years = write_json(tmp_path / "years.json", {d.name: d.year for d in catalog.datasets})
    return {"embeddings": tmp_path / "e.npy", "frequencies": counts, "years": years}


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def test_report_draws_a_row_per_stream_with_legend_and_signals(run_cli, demo_streams, demo_inputs, tmp_path) -> None:
    import matplotlib.image

    out = tmp_path / "report.png"
    summary = tmp_path / "summary.json"
    args = ["--frequencies", demo_inputs["frequencies"], "--embeddings", demo_inputs["embeddings"],
            "--years", demo_inputs["years"], "--tasks", 10, "--summary-json", summary]
    result = run_cli("report", *demo_streams, "-o", out, *args)
    assert result.exit_code == 0, result.output
    width, height = png_size(out)
    one = tmp_path / "one.png"
    assert run_cli("report", demo_streams[0], "-o", one, *args[:-2]).exit_code == 0
    one_width, one_height = png_size(one)
    assert width == one_width and width > 1000  # four panels side by side
    assert height > one_height * 2.2  # three rows, not one

    # every dataset's colour is drawn (bars and legend), and the rows have titles from the meta files
    pixels = (matplotlib.image.imread(out)[..., :3] * 255).round().astype(int).reshape(-1, 3)
    present = {tuple(p) for p in np.unique(pixels, axis=0)}
    catalog = load_catalog(DEMO_CATALOG)
    for name, colour in dataset_colours(catalog.dataset_names).items():
        assert tuple(round(c * 255) for c in colour[:3]) in present, f"{name} not drawn"
    table = result.stdout
    assert "random.json" in table and "time.json" in table and "path weight" in table
    data = json.loads(summary.read_text())
    assert data["dataset.json"]["datasets_per_task"]["min"] == 1
    assert data["time.json"]["spearman_year"] > 0.9  # time streams run oldest to newest
    assert abs(data["random.json"]["spearman_year"]) < 0.2


def test_report_titles_come_from_meta(demo_streams, tmp_path) -> None:
    from fomo_order.report import stream_title

    meta = json.loads(demo_streams[2].with_name("time.meta.json").read_text())
    assert stream_title(demo_streams[2], meta) == "time: time, within-year by-dataset, seed 0"


def test_report_refuses_streams_not_covered_by_inputs(run_cli, demo_streams, tmp_path) -> None:
    counts = write_json(tmp_path / "few.json", {"CIFAR100+++apple": 3})
    out = tmp_path / "r.png"
    result = run_cli("report", demo_streams[0], "-o", out, "--frequencies", counts)
    assert result.exit_code == 2 and "counts missing for 820 of 821" in result.stderr
    assert result.stderr.count("\n") == 1 and not out.exists()
    years = write_json(tmp_path / "y.json", {"CIFAR100": 2009})
    result = run_cli("report", demo_streams[0], "-o", out, "--years", years)
    assert result.exit_code == 2 and "no year for 12 dataset(s)" in result.stderr and not out.exists()


def test_report_takes_years_from_a_catalog(run_cli, demo_streams, tmp_path) -> None:
    summary = tmp_path / "s.json"
    result = run_cli("report", demo_streams[2], "-o", tmp_path / "r.png", "--catalog", DEMO_CATALOG,
                     "--summary-json", summary)
    assert result.exit_code == 0, result.output
    assert json.loads(summary.read_text())["time.json"]["spearman_year"] > 0.9


def test_spearman_matches_definition() -> None:
    assert spearman(np.arange(10.0)) == pytest.approx(1.0)
    assert spearman(np.arange(10.0)[::-1]) == pytest.approx(-1.0)
    expected = np.corrcoef([0, 1, 2, 3], [0.5, 0.5, 2.5, 2.5])[0, 1]  # ties get average ranks
    assert spearman(np.array([1.0, 1.0, 2.0, 2.0])) == pytest.approx(expected)
    assert spearman(np.ones(5)) is None


def test_catalog_command_table_json_and_errors(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    result = run_cli("catalog", DEMO_CATALOG)
    assert result.exit_code == 0 and "COUNTRY211" in result.stdout and "821 concepts" in result.stdout
    missing = run_cli("catalog", small_catalog, "--json")
    data = json.loads(missing.stdout)
    assert data["concepts"] == 10 and data["missing"] == {"time": ["ALPHA", "BETA", "gamma"]}
    assert "time: 3 dataset(s) without a year" in run_cli("catalog", small_catalog).stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets:\n  - {name: A, classes: [a], colour: red}\n")
    result = run_cli("catalog", bad)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "unknown key 'colour'" in result.stderr
