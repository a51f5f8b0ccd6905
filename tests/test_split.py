from __future__ import annotations

import json
from pathlib import Path

import pytest

from fomo_order.errors import InputError
from fomo_order.split import by_dataset_sizes, increment_sizes, increments_sizes, tasks_sizes
from tests.conftest import REPO, run_subprocess, write_json


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def stream_file(tmp_path: Path) -> Path:
    stream = ["A+++1", "A+++2", "B+++1", "A+++3", "C+++1", "B+++2", "C+++2"]
    return write_json(tmp_path / "stream.json", stream)


def test_tasks_rule_follows_fomo_in_flux() -> None:
    assert tasks_sizes(10, 3) == [4, 3, 3]
    assert tasks_sizes(11, 3) == [4, 4, 3]
    assert tasks_sizes(9, 9) == [1] * 9


def test_by_dataset_rule_seen_dataset_joins_current_task() -> None:
    assert by_dataset_sizes(["A+++1", "A+++2", "B+++1", "A+++3", "C+++1", "B+++2", "C+++2"]) == [2, 2, 3]


def test_continuum_increment_rules() -> None:
    assert increment_sizes(10, 2) == [2] * 5
    assert increment_sizes(10, 3, initial_increment=4) == [4, 3, 3]
    assert increments_sizes(6, [1, 2, 3]) == [1, 2, 3]
    with pytest.raises(InputError, match="remainder 1"):
        increment_sizes(10, 3)


def test_split_cli_writes_tasks_and_meta(run_cli, stream_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "tasks.json"
    result = run_cli("split", stream_file, "-o", out, "--tasks", 3)
    assert result.exit_code == 0, result.output
    tasks = read(out)
    assert [len(t) for t in tasks] == [3, 2, 2]
    assert [c for task in tasks for c in task] == read(stream_file)
    meta = read(tmp_path / "tasks.meta.json")
    assert meta["parameters"] == {"mode": "tasks", "tasks": 3} and meta["task_sizes"] == [3, 2, 2]
    assert run_cli("split", stream_file, "-o", out, "--by-dataset").exit_code == 0
    assert [len(t) for t in read(out)] == [2, 2, 3]
    assert run_cli("split", stream_file, "-o", out, "--increment", 2, "--initial-increment", 1).exit_code == 0
    assert [len(t) for t in read(out)] == [1, 2, 2, 2]
    assert run_cli("split", stream_file, "-o", out, "--increments", "4,3").exit_code == 0
    assert [len(t) for t in read(out)] == [4, 3]


def test_split_check(run_cli, stream_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "tasks.json"
    run_cli("split", stream_file, "-o", out, "--tasks", 2)
    assert run_cli("split", stream_file, "-o", out, "--tasks", 2, "--check").exit_code == 0
    stale = run_cli("split", stream_file, "-o", out, "--tasks", 3, "--check")
    assert stale.exit_code == 1 and "out of date" in stale.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tasks", "0"], "must be between 1 and the stream's 7 concepts"),
        (["--tasks", "8"], "must be between 1 and the stream's 7 concepts"),
        (["--increment", "2"], "not a multiple of 2 (remainder 1)"),
        (["--increments", "3,3"], "sum to 6 but the stream has 7"),
        (["--increments", "3,x"], "comma-separated integers"),
        (["--initial-increment", "2", "--tasks", "2"], "only goes with --increment"),
        ([], "give exactly one of"),
        (["--tasks", "2", "--by-dataset"], "got --tasks, --by-dataset"),
    ],
)
def test_impossible_splits(run_cli, stream_file: Path, tmp_path: Path, args, message: str) -> None:
    out = tmp_path / "tasks.json"
    result = run_cli("split", stream_file, "-o", out, *args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('["A+++1", "A+++1"]', "1 duplicate concept(s) in the stream"),
        ('["A+++1", ', "malformed JSON"),
        ('{"A+++1": 1}', "expected a JSON list of concept ids"),
        ('["A+++1", 2]', "expected a JSON list of concept ids"),
        ('["no-separator"]', "does not split into one dataset and one class name"),
        ("[]", "the stream is empty"),
    ],
)
def test_bad_stream_files(run_cli, tmp_path: Path, content: str, message: str) -> None:
    stream = tmp_path / "bad.json"
    stream.write_text(content, encoding="utf-8")
    result = run_cli("split", stream, "-o", tmp_path / "t.json", "--tasks", 1)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and str(stream) in result.stderr and message in result.stderr
    assert not (tmp_path / "t.json").exists()


# -- the library: one result (tasks + meta) that writes the CLI's bytes ----------------------------------


def test_split_stream_returns_tasks_that_write_the_cli_bytes(run_cli, stream_file: Path, tmp_path: Path) -> None:
    from fomo_order import Tasks, split_stream

    by_cli = tmp_path / "cli.json"
    assert run_cli("split", stream_file, "-o", by_cli, "--increment", 2, "--initial-increment", 1).exit_code == 0
    cli_meta = read(tmp_path / "cli.meta.json")
    result = split_stream(stream_file, increment=2, initial_increment=1, argv=cli_meta["argv"])
    assert isinstance(result, Tasks) and len(result) == 4 and result.sizes == [1, 2, 2, 2]
    assert result.parameters == {"mode": "increment", "increment": 2, "initial_increment": 1}
    by_api = tmp_path / "api.json"
    result.write(by_api)
    assert by_api.read_bytes() == by_cli.read_bytes()
    # the same meta but the output's name, which the command line holds
    assert (tmp_path / "api.meta.json").read_bytes() == (tmp_path / "cli.meta.json").read_bytes()
    assert repr(result) == "Tasks(increment: 4 tasks of 1-2 concepts)"


def test_split_stream_takes_a_list_or_a_stream_and_records_its_sha256(stream_file: Path) -> None:
    import fomo_order as fo

    ids = read(stream_file)
    written = stream_file.with_name("written.json")
    fo.write_stream(written, ids, {})
    from_list = fo.split_stream(ids, by_dataset=True)
    from_file = fo.split_stream(written, by_dataset=True)
    assert from_list.tasks == from_file.tasks == [["A+++1", "A+++2"], ["B+++1", "A+++3"], ["C+++1", "B+++2", "C+++2"]]
    # an in-memory stream has no path; its sha256 is that of the file it would be written as
    assert from_list.meta["inputs"]["stream"] == {"path": None, "sha256": from_file.meta["inputs"]["stream"]["sha256"]}
    catalog = fo.load_catalog(REPO / "configs" / "demo" / "catalog.yaml")
    stream = fo.order(catalog, "random", seed=1)
    assert fo.split_stream(stream, tasks=20).tasks == fo.split_stream(stream.concept_ids, tasks=20).tasks


@pytest.mark.parametrize(
    ("rule", "parameter", "problem"),
    [
        ({}, "tasks", "give exactly one of tasks, increment, increments, by_dataset"),
        ({"tasks": 2, "by_dataset": True}, "tasks", "(got tasks, by_dataset)"),
        ({"tasks": 2, "initial_increment": 1}, "initial_increment", "only goes with increment"),
        ({"increments": [3, 3]}, "increments", "sum to 6 but the stream has 7"),
    ],
)
def test_split_stream_refuses_in_parameters(stream_file: Path, rule: dict, parameter: str, problem: str) -> None:
    import fomo_order as fo

    with pytest.raises(fo.ParameterError) as caught:
        fo.split_stream(stream_file, **rule)
    assert caught.value.parameter == parameter and problem in caught.value.problem
    assert "--" not in caught.value.problem


def test_split_reads_standard_input_and_writes_standard_output(stream_file: Path, tmp_path: Path) -> None:
    done = run_subprocess("split", "-", "--tasks", 3, "-o", "-", stdin=stream_file.read_text("utf-8"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [len(task) for task in json.loads(done.stdout)] == [3, 2, 2]
    assert list(tmp_path.iterdir()) == [stream_file]  # no file named '-', no meta
    out = tmp_path / "t.json"
    done = run_subprocess("split", "-", "--tasks", 3, "-o", out, stdin=stream_file.read_text("utf-8"))
    assert done.returncode == 0 and read(tmp_path / "t.meta.json")["inputs"]["stream"]["path"] == "-"
    quiet = run_subprocess("split", "-", "--tasks", 3, "-o", out, "-q", stdin=stream_file.read_text("utf-8"))
    assert quiet.returncode == 0 and quiet.stderr == ""
    bad = run_subprocess("split", "-", "--tasks", 3, "-o", out, stdin="[1")
    assert bad.returncode == 2 and bad.stderr.startswith("error: -: malformed JSON") and bad.stderr.count("\n") == 1
