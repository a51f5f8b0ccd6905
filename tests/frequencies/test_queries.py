"""What is asked for each concept (templates, overrides), and the offline wordfreq source (library)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fomo_order.catalog import load_catalog
from fomo_order.errors import InputError
from fomo_order.fileio import sha256_file
from fomo_order.frequencies import FetchOptions, fetch_frequencies
from fomo_order.frequencies.queries import build_queries, is_query_template, render_query
from tests.conftest import DEMO_CATALOG

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


def test_catalog_query_templates_and_overrides(tmp_path: Path) -> None:
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
    fetched = fetch_frequencies(catalog, FetchOptions(source="wordfreq", queries_file=overrides))
    freqs, _ = fetched.document(), fetched.summary
    assert freqs["queries"][concept] == "a better query"
    assert freqs["inputs"]["queries"] == {"path": str(overrides), "sha256": sha256_file(overrides)}
    assert freqs["inputs"]["catalog"] == {"path": str(catalog_file), "sha256": catalog.sha256()}
    assert freqs["query_overrides"] == 1
    assert freqs["query_templates"]["SVHN"] == "number {}"
    fetched = fetch_frequencies(catalog, FetchOptions(source="wordfreq"))
    without, _ = fetched.document(), fetched.summary
    assert "queries" not in without["inputs"] and without["query_overrides"] == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('"NOPE+++x": "y"\n', "1 concept id(s) not in the catalog: 'NOPE+++x'"),
        ("- a\n- b\n", "expected a map of concept id"),
        ('"CIFAR100+++apple": ""\n', "query for 'CIFAR100+++apple' must be a non-empty string"),
        ("a: [unclosed\n", "malformed YAML"),
    ],
)
def test_bad_overrides_file_is_an_error_naming_it(tmp_path: Path, content, problem) -> None:
    overrides = tmp_path / "queries.yaml"
    overrides.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as bad:
        fetch_frequencies(load_catalog(DEMO_CATALOG), FetchOptions(source="wordfreq", queries_file=overrides))
    assert bad.value.source == str(overrides) and problem in bad.value.problem


def test_wordfreq_estimates_say_they_are_not_c4_and_are_deterministic(tmp_path: Path) -> None:
    from wordfreq import word_frequency

    catalog = load_catalog(DEMO_CATALOG)
    fetched = fetch_frequencies(catalog, FetchOptions(source="wordfreq"))
    freqs, summary = fetched.document(), fetched.summary
    assert fetch_frequencies(catalog, FetchOptions(source="wordfreq")).document() == freqs
    meta = freqs
    assert (meta["source"], meta["index"], meta["count"]) == ("wordfreq", "en", "estimate")
    assert "NOT counts in C4" in meta["counts_are"] and meta["wordfreq_version"]
    for concept, query in list(freqs["queries"].items())[:50]:
        assert freqs["counts"][concept] == round(word_frequency(query, "en") * 1e9)
    assert freqs["counts"]["CIFAR100+++apple"] > freqs["counts"]["DTD+++banded"] > 0
    assert summary.fetched == summary.distinct_queries and summary.requests == 0
    assert not (tmp_path / "xdg-cache").exists()  # nothing to cache for a local estimate
