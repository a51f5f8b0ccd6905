"""FREQS.json: the document, its writer (atomic, or a check that writes nothing) and its readers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from fomo_order.artifacts.freqs import freqs_document, read_counts, read_freqs, write_freqs
from fomo_order.errors import CheckFailed, InputError


def document() -> dict:
    meta = {"tool": "fomo-order", "source": "wordfreq"}
    return freqs_document(meta, {"D+++b": "b", "D+++a": "a"}, {"D+++a": 1, "D+++b": 2.0})


def test_counts_follow_the_queries_order_as_integers() -> None:
    freqs = document()
    assert list(freqs) == ["meta", "queries", "counts"]
    assert freqs["counts"] == {"D+++b": 2, "D+++a": 1} and list(freqs["counts"]) == ["D+++b", "D+++a"]
    assert all(type(count) is int for count in freqs["counts"].values())


def test_write_then_check_then_read(tmp_path: Path) -> None:
    path = tmp_path / "freqs.json"
    with pytest.raises(CheckFailed, match="missing"):
        write_freqs(path, document(), check=True)
    assert not path.exists()
    write_freqs(path, document())
    assert json.loads(path.read_text(encoding="utf-8")) == document()
    write_freqs(path, document(), check=True)  # current: no error
    changed = document()
    changed["counts"]["D+++a"] = 5
    before = path.read_bytes()
    with pytest.raises(CheckFailed, match="differs in counts") as differs:
        write_freqs(path, changed, check=True)
    assert differs.value.exit_code == 1 and path.read_bytes() == before
    assert read_freqs(path) == document()
    assert read_counts(path, ["D+++a", "D+++b"]).tolist() == [1.0, 2.0]


def test_read_counts_takes_a_plain_map_and_refuses_what_is_not_a_count(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("D+++a: 3\nD+++b: 0\nOTHER+++x: 9\n", encoding="utf-8")
    assert np.array_equal(read_counts(plain, ["D+++b", "D+++a"]), [0.0, 3.0])
    for text, problem in (
        ('{"D+++a": -1}', "count of 'D+++a' is negative"),
        ('{"D+++a": "many"}', "count of 'D+++a' is not a number"),
        ('{"D+++b": 1}', "counts missing for 1 of 1 concepts"),
        ("[1, 2]", "expected a map of concept id -> count"),
    ):
        plain.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match=re.escape(problem)):
            read_counts(plain, ["D+++a"])
    with pytest.raises(InputError, match="expected a FREQS\\.json document"):
        read_freqs(plain)
