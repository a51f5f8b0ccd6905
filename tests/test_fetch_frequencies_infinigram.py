"""fetch-frequencies --source infinigram against a loopback stand-in of the infini-gram API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.freq_standin import Fault, InfinigramStandIn, infinigram_count


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FOMO_ORDER_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("FOMO_ORDER_BACKOFF_CAP", "0.05")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def api():
    """A stand-in whose clause cap is above every count: OR counts are exact, never subsampled."""
    with InfinigramStandIn(max_clause_freq=10**9) as server:
        yield server


def spellings(phrase: str) -> list[str]:
    """As given, lower, Title (each space-separated word capitalised), UPPER; each distinct one once."""
    title = " ".join(w[:1].upper() + w[1:].lower() for w in phrase.split(" "))
    return list(dict.fromkeys([phrase, phrase.lower(), title, phrase.upper()]))


def variants_count(phrase: str) -> int:
    return sum(infinigram_count(v) for v in spellings(phrase))


def sent_queries(api) -> list[str]:
    return [json.loads(r.body)["query"] for r in api.requests]


def catalog_file(tmp_path: Path, concepts: int) -> Path:
    path = tmp_path / "catalog.yaml"
    classes = "".join(f"      - species {i}\n" for i in range(concepts - 1))
    path.write_text(
        "datasets:\n"
        "  - name: A\n    classes: [Apple]\n"
        f"  - name: B\n    query: \"{{}}\"\n    classes:\n      - Apple\n{classes}",
        encoding="utf-8",
    )
    return path


def fetch(run_cli, catalog: Path, out: Path, url: str, cache: Path, *extra: object):
    return run_cli(
        "fetch-frequencies", catalog, "-o", out, "--source", "infinigram", "--api-url", url + "/", "--cache-dir", cache,
        *extra,
    )


def test_counts_every_concept_one_query_per_request(run_cli, api, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=20), tmp_path / "freqs.json"
    result = fetch(run_cli, catalog, out, api.url, tmp_path / "cache")
    assert result.exit_code == 0, result.output
    freqs = json.loads(out.read_text(encoding="utf-8"))
    assert list(freqs["counts"]) == list(freqs["queries"]) == ["A+++Apple", "B+++Apple"] + [
        f"B+++species {i}" for i in range(19)
    ]
    # default --case variants: every distinct spelling counted, in one OR query per phrase
    assert all(freqs["counts"][cid] == variants_count(q) for cid, q in freqs["queries"].items())
    assert freqs["counts"]["A+++Apple"] != infinigram_count("Apple")
    meta = freqs["meta"]
    assert (meta["source"], meta["index"], meta["count"], meta["case"]) == (
        "infinigram", "v4_c4train_llama", "occurrences", "variants"
    )
    assert meta["case_variants_left_out"] == 0
    assert "not documents" in meta["counts_are"] and "case variants" in meta["counts_are"]
    requests = api.requests
    assert len(requests) == 20  # "Apple" is asked once for both concepts
    assert sorted(sent_queries(api)) == sorted(
        ["Apple OR apple OR APPLE"] + [f"species {i} OR Species {i} OR SPECIES {i}" for i in range(19)]
    )
    for request in requests:
        payload = json.loads(request.body)
        assert set(payload) == {"index", "query_type", "query"}
        assert (payload["index"], payload["query_type"]) == ("v4_c4train_llama", "count")
        assert request.headers["Content-Type"] == "application/json"


def test_case_exact_asks_for_the_phrase_as_written(run_cli, api, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=6), tmp_path / "freqs.json"
    result = fetch(run_cli, catalog, out, api.url, tmp_path / "cache", "--case", "exact")
    assert result.exit_code == 0, result.output
    freqs = json.loads(out.read_text(encoding="utf-8"))
    assert all(freqs["counts"][cid] == infinigram_count(q) for cid, q in freqs["queries"].items())
    assert freqs["meta"]["case"] == "exact" and "case-sensitive" in freqs["meta"]["counts_are"]
    assert "case_variants_left_out" not in freqs["meta"]
    assert sorted(sent_queries(api)) == sorted(["Apple"] + [f"species {i}" for i in range(5)])
    for request in api.requests:
        assert json.loads(request.body) == {"index": "v4_c4train_llama", "query_type": "count",
                                            "query": request.phrases[0]}


def named_catalog(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "named.yaml"
    path.write_text("datasets:\n  - name: D\n    classes:\n" + "".join(f"      - {json.dumps(n)}\n" for n in names),
                    encoding="utf-8")
    return path


def test_variants_that_coincide_are_asked_once(run_cli, api, tmp_path: Path) -> None:
    catalog, out = named_catalog(tmp_path, "USA", "42", "iPhone", "golden retriever"), tmp_path / "freqs.json"
    result = fetch(run_cli, catalog, out, api.url, tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert sorted(sent_queries(api)) == sorted([
        "USA OR usa OR Usa",  # UPPER is the name as given
        "42",  # digits have no case: a plain phrase query, no OR
        "iPhone OR iphone OR Iphone OR IPHONE",
        "golden retriever OR Golden Retriever OR GOLDEN RETRIEVER",
    ])
    counts = json.loads(out.read_text(encoding="utf-8"))["counts"]
    assert counts["D+++USA"] == sum(infinigram_count(v) for v in ("USA", "usa", "Usa"))
    assert counts["D+++42"] == infinigram_count("42")
    assert counts["D+++iPhone"] == sum(infinigram_count(v) for v in ("iPhone", "iphone", "Iphone", "IPHONE"))


def test_names_holding_the_operator_words(run_cli, api, tmp_path: Path) -> None:
    # The API splits a query string on " AND " / " OR " (case-sensitive) and has no escape for them.
    names = ("salt and pepper", "logic AND gate", "black or white", "OR")
    catalog, out, cache = named_catalog(tmp_path, *names), tmp_path / "freqs.json", tmp_path / "cache"
    result = fetch(run_cli, catalog, out, api.url, cache)
    assert result.exit_code == 0, result.output
    assert sorted(sent_queries(api)) == sorted([
        "salt and pepper OR Salt And Pepper",  # SALT AND PEPPER would be read as SALT AND PEPPER: left out
        "logic and gate OR Logic And Gate",  # as given and UPPER left out
        "black or white OR Black Or White",
        "OR OR or OR Or",  # the server reads three terms: OR, or, Or
    ])
    freqs = json.loads(out.read_text(encoding="utf-8"))
    counts = freqs["counts"]
    assert counts["D+++salt and pepper"] == infinigram_count("salt and pepper") + infinigram_count("Salt And Pepper")
    assert counts["D+++logic AND gate"] == infinigram_count("logic and gate") + infinigram_count("Logic And Gate")
    assert counts["D+++OR"] == sum(infinigram_count(v) for v in ("OR", "or", "Or"))
    assert freqs["meta"]["case_variants_left_out"] == 3
    assert "3 queries: a case variant holding AND/OR left out" in result.stderr

    api.clear()
    result = fetch(run_cli, catalog, out, api.url, cache, "--case", "exact")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and "'logic AND gate'" in line and "--case variants" in line and "--queries" in line
    assert api.requests == []


def test_an_approximate_or_count_is_replaced_by_exact_counts_of_each_variant(run_cli, tmp_path: Path) -> None:
    catalog, out = named_catalog(tmp_path, "Apple"), tmp_path / "freqs.json"
    expected = variants_count("Apple")
    assert expected > 50_000  # so the API's default clause cap subsamples it
    with InfinigramStandIn() as api:
        result = fetch(run_cli, catalog, out, api.url, tmp_path / "cache")
        answers = [api.respond(None, "/", r.body)[2] for r in api.requests]
        queries = sent_queries(api)
    assert result.exit_code == 0, result.output
    assert queries == ["Apple OR apple OR APPLE", "Apple", "apple", "APPLE"]
    first = json.loads(answers[0])
    assert first["approx"] is True and first["count"] != expected  # the estimate the client must not keep
    assert json.loads(out.read_text(encoding="utf-8"))["counts"]["D+++Apple"] == expected
    assert "1 queries counted variant by variant" in result.stderr and "in 4 requests" in result.stderr


def test_exact_and_variant_counts_are_cached_apart(run_cli, api, tmp_path: Path) -> None:
    catalog, cache = catalog_file(tmp_path, concepts=4), tmp_path / "cache"
    variants_out, exact_out = tmp_path / "variants.json", tmp_path / "exact.json"
    assert fetch(run_cli, catalog, variants_out, api.url, cache).exit_code == 0
    assert len(api.requests) == 4
    api.clear()
    assert fetch(run_cli, catalog, exact_out, api.url, cache, "--case", "exact").exit_code == 0
    assert sorted(sent_queries(api)) == ["Apple", "species 0", "species 1", "species 2"]  # none from the cache
    variants, exact = (json.loads(p.read_text(encoding="utf-8"))["counts"] for p in (variants_out, exact_out))
    assert all(exact[c] == infinigram_count(c.split("+++")[1]) for c in exact)
    assert all(variants[c] == variants_count(c.split("+++")[1]) for c in variants)
    api.clear()
    before = variants_out.read_bytes()
    for case, path in (("variants", variants_out), ("exact", exact_out)):
        again = fetch(run_cli, catalog, path, api.url, cache, "--case", case)
        assert again.exit_code == 0 and "4 from cache, 0 counted" in again.stderr
    assert api.requests == [] and variants_out.read_bytes() == before


def test_transient_faults_are_retried_and_change_no_count(run_cli, api, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=30), tmp_path / "freqs.json"
    faults = ("429", "500", "timeout", "malformed", "drop")
    for kind in faults:
        api.inject(Fault(kind, retry_after=0.5 if kind == "429" else None, seconds=1.2), Fault("ok"))
    result = fetch(run_cli, catalog, out, api.url, tmp_path / "cache", "--concurrency", 1, "--timeout", 0.4)
    assert result.exit_code == 0, result.output
    freqs = json.loads(out.read_text(encoding="utf-8"))
    assert all(freqs["counts"][cid] == variants_count(q) for cid, q in freqs["queries"].items())
    requests = api.requests
    assert [r.fault for r in requests if r.fault not in (None, "ok")] == list(faults)
    assert requests[1].phrases == requests[0].phrases
    assert requests[1].received_at - requests[0].received_at >= 0.5  # Retry-After honoured


def test_bounded_tries_then_exit_3_and_a_rerun_asks_only_for_the_missing(run_cli, api, tmp_path: Path) -> None:
    catalog, out, cache = catalog_file(tmp_path, concepts=12), tmp_path / "freqs.json", tmp_path / "cache"
    api.inject(Fault("503"), Fault("503"))
    result = fetch(run_cli, catalog, out, api.url, cache, "--concurrency", 1, "--tries", 2)
    assert result.exit_code == 3
    assert "1 of 12 queries have no count (first: 'Apple': HTTP 503" in result.stderr
    assert not out.exists()
    api.clear()
    assert fetch(run_cli, catalog, out, api.url, cache, "--concurrency", 1).exit_code == 0
    assert list(api.phrases_asked()) == ["Apple OR apple OR APPLE"]


def test_an_error_the_engine_reports_first_is_one_line_about_the_run(run_cli, api, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=5), tmp_path / "freqs.json"
    result = fetch(run_cli, catalog, out, api.url, tmp_path / "cache", "--index", "v4_nonsense")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {api.url}/: server said: Invalid index: v4_nonsense"
    assert not out.exists()


def test_counts_are_occurrences_only(run_cli, api, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=3), tmp_path / "freqs.json"
    result = fetch(run_cli, catalog, out, api.url, tmp_path / "cache", "--count", "documents")
    assert result.exit_code == 2 and "infini-gram counts occurrences" in result.stderr
    assert api.requests == [] and not out.exists()


def test_variants_too_long_for_one_query_are_asked_one_by_one(run_cli, api, tmp_path: Path) -> None:
    name = "word " * 70 + "end"  # 353 characters: its 3 variants joined exceed the API's limit of 1000
    catalog, out = named_catalog(tmp_path, name), tmp_path / "freqs.json"
    result = fetch(run_cli, catalog, out, api.url, tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert sent_queries(api) == spellings(name) and len(spellings(name)) == 3
    assert json.loads(out.read_text(encoding="utf-8"))["counts"][f"D+++{name}"] == variants_count(name)
