"""Hardening (issue 22), unclear messages: an error line stays readable however long the offending value,
a meta's `reverse` must be a boolean, a command given nothing shows its usage, an untrusted checkpoint is
refused without torch's advice to run it, and a wait for another run's lock on the count cache is said."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from fomo_order.cli.app import ERROR_LINE_LIMIT, printable_line
from tests.conftest import write_json
from tests.hardening.test_files import one_line_error


@pytest.mark.parametrize(
    "catalog_text",
    [
        json.dumps({"datasets": [{"name": "A" * 1_000_000 + "+", "classes": ["a"]}]}),
        json.dumps({"datasets": [{"name": "A", "classes": ["x" * 1_000_000 + "+++y"]}]}),
        json.dumps({"datasets": [{"name": "A", "template": "no placeholder " * 70_000, "classes": ["a"]}]}),
        json.dumps({"datasets": [{"name": "A", "year": "1" * 4000, "classes": ["a"]}]}),
    ],
    ids=["name", "class", "template", "year"],
)
def test_a_huge_value_is_cut_in_the_error_line(run_cli, tmp_path, catalog_text) -> None:
    catalog = tmp_path / "cat.json"
    catalog.write_text(catalog_text, encoding="utf-8")
    result = run_cli("catalog", catalog)
    assert result.exit_code == 2
    line = one_line_error(result, str(catalog), " ... ")
    assert len(line) < 250, len(line)


def test_a_huge_concept_id_in_a_stream_is_cut(run_cli, tmp_path) -> None:
    stream = write_json(tmp_path / "s.json", ["A+++a", "B" * 1_000_000])
    result = run_cli("split", stream, "--tasks", 1, "-o", tmp_path / "t.json")
    line = one_line_error(result, str(stream), "does not split", " ... ")
    assert len(line) < 250


def test_the_error_line_is_at_most_the_limit_and_printable() -> None:
    assert printable_line("short") == "short"
    long = printable_line("x: " + "y" * 10_000 + " end")
    assert len(long) <= ERROR_LINE_LIMIT and long.startswith("x: yyy") and long.endswith("y end")
    assert printable_line("a\nb\x00c\u2028d\ud800e") == "a\\nb\\x00c\\u2028d\\ud800e"


def test_a_long_file_name_keeps_the_line_within_the_limit(run_cli, tmp_path) -> None:
    deep = tmp_path
    for _ in range(6):
        deep = deep / ("d" * 120)
    deep.mkdir(parents=True)
    missing = deep / "catalog.yaml"
    line = one_line_error(run_cli("catalog", missing), "catalog not found")
    assert len(line) <= len("error: ") + ERROR_LINE_LIMIT


@pytest.mark.parametrize("value", ["yes", 1, 0, None, [], {"x": True}])
def test_reverse_refuses_a_meta_whose_reverse_is_not_a_boolean(run_cli, tmp_path, value) -> None:
    stream = write_json(tmp_path / "s.json", ["A+++a", "A+++b"])
    meta = write_json(tmp_path / "s.meta.json", {"strategy": "random", "reverse": value})
    out = tmp_path / "r.json"
    result = run_cli("reverse", stream, "-o", out)
    assert result.exit_code == 2
    one_line_error(result, str(meta), "'reverse' must be true or false")
    assert not out.exists()


def test_reverse_flips_a_boolean_reverse(run_cli, tmp_path) -> None:
    stream = write_json(tmp_path / "s.json", ["A+++a", "A+++b"])
    write_json(tmp_path / "s.meta.json", {"strategy": "random", "reverse": False})
    out = tmp_path / "r.json"
    assert run_cli("reverse", stream, "-o", out).exit_code == 0
    assert json.loads((tmp_path / "r.meta.json").read_text(encoding="utf-8"))["reverse"] is True


@pytest.mark.parametrize("command", ["order", "split", "catalog", "reverse", "report", "fetch-frequencies"])
def test_a_command_given_nothing_shows_its_usage(run_cli, command) -> None:
    result = run_cli(command)
    assert result.exit_code == 2
    assert f"Usage: fomo-order {command}" in result.output
    assert "Traceback" not in result.output


def test_a_checkpoint_with_pickled_objects_is_refused_without_the_advice(run_cli, tmp_path) -> None:
    """torch's weights-only loader refuses arbitrary objects and suggests weights_only=False: never passed on."""
    torch = pytest.importorskip("torch")
    open_clip = pytest.importorskip("open_clip")
    from tests.embeddings.test_embed import CATALOG, make_tiny_clip, write_catalog

    config, checkpoint, _ = make_tiny_clip(tmp_path, "fomo-test-untrusted")
    state = torch.load(checkpoint, weights_only=True)
    torch.save({"state_dict": state, "payload": Path("not a tensor")}, checkpoint)  # an arbitrary object
    catalog = write_catalog(tmp_path / "catalog.json", CATALOG)
    out = tmp_path / "e.npy"
    result = run_cli("embed", catalog, "-o", out, "--model-config", config, "--pretrained", checkpoint, "--no-cache")
    assert result.exit_code == 2, result.output
    line = one_line_error(result, str(checkpoint), "not a plain weights file", "refused for safety")
    assert "weights_only" not in result.output and "False" not in line
    assert not out.exists()
    assert open_clip  # imported for the tiny model's registration


def test_a_locked_count_cache_says_it_waits(tmp_path) -> None:
    from fomo_order.frequencies.cache import CACHE_FILE, CountCache

    heard: list[str] = []
    cache = CountCache(tmp_path, heard.append)
    holder = sqlite3.connect(tmp_path / CACHE_FILE, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another run writing
    release = threading.Timer(1.0, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    try:
        cache.put_counts("wordfreq", "en", "word", {"cat": 3})
    finally:
        release.join()
        holder.close()
    assert time.monotonic() - started >= 0.5
    assert heard == [f"{tmp_path / CACHE_FILE}: waiting (up to 60 s) for another run's lock on the count cache"]
    assert cache.get_counts("wordfreq", "en", "word", ["cat"]) == {"cat": 3}
    cache.close()
