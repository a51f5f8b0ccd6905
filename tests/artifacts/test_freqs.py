"""FREQS.json: the flat document, its writing through the one artifact writer (atomic, or a check that
writes nothing, or standard output) and its one reader."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from fomo_order.artifacts.freqs import freqs_document, read_frequencies
from fomo_order.errors import CheckFailed, InputError
from fomo_order.frequencies import Frequencies

META = {"tool": "fomo-order", "version": "0.1.0", "command": "fetch-frequencies", "argv": ["fetch-frequencies"],
        "inputs": {}, "source": "wordfreq"}


def document() -> dict:
    return freqs_document(META, {"D+++b": "b", "D+++a": "a"}, {"D+++a": 1, "D+++b": 2.0})


def result(counts: dict | None = None) -> Frequencies:
    return Frequencies(meta=dict(META), queries={"D+++b": "b", "D+++a": "a"}, counts=counts or {"D+++b": 2, "D+++a": 1})


def test_the_meta_keys_come_first_then_queries_and_counts_in_queries_order_as_integers() -> None:
    freqs = document()
    assert list(freqs) == [*META, "queries", "counts"]  # argv at the top level, as in stream metas
    assert "meta" not in freqs and freqs["argv"] == ["fetch-frequencies"]
    assert freqs["counts"] == {"D+++b": 2, "D+++a": 1} and list(freqs["counts"]) == ["D+++b", "D+++a"]
    assert all(type(count) is int for count in freqs["counts"].values())
    with pytest.raises(ValueError, match="'counts'"):
        freqs_document({**META, "counts": 3}, {"D+++a": "a"}, {"D+++a": 1})


def test_write_then_check_then_read(tmp_path: Path) -> None:
    path = tmp_path / "freqs.json"
    with pytest.raises(CheckFailed, match="missing"):
        result().write(path, check=True)
    assert not path.exists()
    result().write(path)
    assert json.loads(path.read_text(encoding="utf-8")) == document() == result().document()
    assert [p.name for p in tmp_path.iterdir()] == ["freqs.json"]  # no meta file beside it, no temporary
    result().write(path, check=True)  # current: no error
    before = path.read_bytes()
    with pytest.raises(CheckFailed, match="differs in counts") as differs:
        result({"D+++b": 2, "D+++a": 5}).write(path, check=True)
    assert differs.value.exit_code == 1 and path.read_bytes() == before
    assert read_frequencies(path, ["D+++a", "D+++b"]).tolist() == [1.0, 2.0]


def test_write_to_standard_output_writes_the_file_bytes_and_no_file(tmp_path: Path, monkeypatch, capfdbinary) -> None:
    monkeypatch.chdir(tmp_path)
    result().write("-")
    assert capfdbinary.readouterr().out == result().files(Path("x"))[Path("x")]
    assert list(tmp_path.iterdir()) == []


def test_read_frequencies_takes_a_plain_map_and_refuses_what_is_not_a_count(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("D+++a: 3\nD+++b: 0\nOTHER+++x: 9\n", encoding="utf-8")
    assert np.array_equal(read_frequencies(plain, ["D+++b", "D+++a"]), [0.0, 3.0])
    for text, problem in (
        ('{"D+++a": -1}', "count of 'D+++a' is negative"),
        ('{"D+++a": "many"}', "count of 'D+++a' is not a number"),
        ('{"D+++a": 1.5}', "count of 'D+++a' is not a whole number"),
        ('{"D+++b": 1}', "counts missing for 1 of 1 concepts"),
        ("[1, 2]", "expected a map of concept id -> count"),
    ):
        plain.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match=re.escape(f"{plain}: {problem}")):
            read_frequencies(plain, ["D+++a"])


def test_read_frequencies_reads_the_earlier_layout_with_the_meta_nested(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"meta": {"argv": []}, "queries": {"D+++a": "a"}, "counts": {"D+++a": 7}}))
    assert read_frequencies(old, ["D+++a"]).tolist() == [7.0]


def test_read_frequencies_dash_is_standard_input(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(document())))
    assert read_frequencies("-", ["D+++a", "D+++b"]).tolist() == [1.0, 2.0]
    monkeypatch.setattr("sys.stdin", io.StringIO("D+++a: 4\n"))
    assert read_frequencies("-", ["D+++a"]).tolist() == [4.0]
    monkeypatch.setattr("sys.stdin", io.StringIO("D+++b: 4\n"))
    with pytest.raises(InputError, match=r"^standard input: counts missing"):
        read_frequencies("-", ["D+++a"])
