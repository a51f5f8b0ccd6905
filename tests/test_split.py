from __future__ import annotations

import json
from pathlib import Path

import pytest

from fomo_order.errors import InputError
from fomo_order.split import by_dataset_sizes, increment_sizes, increments_sizes, tasks_sizes
from tests.conftest import write_json


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
