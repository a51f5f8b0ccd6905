"""The infinigram source (library) against a loopback stand-in of the infini-gram API: one ``requests``
session per worker thread, case variants in one OR query, retries, the cache."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from fomo_order.catalog import load_catalog
from fomo_order.errors import InputError, ParameterError
from fomo_order.frequencies import FetchFailed, FetchOptions, FetchSummary, fetch_frequencies
from fomo_order.frequencies.infinigram import InfinigramBackend, OperatorWordsInExactCase
from fomo_order.frequencies.queries import CaseMode
from tests.servers import Fault, InfinigramStandIn, infinigram_count


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


def fetch(catalog: Path, url: str, cache: Path, **options: object) -> tuple[dict, FetchSummary]:
    """The library call that ``fetch-frequencies --source infinigram --api-url URL/ --cache-dir CACHE`` makes."""
    settings = FetchOptions(source="infinigram", api_url=url + "/", cache_dir=cache, **options)
    fetched = fetch_frequencies(load_catalog(catalog), settings)
    return fetched.document(), fetched.summary


def test_counts_every_concept_one_query_per_request(api, tmp_path: Path) -> None:
    freqs, summary = fetch(catalog_file(tmp_path, concepts=20), api.url, tmp_path / "cache")
    assert list(freqs["counts"]) == list(freqs["queries"]) == ["A+++Apple", "B+++Apple"] + [
        f"B+++species {i}" for i in range(19)
    ]
    # default case variants: every distinct spelling counted, in one OR query per phrase
    assert all(freqs["counts"][cid] == variants_count(q) for cid, q in freqs["queries"].items())
    assert freqs["counts"]["A+++Apple"] != infinigram_count("Apple")
    meta = freqs
    assert (meta["source"], meta["index"], meta["count"], meta["case"]) == (
        "infinigram", "v4_c4train_llama", "occurrences", "variants"
    )
    assert meta["case_variants_left_out"] == 0 and meta["endpoint"] == api.url + "/"
    assert "not documents" in meta["counts_are"] and "case variants" in meta["counts_are"]
    requests = api.requests
    assert len(requests) == 20 == summary.requests == summary.fetched  # "Apple" is asked once for both concepts
    assert sorted(sent_queries(api)) == sorted(
        ["Apple OR apple OR APPLE"] + [f"species {i} OR Species {i} OR SPECIES {i}" for i in range(19)]
    )
    for request in requests:
        payload = json.loads(request.body)
        assert set(payload) == {"index", "query_type", "query"}
        assert (payload["index"], payload["query_type"]) == ("v4_c4train_llama", "count")
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["User-Agent"].startswith("fomo-order/")


def test_case_exact_asks_for_the_phrase_as_written(api, tmp_path: Path) -> None:
    freqs, _ = fetch(catalog_file(tmp_path, concepts=6), api.url, tmp_path / "cache", case=CaseMode.exact)
    assert all(freqs["counts"][cid] == infinigram_count(q) for cid, q in freqs["queries"].items())
    assert freqs["case"] == "exact" and "case-sensitive" in freqs["counts_are"]
    assert "case_variants_left_out" not in freqs
    assert sorted(sent_queries(api)) == sorted(["Apple"] + [f"species {i}" for i in range(5)])
    for request in api.requests:
        assert json.loads(request.body) == {"index": "v4_c4train_llama", "query_type": "count",
                                            "query": request.phrases[0]}


def named_catalog(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "named.yaml"
    path.write_text("datasets:\n  - name: D\n    classes:\n" + "".join(f"      - {json.dumps(n)}\n" for n in names),
                    encoding="utf-8")
    return path


def test_variants_that_coincide_are_asked_once(api, tmp_path: Path) -> None:
    catalog = named_catalog(tmp_path, "USA", "42", "iPhone", "golden retriever")
    counts = fetch(catalog, api.url, tmp_path / "cache")[0]["counts"]
    assert sorted(sent_queries(api)) == sorted([
        "USA OR usa OR Usa",  # UPPER is the name as given
        "42",  # digits have no case: a plain phrase query, no OR
        "iPhone OR iphone OR Iphone OR IPHONE",
        "golden retriever OR Golden Retriever OR GOLDEN RETRIEVER",
    ])
    assert counts["D+++USA"] == sum(infinigram_count(v) for v in ("USA", "usa", "Usa"))
    assert counts["D+++42"] == infinigram_count("42")
    assert counts["D+++iPhone"] == sum(infinigram_count(v) for v in ("iPhone", "iphone", "Iphone", "IPHONE"))


def test_names_holding_the_operator_words(api, tmp_path: Path) -> None:
    # The API splits a query string on " AND " / " OR " (case-sensitive) and has no escape for them.
    names = ("salt and pepper", "logic AND gate", "black or white", "OR")
    catalog, cache = named_catalog(tmp_path, *names), tmp_path / "cache"
    freqs, summary = fetch(catalog, api.url, cache)
    assert sorted(sent_queries(api)) == sorted([
        "salt and pepper OR Salt And Pepper",  # SALT AND PEPPER would be read as SALT AND PEPPER: left out
        "logic and gate OR Logic And Gate",  # as given and UPPER left out
        "black or white OR Black Or White",
        "OR OR or OR Or",  # the server reads three terms: OR, or, Or
    ])
    counts = freqs["counts"]
    assert counts["D+++salt and pepper"] == infinigram_count("salt and pepper") + infinigram_count("Salt And Pepper")
    assert counts["D+++logic AND gate"] == infinigram_count("logic and gate") + infinigram_count("Logic And Gate")
    assert counts["D+++OR"] == sum(infinigram_count(v) for v in ("OR", "or", "Or"))
    assert freqs["case_variants_left_out"] == 3
    assert "3 queries: a case variant holding AND/OR left out" in summary.notes

    api.clear()
    with pytest.raises(OperatorWordsInExactCase) as refused:
        fetch(catalog, api.url, cache, case="exact")
    assert refused.value.parameter == "case" and "'logic AND gate'" in refused.value.problem
    assert "--" not in refused.value.problem  # the library names no flags; the CLI adds them
    assert api.requests == []


def test_an_approximate_or_count_is_replaced_by_exact_counts_of_each_variant(tmp_path: Path) -> None:
    catalog = named_catalog(tmp_path, "Apple")
    expected = variants_count("Apple")
    assert expected > 50_000  # so the API's default clause cap subsamples it
    with InfinigramStandIn() as api:
        freqs, summary = fetch(catalog, api.url, tmp_path / "cache")
        answers = [api.respond(None, "/", r.body)[2] for r in api.requests]
        queries = sent_queries(api)
    assert queries == ["Apple OR apple OR APPLE", "Apple", "apple", "APPLE"]
    first = json.loads(answers[0])
    assert first["approx"] is True and first["count"] != expected  # the estimate the client must not keep
    assert freqs["counts"]["D+++Apple"] == expected
    assert "1 queries counted variant by variant (their OR count was approximate)" in summary.notes
    assert summary.requests == 4


def test_exact_and_variant_counts_are_cached_apart(api, tmp_path: Path) -> None:
    catalog, cache = catalog_file(tmp_path, concepts=4), tmp_path / "cache"
    variants = fetch(catalog, api.url, cache)[0]
    assert len(api.requests) == 4
    api.clear()
    exact = fetch(catalog, api.url, cache, case="exact")[0]
    assert sorted(sent_queries(api)) == ["Apple", "species 0", "species 1", "species 2"]  # none from the cache
    assert all(exact["counts"][c] == infinigram_count(c.split("+++")[1]) for c in exact["counts"])
    assert all(variants["counts"][c] == variants_count(c.split("+++")[1]) for c in variants["counts"])
    api.clear()
    for case, before in (("variants", variants), ("exact", exact)):
        again, summary = fetch(catalog, api.url, cache, case=case)
        assert (summary.from_cache, summary.fetched, summary.requests) == (4, 0, 0)
        assert again == before
    assert api.requests == []


def test_transient_faults_are_retried_and_change_no_count(api, tmp_path: Path) -> None:
    faults = ("429", "500", "timeout", "malformed", "drop")
    for kind in faults:
        api.inject(Fault(kind, retry_after=0.5 if kind == "429" else None, seconds=1.2), Fault("ok"))
    freqs, _ = fetch(catalog_file(tmp_path, concepts=30), api.url, tmp_path / "cache", concurrency=1, timeout=0.4)
    assert all(freqs["counts"][cid] == variants_count(q) for cid, q in freqs["queries"].items())
    requests = api.requests
    assert [r.fault for r in requests if r.fault not in (None, "ok")] == list(faults)
    assert requests[1].phrases == requests[0].phrases
    assert requests[1].received_at - requests[0].received_at >= 0.5  # Retry-After honoured


def test_bounded_tries_then_failed_and_a_rerun_asks_only_for_the_missing(api, tmp_path: Path) -> None:
    catalog, cache = catalog_file(tmp_path, concepts=12), tmp_path / "cache"
    api.inject(Fault("503"), Fault("503"))
    with pytest.raises(FetchFailed) as failed:
        fetch(catalog, api.url, cache, concurrency=1, tries=2)
    assert failed.value.exit_code == 3
    assert "1 of 12 queries have no count (first: 'Apple': HTTP 503" in str(failed.value)
    assert list(failed.value.failed) == ["Apple"] and "gave up after 2 tries" in failed.value.failed["Apple"]
    api.clear()
    fetch(catalog, api.url, cache, concurrency=1)
    assert list(api.phrases_asked()) == ["Apple OR apple OR APPLE"]


def test_an_error_the_engine_reports_first_is_about_the_run(api, tmp_path: Path) -> None:
    with pytest.raises(InputError) as refused:
        fetch(catalog_file(tmp_path, concepts=5), api.url, tmp_path / "cache", index="v4_nonsense")
    assert str(refused.value) == f"{api.url}/: server said: Invalid index: v4_nonsense"


def test_counts_are_occurrences_only(api, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="infini-gram counts occurrences") as refused:
        fetch(catalog_file(tmp_path, concepts=3), api.url, tmp_path / "cache", count="documents")
    assert refused.value.parameter == "count" and api.requests == []


def test_variants_too_long_for_one_query_are_asked_one_by_one(api, tmp_path: Path) -> None:
    name = "word " * 70 + "end"  # 353 characters: its 3 variants joined exceed the API's limit of 1000
    freqs, _ = fetch(named_catalog(tmp_path, name), api.url, tmp_path / "cache")
    assert sent_queries(api) == spellings(name) and len(spellings(name)) == 3
    assert freqs["counts"][f"D+++{name}"] == variants_count(name)


def test_each_worker_thread_keeps_one_session_and_connection(tmp_path: Path) -> None:
    with InfinigramStandIn(latency=0.05, max_clause_freq=10**9) as api:
        fetch(catalog_file(tmp_path, concepts=40), api.url, tmp_path / "cache", concurrency=3)
        connections = {r.client_port for r in api.requests}
    assert 2 <= len(connections) <= 3  # keep-alive: one connection per worker, reused for all its requests


def test_a_connection_the_server_dropped_while_idle_is_replaced_at_once(api) -> None:
    backend = InfinigramBackend(api.url + "/", "v4_c4train_llama", timeout=5, user_agent="t", case=CaseMode.exact)
    try:
        assert backend.count(["one"]).counts == {"one": infinigram_count("one")}
        api.close_idle_connections()
        outcome = backend.count(["two"])  # the reused session's connection is gone: a fresh one, no retry wait
        assert outcome.counts == {"two": infinigram_count("two")} and not outcome.retry
    finally:
        backend.close()


def test_a_refused_connection_is_transient_and_named(tmp_path: Path) -> None:
    with InfinigramStandIn() as gone:
        url = gone.url
    backend = InfinigramBackend(url + "/", "v4_c4train_llama", timeout=5, user_agent="t", case=CaseMode.exact)
    outcome = backend.count(["x"])
    backend.close()
    assert list(outcome.retry) == ["x"] and outcome.retry["x"].message.startswith("connection failed: ")
    assert "refused" in outcome.retry["x"].message.lower()


def test_sessions_are_closed_with_the_backend(api) -> None:
    backend = InfinigramBackend(api.url + "/", "v4_c4train_llama", timeout=5, user_agent="t")
    workers = [threading.Thread(target=backend.count, args=([f"w{i}"],)) for i in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(backend._sessions) == 3
    backend.close()
    assert backend._sessions == []
