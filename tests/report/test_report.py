from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fomo_order.artifacts.embeddings import write_embeddings
from fomo_order.artifacts.result import artifact_files
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
    assert stream_title(demo_streams[2], meta) == "time: within-year by-dataset, seed 0"
    # what the file name already says is not repeated (was `performance: performance, seed 0`)
    assert stream_title(Path("performance.json"), {"strategy": "performance", "seed": 0}) == "performance: seed 0"
    assert stream_title(Path("random_seed3_reversed.json"), {"strategy": "random", "seed": 3, "reverse": True}) == (
        "random_seed3_reversed"
    )


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


def report_of(streams: list[Path], **options):
    from fomo_order.report import compare_streams, render_report

    tasks = options.pop("tasks", 5)
    comparison = compare_streams(streams, tasks=tasks, **{k: options.pop(k) for k in list(options)
                                                          if k in ("frequencies", "embeddings", "years", "catalog")})
    return render_report(comparison, **options)


def test_report_format_comes_from_the_extension(run_cli, demo_streams, tmp_path) -> None:
    for suffix, magic in ((".pdf", b"%PDF"), (".svg", b"<?xml"), (".png", b"\x89PNG")):
        out = tmp_path / f"r{suffix}"
        result = run_cli("report", demo_streams[0], "-o", out, "--tasks", 5)
        assert result.exit_code == 0, result.stderr
        assert out.read_bytes().startswith(magic)
        meta = json.loads((tmp_path / "r.meta.json").read_text())
        assert meta["parameters"]["format"] == suffix[1:] and meta["command"] == "report"
    for bad, why in ((["-o", tmp_path / "r.jpg"], "unknown figure extension .jpg"),
                     (["-o", tmp_path / "r.png", "--format", "svg"], "has the extension .png but"),
                     (["-o", tmp_path / "noext"], "no extension")):
        result = run_cli("report", demo_streams[0], *bad)
        assert result.exit_code == 2 and why in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "r.jpg").exists() and not (tmp_path / "noext").exists()


def test_report_dpi_sets_the_png_resolution(run_cli, demo_streams, tmp_path) -> None:
    sizes = {}
    for dpi in (None, 75, 150):
        out = tmp_path / f"r{dpi}.png"
        assert run_cli("report", demo_streams[0], "-o", out, *(["--dpi", dpi] if dpi else [])).exit_code == 0
        sizes[dpi] = png_size(out)
    assert sizes[None] == sizes[150]  # the default is 150 dpi
    assert sizes[150][0] == pytest.approx(2 * sizes[75][0], abs=2)
    assert run_cli("report", demo_streams[0], "-o", tmp_path / "x.png", "--dpi", 0).exit_code == 2


def test_palette_keeps_the_41_fomo_in_flux_datasets_apart() -> None:
    from fomo_order.report import MIN_DELTA_E_41, PALETTE, min_delta_e
    from fomo_order.report.palette import hex_to_rgb, srgb_to_lab
    from tests.conftest import REPO

    catalog = load_catalog(REPO / "configs" / "fif" / "catalog.yaml")
    assert len(catalog.dataset_names) == 41
    colours = dataset_colours(catalog.dataset_names)
    assert min_delta_e(list(colours.values())) >= MIN_DELTA_E_41 >= 30
    # (the tab20 palettes this replaced came within 4.6 of each other); every prefix is spread out too
    assert min_delta_e([hex_to_rgb(c) for c in PALETTE[:10]]) > 50
    assert srgb_to_lab(np.ones(3))[0] == pytest.approx(100, abs=0.01)  # white is L* 100
    assert srgb_to_lab(np.array([1.0, 0, 0])) == pytest.approx([53.24, 80.09, 67.20], abs=0.05)  # sRGB red


def test_report_legend_in_stream_order_and_shared_y_per_signal(demo_streams, demo_inputs) -> None:
    from fomo_order.catalog import dataset_of

    report = report_of(demo_streams[1:], **demo_inputs)
    first_seen = list(dict.fromkeys(dataset_of(c) for c in json.loads(demo_streams[1].read_text())))
    (legend,) = report.figure.legends
    assert [t.get_text() for t in legend.get_texts()] == first_seen
    # the legend stands beside the panels, not over them
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(report.figure).get_renderer()
    legend_box = legend.get_window_extent(renderer)
    assert all(legend_box.x0 >= axis.get_window_extent(renderer).x1 for axis in report.figure.axes)
    rows, columns = 2, 4
    grid = np.array(report.figure.axes).reshape(rows, columns)
    for column in range(columns):
        top, bottom = grid[0][column], grid[1][column]
        assert top.get_shared_y_axes().joined(top, bottom) and top.get_ylim() == bottom.get_ylim()
    # each signal's title once (the top row), the caption explains the dots and lines
    titles = [axis.get_title() for axis in grid[1][1:]]
    assert titles == ["", "", ""] and grid[0][3].get_title() == "release year"
    caption = " ".join(t.get_text() for t in report.figure.texts)
    assert "Dots: one per concept" in caption and "release year: red" in caption and "moving average" in caption


def test_report_shows_dollar_signs_as_text(run_cli, demo_streams, tmp_path) -> None:
    odd = tmp_path / r"r$\foo$.json"
    odd.write_bytes(demo_streams[0].read_bytes())
    out = tmp_path / "r.png"
    result = run_cli("report", odd, "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # -q: no table
    report = report_of([odd])
    texts = [axis.get_title(loc="left") for axis in report.figure.axes]
    assert r"r$\foo$" in texts
    # dataset names and a meta's strategy with TeX in them: drawn as the characters they are
    marked = write_json(tmp_path / "marked.json", [r"$\bar$+++a", r"$\bar$+++b", r"B_$x^$+++c"])
    write_json(tmp_path / "marked.meta.json", {"strategy": r"$\frac{", "seed": 1})
    report = report_of([marked], format="svg")
    (legend,) = report.figure.legends
    assert [t.get_text() for t in legend.get_texts()] == [r"$\bar$", r"B_$x^$"]
    assert report.figure.axes[0].get_title(loc="left") == r"marked: $\frac{, seed 1"


def test_report_refuses_outputs_that_are_the_same_file(run_cli, demo_streams, tmp_path) -> None:
    same = tmp_path / "same.png"
    stream_bytes = demo_streams[0].read_bytes()
    cases = (
        ["-o", same, "--summary-json", same],
        ["-o", same, "--summary-json", tmp_path / "same.meta.json"],
        ["-o", same, "--summary-json", demo_streams[0]],
        ["-o", same, "--summary-json", tmp_path / "sub" / ".." / "same.png"],
    )
    for case in cases:
        result = run_cli("report", demo_streams[0], *case)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
        assert "same file" in result.stderr or "inputs" in result.stderr
        assert not same.exists() and not (tmp_path / "same.meta.json").exists()
    assert demo_streams[0].read_bytes() == stream_bytes


def test_report_to_standard_output(demo_streams, tmp_path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args, magic in ((["-o", "-"], b"\x89PNG"), (["-o", "-", "--format", "svg"], b"<?xml")):
        done = subprocess.run([sys.executable, "-m", "fomo_order", "report", demo_streams[0], *args, "--tasks", "5"],
                              capture_output=True, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(magic) and b"path weight" in done.stderr  # the table went to stderr
        assert not (tmp_path / "-").exists() and not (tmp_path / "-.meta.json").exists()


def test_report_bytes_are_deterministic(demo_streams, demo_inputs) -> None:
    for format in ("png", "pdf", "svg"):
        first = report_of(demo_streams, format=format, **demo_inputs)
        second = report_of(demo_streams, format=format, **demo_inputs)
        assert first.figure_bytes == second.figure_bytes, format
        assert b"Matplotlib" not in first.figure_bytes and b"CreationDate" not in first.figure_bytes


def test_report_check_and_meta(run_cli, demo_streams, demo_inputs, tmp_path) -> None:
    out, summary = tmp_path / "r.svg", tmp_path / "s.json"
    args = ["report", *demo_streams[:2], "-o", out, "--summary-json", summary, "--tasks", 5,
            "--frequencies", demo_inputs["frequencies"]]
    assert run_cli(*args).exit_code == 0
    meta = json.loads((tmp_path / "r.meta.json").read_text())
    assert [record["path"] for record in meta["inputs"]["streams"]] == [str(p) for p in demo_streams[:2]]
    assert len(meta["inputs"]["frequencies"]["sha256"]) == 64 and meta["argv"][0] == "report"
    assert run_cli(*args, "--check").exit_code == 0
    summary.write_text("{}\n")
    result = run_cli(*args, "--check")
    assert result.exit_code == 1 and "s.json" in result.stderr
    result = run_cli(*meta["argv"], "--check")  # the recorded command line remakes it
    assert result.exit_code == 1  # (the summary is still the edited one)
    assert run_cli(*args).exit_code == 0 and run_cli(*meta["argv"], "--check").exit_code == 0
    # the library writes the same files as the CLI
    report = report_of(demo_streams[:2], frequencies=demo_inputs["frequencies"], out=out, summary_json=summary,
                       argv=meta["argv"])
    files = artifact_files(report, out)
    assert list(files) == [out, summary, tmp_path / "r.meta.json"]
    assert all(data == path.read_bytes() for path, data in files.items())


def test_report_refuses_a_terminal_or_check_for_standard_output(run_cli, demo_streams, monkeypatch) -> None:
    import io
    import sys

    from fomo_order.errors import InputError

    result = run_cli("report", demo_streams[0], "-o", "-", "--check")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "--check" in result.stderr

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    report = report_of(demo_streams[:1])
    monkeypatch.setattr(sys, "stdout", Terminal())
    with pytest.raises(InputError, match="is a terminal"):
        report.write("-")
    assert sys.stdout.getvalue() == ""
