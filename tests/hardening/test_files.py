"""Hardening (issue 10), the file side: every bad input or failed write is one line and exit 2 (1 for an
out-of-date --check), never a traceback, a partial output or a leftover temporary file; paired outputs
are replaced together; user text is never read as markup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO_CATALOG, REPO, run_subprocess, write_json

SMALL = ["ALPHA+++a", "ALPHA+++b", "BETA+++c"]


def one_line_error(result, *mentions: str) -> str:
    """The failure is one `error:` line, the last thing printed (notes such as 'loading' may come before)."""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert "Traceback" not in result.stderr
    for mention in mentions:
        assert mention in errors[0], errors[0]
    return errors[0]


def no_temporaries(directory: Path) -> None:
    assert [p.name for p in directory.rglob("*.tmp")] == []


# -- readers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("deep.json", "[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ("deep.yaml", "[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ("digits.json", '{"scores": {"ALPHA+++a": ' + "9" * 5000 + "}}", "more than 4,300 digits"),
        ("dup.yaml", "ALPHA+++a: 1\nALPHA+++a: 2\n", "appears twice"),
    ],
)
def test_unreadable_scores_files_are_one_line(run_cli, small_catalog, tmp_path, name, content, problem) -> None:
    scores = tmp_path / name
    scores.write_text(content, encoding="utf-8")
    out = tmp_path / "s.json"
    result = run_cli("order", "performance", small_catalog, "--scores", scores, "-o", out)
    assert result.exit_code == 2
    one_line_error(result, str(scores), problem)
    assert not out.exists()


@pytest.mark.parametrize(
    ("value", "problem"),
    [(10**400, "2^63 or more"), (2**63, "2^63 or more"), (-7, "negative"), ("many", "not a number")],
)
def test_bad_counts_in_a_counts_file(run_cli, small_catalog, tmp_path, value, problem) -> None:
    counts = {"ALPHA+++a0": value, **{f"ALPHA+++a{i}": 1 for i in range(1, 4)}}
    counts.update({f"BETA+++b{i}": 1 for i in range(3)} | {f"gamma+++g{i}": 1 for i in range(3)})
    path = tmp_path / "counts.json"
    path.write_text(json.dumps(counts), encoding="utf-8")
    result = run_cli("order", "frequency", small_catalog, "--frequencies", path, "-o", tmp_path / "f.json")
    assert result.exit_code == 2
    one_line_error(result, str(path), problem)


def test_yaml_catalog_with_a_duplicate_key(run_cli, tmp_path) -> None:
    catalog = tmp_path / "c.yaml"
    catalog.write_text("datasets:\n  - {name: A, classes: [x]}\ndatasets: []\n", encoding="utf-8")
    result = run_cli("catalog", catalog)
    assert result.exit_code == 2
    one_line_error(result, str(catalog), "'datasets' appears twice")


# -- catalogs --------------------------------------------------------------------------------------


def test_catalog_directory_entries_are_never_skipped_silently(run_cli, tmp_path) -> None:
    lists = tmp_path / "lists"
    write_json(lists / "ALPHA.json", ["ALPHA+++a"])
    (lists / "BETA.json").symlink_to(lists / "gone.json")
    result = run_cli("catalog", lists)
    assert result.exit_code == 2
    one_line_error(result, "BETA.json", "dangling or looping symbolic link")
    (lists / "BETA.json").unlink()
    (lists / "BETA.json").symlink_to(lists / "BETA.json")
    one_line_error(run_cli("catalog", lists), "BETA.json", "dangling or looping")
    (lists / "BETA.json").unlink()
    write_json(lists / "A+++B.json", ["A+++B+++x"])
    result = run_cli("catalog", lists)
    assert result.exit_code == 2
    one_line_error(result, "A+++B.json", "cannot contain '+++'")


@pytest.mark.parametrize(
    ("classes", "problem"),
    [
        (["fine", "carriage\rreturn"], "control character '\\r'"),
        (["fine", "line\nfeed"], "control character '\\n'"),
        (["nul\x00"], "control character '\\x00'"),
        (["lone \ud800 surrogate"], "lone surrogate"),
    ],
)
def test_class_names_with_control_characters_or_bad_unicode(run_cli, tmp_path, classes, problem) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    # json.dumps escapes them, so the file is valid JSON whose strings hold the characters
    (lists / "ALPHA.json").write_text(json.dumps([f"ALPHA+++{c}" for c in classes]), encoding="utf-8")
    out = tmp_path / "s.json"
    result = run_cli("order", "random", lists, "-o", out)
    assert result.exit_code == 2
    one_line_error(result, "ALPHA.json", problem)
    assert not out.exists()


def test_classes_file_must_be_a_regular_text_list(run_cli, tmp_path) -> None:
    fifo = tmp_path / "classes.fifo"
    os.mkfifo(fifo)
    catalog = tmp_path / "c.yaml"
    catalog.write_text(f"datasets:\n  - {{name: A, classes_file: {fifo.name}}}\n", encoding="utf-8")
    one_line_error(run_cli("catalog", catalog), str(fifo), "not a regular file")
    # a file that is not a class list (the process environment) is refused before anything reads it as names
    catalog.write_text("datasets:\n  - {name: A, classes_file: /proc/self/environ}\n", encoding="utf-8")
    result = run_cli("catalog", catalog)
    assert result.exit_code == 2
    one_line_error(result, "/proc/self/environ", "control character")


def test_user_text_is_never_markup(run_cli, tmp_path) -> None:
    catalog = tmp_path / "c.yaml"
    catalog.write_text(
        'datasets:\n  - {name: "[/red]X", year: 2000, template: "[bold]{}", classes: [a, "[link=x]b"]}\n',
        encoding="utf-8",
    )
    result = run_cli("catalog", catalog)
    assert result.exit_code == 0 and "[/red]X" in result.stdout and "[bold]{}" in result.stdout
    out = tmp_path / "out" / "[v2]x.json"
    result = run_cli("order", "random", catalog, "-o", out)
    assert result.exit_code == 0 and "[v2]x.json" in result.stderr and out.exists()


# -- writers ---------------------------------------------------------------------------------------


def test_a_directory_in_the_way_of_the_meta_leaves_the_stream_as_it_was(run_cli, tmp_path) -> None:
    out = tmp_path / "s.json"
    out.write_text("[]\n", encoding="utf-8")
    (tmp_path / "s.meta.json").mkdir()
    result = run_cli("order", "random", DEMO_CATALOG, "-o", out)
    assert result.exit_code == 2
    one_line_error(result, "s.meta.json", "is a directory")
    assert out.read_text(encoding="utf-8") == "[]\n"
    no_temporaries(tmp_path)
    check = run_cli("order", "random", DEMO_CATALOG, "-o", out, "--check")
    assert check.exit_code == 1 and "is a directory" in check.stderr and "Traceback" not in check.stderr


def test_check_when_out_is_a_directory(run_cli, tmp_path) -> None:
    out = tmp_path / "s.json"
    out.mkdir()
    result = run_cli("order", "random", DEMO_CATALOG, "-o", out, "--check")
    assert result.exit_code == 1
    one_line_error(result, "is a directory")


def test_a_directory_in_the_way_of_the_embeddings_replaces_neither_file(run_cli, tmp_path, offline_hub) -> None:
    out = tmp_path / "e.npy"
    out.mkdir()
    sidecar = tmp_path / "e.json"
    sidecar.write_text("{}\n", encoding="utf-8")
    result = run_cli("embed", DEMO_CATALOG, "--datasets", "DTD", "--backend", "sentence-transformers",
                     "--device", "cpu", "-o", out)
    assert result.exit_code == 2
    one_line_error(result, "e.npy", "is a directory")
    assert sidecar.read_text(encoding="utf-8") == "{}\n"
    no_temporaries(tmp_path)


def test_report_summary_json_a_directory_writes_nothing(run_cli, tmp_path) -> None:
    summary = tmp_path / "summary.json"
    summary.mkdir()
    png = tmp_path / "r.png"
    result = run_cli("report", REPO / "streams" / "random_seed1.json", "-o", png, "--summary-json", summary)
    assert result.exit_code == 2
    one_line_error(result, "summary.json", "is a directory")
    assert not png.exists()


def test_report_reads_a_meta_of_another_shape(run_cli, tmp_path) -> None:
    stream = write_json(tmp_path / "s.json", SMALL)
    write_json(tmp_path / "s.meta.json", {"strategy": "random", "parameters": "not a map"})
    assert run_cli("report", stream, "-o", tmp_path / "r.png").exit_code == 0
    write_json(tmp_path / "s.meta.json", ["not", "an", "object"])
    result = run_cli("report", stream, "-o", tmp_path / "r.png")
    assert result.exit_code == 2
    one_line_error(result, "s.meta.json", "expected a JSON object")


def test_a_failed_write_is_one_line_and_leaves_no_temporary(tmp_path) -> None:
    out = tmp_path / "big.json"
    # 4 KB of output allowed: the 18,381-concept stream is larger, so the write fails with EFBIG
    script = f"ulimit -f 4; exec {sys.executable} -m fomo_order order random configs/fif/catalog.yaml -o {out}"
    result = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2
    one_line_error(result, "cannot write")
    assert not out.exists()
    no_temporaries(tmp_path)


@pytest.mark.slow
def test_concurrent_writers_never_mix_a_stream_and_another_runs_meta(tmp_path) -> None:
    out = tmp_path / "s.json"
    for _ in range(3):
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "fomo_order", "order", "random", str(DEMO_CATALOG), "--seed", str(seed),
                 "-o", str(out)],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for seed in range(1, 5)
        ]
        assert all(run.wait() == 0 for run in runs)
        meta = json.loads((tmp_path / "s.meta.json").read_text(encoding="utf-8"))
        expected = run_subprocess("order", "random", DEMO_CATALOG, "--seed", meta["seed"], "-o", "-").stdout
        assert out.read_text(encoding="utf-8") == expected
    no_temporaries(tmp_path)


def test_meta_paths_inside_the_working_directory_are_recorded_relative(run_cli, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "s.json"
    assert run_cli("order", "random", DEMO_CATALOG.resolve(), "-o", out).exit_code == 0
    argv = json.loads((tmp_path / "s.meta.json").read_text(encoding="utf-8"))["argv"]
    assert argv[2] == "configs/demo/catalog.yaml"  # no home directory in the provenance
    assert argv[-1] == str(out)  # outside the working directory: as given


@pytest.mark.parametrize(
    "args",
    [["split", "-", "--tasks", "2", "-o", "-"], ["reverse", "-", "-o", "-"], ["fif-overrides", "-", "--by-dataset"],
     ["order", "random", str(DEMO_CATALOG), "-o", "-"]],
)
def test_a_file_named_dash_is_never_read_or_written(tmp_path: Path, args: list[str]) -> None:
    stray = tmp_path / "-"
    stray.write_text("not a stream", encoding="utf-8")
    stream = json.dumps(["CIFAR100+++apple", "CIFAR100+++bee", "DTD+++banded"])
    done = run_subprocess(*args, stdin=stream, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert stray.read_text(encoding="utf-8") == "not a stream" and sorted(p.name for p in tmp_path.iterdir()) == ["-"]
    assert done.stdout.strip()
