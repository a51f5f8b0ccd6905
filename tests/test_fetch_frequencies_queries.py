"""fetch-frequencies: what is asked for each concept, the offline wordfreq source, and option errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fomo_order.catalog import load_catalog
from fomo_order.frequencies.queries import build_queries, is_query_template, render_query
from tests.conftest import DEMO_CATALOG


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    for name in ("ES_CLOUD_ID", "ES_API_KEY"):
        monkeypatch.delenv(name, raising=False)


TAXON = "Animalia Annelida Clitellata Haplotaxida Lumbricidae Lumbricus terrestris"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{}", TAXON),
        ("{} worm", f"{TAXON} worm"),
        ("{words[-2:]}", "Lumbricus terrestris"),
        ("{words[-1]}", "terrestris"),
        ("{words[0]}", "Animalia"),
        ("{words[1:3]}", "Annelida Clitellata"),
        ("the {words[-2:]}  ", "the Lumbricus terrestris"),
    ],
)
def test_query_templates(template: str, expected: str) -> None:
    assert is_query_template(template)
    assert render_query(template, TAXON) == expected


def test_plain_text_is_no_template() -> None:
    assert not is_query_template("apple")
    assert render_query("{words[9]}", "two words") == ""


def test_catalog_query_templates_and_overrides(run_cli, tmp_path: Path) -> None:
    catalog_file = tmp_path / "catalog.yaml"
    catalog_file.write_text(
        "datasets:\n"
        "  - {name: SVHN, query: 'number {}', classes: ['0', '1', '2']}\n"
        "  - {name: DTD, classes: [banded, braided]}\n",
        encoding="utf-8",
    )
    catalog = load_catalog(catalog_file)
    queries = build_queries(catalog)
    assert list(queries) == catalog.concept_ids
    assert queries["SVHN+++0"] == "number 0" and queries["DTD+++banded"] == "banded"
    concept = catalog.concept_ids[0]
    overrides = tmp_path / "queries.yaml"
    overrides.write_text(f'"{concept}": "a  better   query"\n', encoding="utf-8")
    out = tmp_path / "freqs.json"
    result = run_cli("fetch-frequencies", catalog_file, "-o", out, "--source", "wordfreq", "--queries", overrides)
    assert result.exit_code == 0, result.output
    freqs = json.loads(out.read_text(encoding="utf-8"))
    assert freqs["queries"][concept] == "a better query"
    assert freqs["meta"]["query_overrides"]["path"] == str(overrides)
    assert freqs["meta"]["query_overrides"]["entries"] == 1
    assert freqs["meta"]["query_templates"]["SVHN"] == "number {}"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('"NOPE+++x": "y"\n', "1 concept id(s) not in the catalog: 'NOPE+++x'"),
        ("- a\n- b\n", "expected a map of concept id"),
        ('"CIFAR100+++apple": ""\n', "query for 'CIFAR100+++apple' must be a non-empty string"),
        ("a: [unclosed\n", "malformed YAML"),
    ],
)
def test_bad_overrides_file_is_one_line_and_writes_nothing(run_cli, tmp_path: Path, content, problem) -> None:
    overrides, out = tmp_path / "queries.yaml", tmp_path / "freqs.json"
    overrides.write_text(content, encoding="utf-8")
    result = run_cli("fetch-frequencies", DEMO_CATALOG, "-o", out, "--source", "wordfreq", "--queries", overrides)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {overrides}: ") and problem in result.stderr
    assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_wordfreq_estimates_say_they_are_not_c4_and_are_deterministic(run_cli, tmp_path: Path) -> None:
    from wordfreq import word_frequency

    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for out in (first, second):
        result = run_cli("fetch-frequencies", DEMO_CATALOG, "-o", out, "--source", "wordfreq")
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == second.read_bytes()
    freqs = json.loads(first.read_text(encoding="utf-8"))
    meta = freqs["meta"]
    assert (meta["source"], meta["index"], meta["count"]) == ("wordfreq", "en", "estimate")
    assert "NOT counts in C4" in meta["counts_are"]
    for concept, query in list(freqs["queries"].items())[:50]:
        assert freqs["counts"][concept] == round(word_frequency(query, "en") * 1e9)
    assert freqs["counts"]["CIFAR100+++apple"] > freqs["counts"]["DTD+++banded"] > 0
    assert not (tmp_path / "xdg-cache").exists()  # nothing to cache for a local estimate


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (("--source", "wimbd", "--corpus", "x.json"), "--corpus: is for --source corpus, not --source wimbd"),
        (("--source", "corpus", "--es-url", "http://x"), "--es-url: is for --source wimbd, not --source corpus"),
        (("--source", "wordfreq", "--api-url", "http://x"), "--api-url: is for --source infinigram"),
        (("--source", "wimbd", "--case", "exact"), "--case: is for --source infinigram, not --source wimbd"),
        (("--source", "wimbd", "--count", "occurrences"), "wimbd counts documents"),
        (("--source", "wordfreq", "--count", "documents"), "wordfreq gives an estimate"),
        (("--source", "corpus"), "--source corpus needs at least one --corpus"),
        (("--source", "corpus", "--corpus", "missing.json"), "missing.json: corpus path not found"),
        (("--source", "corpus", "--corpus", ".", "--index", "c4"), "--index: is not used by --source corpus"),
        (("--source", "infinigram", "--api-url", "ftp://x"), "is not an http(s) URL"),
    ],
)
def test_option_mistakes_are_one_line_and_write_nothing(run_cli, tmp_path: Path, extra, problem) -> None:
    out = tmp_path / "freqs.json"
    result = run_cli("fetch-frequencies", DEMO_CATALOG, "-o", out, *extra, "--cache-dir", tmp_path / "c")
    assert result.exit_code == 2, result.output
    assert problem in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()


def test_unusable_cache_directory_is_one_line(run_cli, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", encoding="utf-8")
    out = tmp_path / "freqs.json"
    result = run_cli(
        "fetch-frequencies", DEMO_CATALOG, "-o", out, "--source", "infinigram", "--api-url", "http://127.0.0.1:9/",
        "--cache-dir", blocker,
    )
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {blocker}") and not out.exists()


def test_unknown_source_is_refused(run_cli, tmp_path: Path) -> None:
    result = run_cli("fetch-frequencies", DEMO_CATALOG, "-o", tmp_path / "f.json", "--source", "google")
    assert result.exit_code == 2 and not (tmp_path / "f.json").exists()
