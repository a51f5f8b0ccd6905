"""`fomo-order export` through the command line: the catalog found through the metas, --check, stdin/stdout,
and every bad input refused with one line, exit 2 and no file written (no Continuum or Avalanche needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import fomo_order as fo
from tests.conftest import REPO, write_json


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def tasks_file(run_cli, small_catalog: Path, tmp_path: Path) -> Path:
    """small_catalog (ALPHA a0-a3, BETA b0-b2, gamma g0-g2) in a random order, cut into 3 tasks."""
    stream_file = tmp_path / "stream.json"
    fo.order(small_catalog, "random", seed=1).write(stream_file)
    out = tmp_path / "tasks.json"
    assert run_cli("split", stream_file, "-o", out, "--tasks", 3).exit_code == 0
    return out


def test_labels_from_the_recorded_catalog_and_check(run_cli, tasks_file: Path, small_catalog: Path) -> None:
    out = tasks_file.with_name("continuum.json")
    done = run_cli("export", tasks_file, "--to", "continuum", "-o", out)
    assert done.exit_code == 0, done.output
    document = read(out)
    assert list(document) == ["class_order", "increment", "labels"]
    assert document["increment"] == [4, 3, 3]
    assert document["labels"] == fo.label_map(small_catalog)
    flat = [concept for task in read(tasks_file) for concept in task]
    assert document["class_order"] == [document["labels"][concept] for concept in flat]
    meta = read(out.with_name("continuum.meta.json"))
    assert meta["command"] == "export" and meta["to"] == "continuum"
    assert meta["inputs"]["tasks"]["path"] == str(tasks_file)
    assert meta["inputs"]["catalog"]["path"] == str(small_catalog)
    assert run_cli("export", tasks_file, "--to", "continuum", "-o", out, "--check").exit_code == 0
    write_json(out, {"class_order": []})
    assert run_cli("export", tasks_file, "--to", "continuum", "-o", out, "--check").exit_code == 1


def run_piped(*args: object, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """The CLI in a process of its own: `-` reads and writes the real standard streams' bytes."""
    return subprocess.run(
        [sys.executable, "-m", "fomo_order", *map(str, args)], input=stdin, capture_output=True, cwd=REPO
    )


def test_stdin_and_stdout(run_cli, tasks_file: Path, small_catalog: Path) -> None:
    out = tasks_file.with_name("avalanche.json")
    assert run_cli("export", tasks_file, "--to", "avalanche", "-o", out, "-q").exit_code == 0
    assert read(out)["per_exp_classes"] == {"0": 4, "1": 3, "2": 3} and read(out)["n_experiences"] == 3
    printed = run_piped("export", tasks_file, "--to", "avalanche", "-o", "-")
    assert printed.returncode == 0 and printed.stdout == out.read_bytes()
    assert b"its meta was not written" in printed.stderr
    piped = run_piped("export", "-", "--to", "avalanche", "--catalog", small_catalog, "-o", "-",
                      stdin=tasks_file.read_bytes())
    assert piped.returncode == 0 and piped.stdout == out.read_bytes(), piped.stderr
    lost = run_piped("export", "-", "--to", "avalanche", "-o", "-", stdin=tasks_file.read_bytes())
    assert lost.returncode == 2 and b"standard input" in lost.stderr and lost.stdout == b""
    assert len(lost.stderr.strip().splitlines()) == 1


def test_recorded_relative_paths_are_found_from_another_directory(
    run_cli, small_catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # paths recorded relative to tmp_path, as a project's own metas are
    fo.order(Path("lists"), "random", seed=2).write("stream.json")
    assert run_cli("split", "stream.json", "-o", "tasks/tasks.json", "--tasks", 2).exit_code == 0
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # neither 'stream.json' nor 'lists' is here: found above tasks/
    done = run_cli("export", tmp_path / "tasks" / "tasks.json", "--to", "avalanche", "-o", "out.json")
    assert done.exit_code == 0, done.output
    assert read(Path("out.json"))["labels"] == fo.label_map(small_catalog)

    (tmp_path / "stream.json").write_text('["ALPHA+++a0"]', encoding="utf-8")  # no longer the recorded stream
    changed = run_cli("export", tmp_path / "tasks" / "tasks.json", "--to", "avalanche", "-o", "again.json")
    assert changed.exit_code == 2 and "recorded sha256" in changed.stderr and not Path("again.json").exists()


def test_a_selection_keeps_its_numbering(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    catalog = fo.load_catalog(small_catalog, datasets=["BETA", "gamma"])
    fo.order(catalog, "random", seed=1).write(tmp_path / "stream.json")
    assert run_cli("split", tmp_path / "stream.json", "-o", tmp_path / "tasks.json", "--tasks", 2).exit_code == 0
    done = run_cli("export", tmp_path / "tasks.json", "--to", "continuum", "-o", tmp_path / "out.json")
    assert done.exit_code == 0, done.output
    assert read(tmp_path / "out.json")["labels"] == {f"BETA+++b{i}": i for i in range(3)} | {
        f"gamma+++g{i}": 3 + i for i in range(3)
    }
    # the whole catalog numbers 10 concepts, the tasks hold 6: Continuum could not relabel them
    whole = run_cli("export", tmp_path / "tasks.json", "--to", "continuum", "--catalog", small_catalog, "-o",
                    tmp_path / "whole.json")
    assert whole.exit_code == 2 and "0..5" in whole.stderr and not (tmp_path / "whole.json").exists()
    assert run_cli("export", tmp_path / "tasks.json", "--to", "avalanche", "--catalog", small_catalog, "-o",
                   tmp_path / "whole.json").exit_code == 0  # Avalanche keeps any labels


def _labels(small_catalog: Path) -> list[str]:
    return list(fo.load_catalog(small_catalog).concept_ids)


BAD_LABELS = {
    "short": (lambda ids: ids[:-1], "lacks 1 concept(s)"),
    "duplicate": (lambda ids: [*ids, ids[0]], "appears twice"),
    "integers": (lambda ids: list(range(len(ids))), "item 0 is 0, not a concept id"),
    "not-a-list": (lambda ids: {c: i for i, c in enumerate(ids)}, "expected a JSON list of concept ids"),
    "bad-id": (lambda ids: [*ids, "no separator"], "does not split into one dataset"),
}


@pytest.mark.parametrize("case", list(BAD_LABELS))
@pytest.mark.parametrize("to", ["continuum", "avalanche"])
def test_bad_labels_files(run_cli, tasks_file: Path, small_catalog: Path, case: str, to: str) -> None:
    make, message = BAD_LABELS[case]
    labels = write_json(tasks_file.with_name("labels.json"), make(_labels(small_catalog)))
    out = tasks_file.with_name("out.json")
    done = run_cli("export", tasks_file, "--to", to, "--labels", labels, "-o", out)
    assert done.exit_code == 2, done.output
    assert message in done.stderr and str(labels) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not out.exists() and not out.with_name("out.meta.json").exists()


BAD_TASKS = {
    "duplicate-in-a-task": ([["ALPHA+++a0", "ALPHA+++a0"]], "e.g. 'ALPHA+++a0' (twice in task 1)"),
    "duplicate-across-tasks": ([["ALPHA+++a0"], ["BETA+++b0", "ALPHA+++a0"]], "twice in tasks 1, 2"),
    "unknown-id": ([["ALPHA+++a0"], ["OMEGA+++z"]], "1 concept(s) are not in the catalog"),
    "not-an-id": ([["ALPHA+++a0", "a1"]], "does not split into one dataset"),
    "empty-task": ([["ALPHA+++a0"], []], "task 2 is not a non-empty list"),
    "not-lists": (["ALPHA+++a0"], "task 1 is not a non-empty list"),
    "empty": ([], "expected a JSON list of tasks"),
}


@pytest.mark.parametrize("case", list(BAD_TASKS))
def test_bad_tasks_files(run_cli, small_catalog: Path, tmp_path: Path, case: str) -> None:
    tasks, message = BAD_TASKS[case]
    tasks_file = write_json(tmp_path / "tasks.json", tasks)
    out = tmp_path / "out.json"
    done = run_cli("export", tasks_file, "--to", "avalanche", "--catalog", small_catalog, "-o", out)
    assert done.exit_code == 2, done.output
    assert message in done.stderr and str(tasks_file) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists() and not out.with_name("out.meta.json").exists()


def test_unknown_ids_against_a_labels_file(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    tasks_file = write_json(tmp_path / "tasks.json", [["ALPHA+++a0"], ["OMEGA+++z"]])
    labels = write_json(tmp_path / "labels.json", _labels(small_catalog))
    done = run_cli("export", tasks_file, "--to", "continuum", "--labels", labels, "-o", tmp_path / "out.json")
    assert done.exit_code == 2 and f"{labels}: lacks 1 concept(s) of {tasks_file}, e.g. 'OMEGA+++z'" in done.stderr
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "sequoia"], "--to: unknown library 'sequoia' (choose one of continuum, avalanche)"),
        (["--to", "avalanche", "--labels", "L", "--catalog", "C"], "a labels file or a catalog, not both"),
        (["--to", "avalanche", "--check", "-o", "-"], "needs a file to compare with"),
    ],
)
def test_bad_options(run_cli, tasks_file: Path, args: list[str], message: str) -> None:
    out = tasks_file.with_name("out.json")
    done = run_cli("export", tasks_file, "-o", out, *args)
    assert done.exit_code == 2 and message in done.stderr
    assert not out.exists()


def test_no_meta_to_follow(run_cli, tmp_path: Path) -> None:
    tasks_file = write_json(tmp_path / "tasks.json", [["ALPHA+++a0"]])
    done = run_cli("export", tasks_file, "--to", "avalanche", "-o", tmp_path / "out.json")
    assert done.exit_code == 2 and "has no meta" in done.stderr and "give a catalog or a labels file" in done.stderr


def test_a_reversed_streams_tasks_find_the_catalog(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    fo.order(small_catalog, "random", seed=4).write(tmp_path / "forward.json")
    assert run_cli("reverse", tmp_path / "forward.json", "-o", tmp_path / "backward.json").exit_code == 0
    assert run_cli("split", tmp_path / "backward.json", "-o", tmp_path / "tasks.json", "--by-dataset").exit_code == 0
    done = run_cli("export", tmp_path / "tasks.json", "--to", "continuum", "-o", tmp_path / "out.json")
    assert done.exit_code == 0, done.output
    document = read(tmp_path / "out.json")
    backward = read(tmp_path / "backward.json")
    assert document["class_order"] == [fo.label_map(small_catalog)[concept] for concept in backward]


def test_the_python_api_refuses_what_the_libraries_would_misread(small_catalog: Path) -> None:
    labels = fo.label_map(small_catalog)
    tasks = [["ALPHA+++a0", "BETA+++b0"], ["gamma+++g0"]]
    assert fo.to_avalanche(tasks, labels) == {
        "fixed_class_order": [0, 4, 7],
        "n_experiences": 2,
        "per_exp_classes": {0: 2, 1: 1},
    }
    with pytest.raises(fo.ParameterError, match=r"0\.\.2"):  # Continuum relabels by class_order.argsort()
        fo.to_continuum(tasks, labels)
    assert fo.to_continuum(tasks, {"ALPHA+++a0": 2, "BETA+++b0": 0, "gamma+++g0": 1}) == {
        "class_order": [2, 0, 1],
        "increment": [2, 1],
    }
    with pytest.raises(fo.ParameterError, match="lack 1 concept"):
        fo.to_avalanche([*tasks, ["OMEGA+++z"]], labels)
    with pytest.raises(fo.InputError, match="duplicate"):
        fo.to_avalanche([["ALPHA+++a0"], ["ALPHA+++a0"]], labels)
