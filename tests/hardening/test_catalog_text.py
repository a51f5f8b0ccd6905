"""Hardening (issue 22), catalog text: a name, class or template that cannot be part of a concept id (a
control character, a line separator, a lone surrogate, a dataset name that splits back wrongly) is one line
naming the file, exit 2, for every command that reads a catalog; a byte-order mark is no part of the text;
years must be plausible."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fomo_order.catalog import split_concept_id
from tests.conftest import write_json
from tests.hardening.test_files import one_line_error

# Characters no name can hold: C0 controls (NUL, tab, LF, CR, ESC), DEL, C1 controls (U+0085 NEL, U+009B
# CSI) and the Unicode line and paragraph separators.
CONTROLS = ["\n", "\x00", "\t", "\r", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029"]


def catalog_file(tmp_path: Path, dataset: dict) -> Path:
    """A JSON catalog (JSON can hold a lone surrogate as an escape, YAML files cannot hold it at all)."""
    path = tmp_path / "cat.json"
    path.write_text(json.dumps({"datasets": [dataset, {"name": "B", "classes": ["c"]}]}), encoding="utf-8")
    return path


def commands(catalog: Path, tmp_path: Path) -> list[list[object]]:
    """The commands that read a catalog without a model or a server."""
    return [
        ["catalog", catalog],
        ["order", "random", catalog, "-o", tmp_path / "s.json"],
        ["order", "dataset", catalog, "-o", tmp_path / "d.json"],
        ["fetch-frequencies", catalog, "--source", "corpus", "--corpus", tmp_path / "c.jsonl",
         "-o", tmp_path / "f.json"],
    ]


@pytest.mark.parametrize("character", CONTROLS, ids=repr)
def test_a_control_character_in_a_dataset_name_is_refused(run_cli, tmp_path, character) -> None:
    catalog = catalog_file(tmp_path, {"name": f"A{character}Z", "classes": ["a"]})
    for args in commands(catalog, tmp_path)[:2]:
        result = run_cli(*args)
        assert result.exit_code == 2, result.output
        one_line_error(result, str(catalog), "'name'", "control character")
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize(
    "dataset",
    [
        {"name": "A\ud800", "classes": ["a"]},
        {"name": "A", "classes": ["a\udfff"]},
        {"name": "A", "template": "a photo of \ud83d {}", "classes": ["a"]},
        {"name": "A", "templates": ["ok {}", "\udc80 {}"], "classes": ["a"]},
        {"name": "A", "query": "{} \ud800", "classes": ["a"]},
    ],
    ids=["name", "class", "template", "templates", "query"],
)
def test_a_lone_surrogate_is_one_line_for_every_command(run_cli, tmp_path, dataset) -> None:
    catalog = catalog_file(tmp_path, dataset)
    (tmp_path / "c.jsonl").write_text('{"text": "a b c"}\n', encoding="utf-8")
    for args in commands(catalog, tmp_path):
        result = run_cli(*args)
        assert result.exit_code == 2, (args[0], result.output)
        one_line_error(result, str(catalog), "lone surrogate")
    assert not any((tmp_path / name).exists() for name in ("s.json", "d.json", "f.json"))


@pytest.mark.parametrize("character", ["\n", "\x85", "\u2028", "\t"], ids=repr)
def test_a_control_character_in_a_template_is_refused(run_cli, tmp_path, character) -> None:
    catalog = catalog_file(tmp_path, {"name": "A", "template": f"a photo{character}of {{}}", "classes": ["a"]})
    one_line_error(run_cli("catalog", catalog), str(catalog), "'template'", "control character")


@pytest.mark.parametrize("character", ["\x85", "\u2028", "\u2029", "\x9b"], ids=repr)
def test_c1_controls_and_separators_in_a_class_name_are_refused(run_cli, tmp_path, character) -> None:
    catalog = catalog_file(tmp_path, {"name": "A", "classes": [f"a{character}b"]})
    one_line_error(run_cli("catalog", catalog), str(catalog), "class 1", "control character")
    lists = tmp_path / "lists"
    write_json(lists / "A.json", [f"A+++x{character}"])
    one_line_error(run_cli("catalog", lists), "A.json", "control character")


def test_a_surrogate_or_control_in_a_list_file_name_is_one_printable_line(run_cli, tmp_path) -> None:
    """A file name that is not UTF-8 (read back with lone surrogates) or holds a newline is refused, and
    the error line escapes it (printing it raw would fail, or break the one line)."""
    for stem in (b"A\xff", b"A\nB"):
        lists = tmp_path / f"lists{len(stem)}{stem[-1]}"
        lists.mkdir()
        write_json(lists / "B.json", ["B+++b"])
        Path(os.fsdecode(bytes(lists) + b"/" + stem + b".json")).write_bytes(b'["x"]')
        result = run_cli("catalog", lists)
        assert result.exit_code == 2, result.output
        line = one_line_error(result, "dataset name (the file name)")
        assert line.encode("utf-8") and "\n" not in line


@pytest.mark.parametrize("name", ["A+", "A++", "+", "C+ +"])
def test_a_dataset_name_ending_in_plus_is_refused(run_cli, tmp_path, name) -> None:
    """'A+' + '+++' + 'x' is 'A++++x', which splits at its first '+++' into 'A' / '+x': another dataset."""
    catalog = catalog_file(tmp_path, {"name": name, "classes": ["x"]})
    result = run_cli("order", "random", catalog, "-o", tmp_path / "s.json")
    one_line_error(result, str(catalog), "cannot end with '+'")
    lists = tmp_path / "lists"
    write_json(lists / f"{name}.json", ["x"])
    one_line_error(run_cli("catalog", lists), f"{name}.json", "cannot end with '+'")


def test_plus_signs_that_keep_ids_unambiguous_are_valid(run_cli, tmp_path) -> None:
    """A dataset name may begin with or hold '+' (not '+++', not at its end); class names may hold '+'."""
    catalog = catalog_file(tmp_path, {"name": "+A+B", "classes": ["+x", "y+", "C++", "a+b"]})
    out = tmp_path / "s.json"
    result = run_cli("order", "dataset", catalog, "-o", out)
    assert result.exit_code == 0, result.output
    stream = json.loads(out.read_text(encoding="utf-8"))
    assert stream[:4] == ["+A+B++++x", "+A+B+++y+", "+A+B+++C++", "+A+B+++a+b"]
    # '+A+B++++x' reads back as dataset '+A+B', class '+x': a dataset name never ends with '+'
    assert [split_concept_id(concept, out) for concept in stream[:2]] == [("+A+B", "+x"), ("+A+B", "y+")]
    tasks = tmp_path / "t.json"
    assert run_cli("split", out, "--tasks", 1, "-o", tasks).exit_code == 0
    assert json.loads(tasks.read_text(encoding="utf-8")) == [stream]


@pytest.mark.parametrize(
    ("concept", "problem"),
    [
        ("A+++b+++c", "does not split"),
        ("A+++x\u2028y", "control character"),
        ("A+++x\ud800", "lone surrogate"),
        ("A\x85+++x", "control character"),
    ],
    ids=["plus", "separator", "surrogate", "nel"],
)
def test_stream_and_tasks_readers_apply_the_same_rules(run_cli, tmp_path, concept, problem) -> None:
    stream = tmp_path / "stream.json"
    stream.write_text(json.dumps(["B+++b", concept]), encoding="utf-8")
    for args in (["split", stream, "--tasks", 1, "-o", tmp_path / "t.json"],
                 ["reverse", stream, "-o", tmp_path / "r.json"],
                 ["fif-overrides", stream, "--tasks", 1]):
        result = run_cli(*args)
        assert result.exit_code == 2, (args[0], result.output)
        one_line_error(result, str(stream), problem)
    assert not (tmp_path / "t.json").exists() and not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("suffix", [".txt", ".json"])
def test_a_byte_order_mark_in_a_class_file_is_not_part_of_the_first_class(run_cli, tmp_path, suffix) -> None:
    classes = tmp_path / f"a{suffix}"
    text = "first\nsecond\n" if suffix == ".txt" else json.dumps(["A+++first", "second"])
    classes.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    catalog = tmp_path / "cat.yaml"
    catalog.write_bytes(b"\xef\xbb\xbf" + f"datasets:\n  - {{name: A, classes_file: {classes.name}}}\n".encode())
    out = tmp_path / "s.json"
    result = run_cli("order", "dataset", catalog, "-o", out)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8")) == ["A+++first", "A+++second"]


def test_a_byte_order_mark_is_accepted_in_every_json_or_yaml_input(run_cli, tmp_path) -> None:
    bom = b"\xef\xbb\xbf"
    catalog = tmp_path / "cat.json"
    catalog.write_bytes(bom + json.dumps({"datasets": [{"name": "A", "classes": ["a", "b"]}]}).encode())
    years = tmp_path / "years.yaml"
    years.write_bytes(bom + b"A: 2010\n")
    out = tmp_path / "s.json"
    result = run_cli("order", "time", catalog, "--years", years, "-o", out)
    assert result.exit_code == 0, result.output
    stream = tmp_path / "bom-stream.json"
    stream.write_bytes(bom + out.read_bytes())
    assert run_cli("split", stream, "--tasks", 2, "-o", tmp_path / "t.json").exit_code == 0
    assert json.loads((tmp_path / "t.json").read_text(encoding="utf-8")) == [["A+++a"], ["A+++b"]]


@pytest.mark.parametrize("year", [-5, 0, 1799, 2201, 10**30, 20100])
def test_an_implausible_year_is_refused(run_cli, tmp_path, year) -> None:
    catalog = catalog_file(tmp_path, {"name": "A", "year": year, "classes": ["a"]})
    result = run_cli("catalog", catalog)
    assert result.exit_code == 2
    one_line_error(result, str(catalog), "not a plausible year (1800..2200)")
    years = write_json(tmp_path / "years.json", {"A": year})
    (tmp_path / "plain").mkdir()
    plain = catalog_file(tmp_path / "plain", {"name": "A", "classes": ["a"]})
    result = run_cli("order", "time", plain, "--years", years, "-o", tmp_path / "s.json")
    one_line_error(result, str(years), "not a plausible year")
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("year", [1800, 1998, 2200])
def test_plausible_years_are_accepted(run_cli, tmp_path, year) -> None:
    catalog = catalog_file(tmp_path, {"name": "A", "year": year, "classes": ["a"]})
    result = run_cli("catalog", catalog)
    assert result.exit_code == 0, result.output
