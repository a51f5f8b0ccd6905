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
    with InfinigramStandIn() as server:
        yield server


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
    assert all(freqs["counts"][cid] == infinigram_count(q) for cid, q in freqs["queries"].items())
    meta = freqs["meta"]
    assert (meta["source"], meta["index"], meta["count"]) == ("infinigram", "v4_c4train_llama", "occurrences")
    assert "not documents" in meta["counts_are"] and "n-gram" in meta["counts_are"]
    requests = api.requests
    assert len(requests) == 20  # "Apple" is asked once for both concepts
    for request in requests:
        payload = json.loads(request.body)
        assert payload == {"index": "v4_c4train_llama", "query_type": "count", "query": request.phrases[0]}
        assert request.headers["Content-Type"] == "application/json"


def test_transient_faults_are_retried_and_change_no_count(run_cli, api, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=30), tmp_path / "freqs.json"
    faults = ("429", "500", "timeout", "malformed", "drop")
    for kind in faults:
        api.inject(Fault(kind, retry_after=0.5 if kind == "429" else None, seconds=1.2), Fault("ok"))
    result = fetch(run_cli, catalog, out, api.url, tmp_path / "cache", "--concurrency", 1, "--timeout", 0.4)
    assert result.exit_code == 0, result.output
    freqs = json.loads(out.read_text(encoding="utf-8"))
    assert all(freqs["counts"][cid] == infinigram_count(q) for cid, q in freqs["queries"].items())
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
    assert list(api.phrases_asked()) == ["Apple"]


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
