"""The wimbd source (library) against a loopback stand-in Elasticsearch 8 (never the internet)."""

from __future__ import annotations

import base64
import json
import math
import urllib.request
from pathlib import Path

import pytest

from fomo_order.catalog import load_catalog
from fomo_order.errors import InputError, ParameterError
from fomo_order.frequencies import FetchFailed, FetchOptions, FetchSummary, fetch_frequencies
from fomo_order.frequencies.wimbd import CredentialsMissing
from tests.servers import C4_OTHER_SUBSETS, ElasticsearchStandIn, Fault, es_count


@pytest.fixture
def es():
    with ElasticsearchStandIn() as server:
        yield server


def catalog_file(tmp_path: Path, concepts: int = 60) -> Path:
    """Two datasets; one has a query template; 'apple' appears in both (one query, asked once)."""
    numbered = [f"class {i}" for i in range(concepts - 3)]
    text = {
        "datasets": [
            {"name": "FRUIT", "query": "{} fruit", "classes": ["apple", "Black-footed pear"]},
            {"name": "THINGS", "classes": ["apple fruit", *numbered]},
        ]
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(text), encoding="utf-8")
    return path


def fetch(catalog: Path, url: str, cache: Path | None, **options: object) -> tuple[dict, FetchSummary]:
    """The library call that ``fetch-frequencies --es-url URL --cache-dir CACHE`` makes."""
    fetched = fetch_frequencies(load_catalog(catalog), FetchOptions(es_url=url, cache_dir=cache, **options))
    return fetched.document(), fetched.summary


def msearch_pairs(request) -> list[tuple[dict, dict]]:
    lines = [json.loads(line) for line in request.body.decode("utf-8").splitlines() if line.strip()]
    return list(zip(lines[0::2], lines[1::2], strict=True))


def test_counts_every_concept_with_wimbds_query_in_batches(es, tmp_path: Path) -> None:
    freqs, summary = fetch(catalog_file(tmp_path, concepts=60), es.url, tmp_path / "cache", batch_size=20)
    assert list(freqs)[:5] == ["tool", "version", "command", "argv", "inputs"] and "meta" not in freqs
    assert list(freqs)[-2:] == ["queries", "counts"]
    ids = list(freqs["queries"])
    assert ids[:3] == ["FRUIT+++apple", "FRUIT+++Black-footed pear", "THINGS+++apple fruit"]
    assert list(freqs["counts"]) == ids and len(ids) == 60
    assert freqs["queries"]["FRUIT+++apple"] == "apple fruit" == freqs["queries"]["THINGS+++apple fruit"]
    assert freqs["queries"]["FRUIT+++Black-footed pear"] == "Black-footed pear fruit"
    assert all(freqs["counts"][cid] == es_count(query) for cid, query in freqs["queries"].items())
    meta = freqs
    assert (meta["source"], meta["index"], meta["count"]) == ("wimbd", "c4", "documents")
    assert meta["filter"] == {"term": {"subset": "en"}}
    assert meta["query_templates"] == {"FRUIT": "{} fruit", "THINGS": "{}"}
    assert meta["client"].startswith("elasticsearch-py 8.")
    assert (meta["tool"], meta["command"], meta["argv"]) == ("fomo-order", "fetch-frequencies", None)

    distinct = 59  # "apple fruit" is one query for two concepts
    requests = es.requests
    assert len(requests) == math.ceil(distinct / 20) == summary.requests
    assert (summary.concepts, summary.distinct_queries, summary.fetched, summary.from_cache) == (60, 59, 59, 0)
    asked = es.phrases_asked()
    assert len(asked) == distinct and set(asked.values()) == {1}
    for request in requests:
        assert request.path.split("?")[0] == "/c4/_msearch"
        assert "compatible-with=8" in request.headers["accept"]
        for header, body in msearch_pairs(request):
            assert header == {}
            phrase = body["query"]["bool"]["filter"][0]["match_phrase"]["text"]
            assert body == {
                "size": 0,
                "track_total_hits": True,
                "query": {"bool": {"filter": [{"match_phrase": {"text": phrase}}, {"term": {"subset": "en"}}]}},
            }


def test_the_en_filter_belongs_to_c4_only(es, tmp_path: Path) -> None:
    freqs, _ = fetch(catalog_file(tmp_path, concepts=10), es.url, tmp_path / "cache", index="other")
    assert freqs["index"] == "other" and freqs["filter"] is None
    for request in es.requests:
        assert request.path.split("?")[0] == "/other/_msearch"
        for _, body in msearch_pairs(request):
            assert len(body["query"]["bool"]["filter"]) == 1
    # The stand-in counts other C4 subsets too when the filter is missing; c4 counts must never include them.
    assert all(count < C4_OTHER_SUBSETS for count in freqs["counts"].values())


def test_several_requests_in_flight_but_no_more_than_asked(tmp_path: Path) -> None:
    with ElasticsearchStandIn(latency=0.25) as slow:
        fetch(catalog_file(tmp_path, concepts=83), slow.url, tmp_path / "cache", batch_size=10, concurrency=3)
        assert 2 <= slow.max_in_flight <= 3
        assert len(slow.requests) == 9


class Notes:
    """A Reporter that keeps what it is told."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.phases: list[tuple[int, str, str]] = []
        self.done = 0

    def start(self, total: int, description: str, unit: str) -> None:
        self.phases.append((total, description, unit))

    def advance(self, amount: int) -> None:
        self.done += amount

    def note(self, message: str) -> None:
        self.notes.append(message)

    def finish(self) -> None:
        pass


def test_transient_faults_are_retried_and_change_no_count(es, tmp_path: Path) -> None:
    faults = ("429", "500", "503", "timeout", "malformed", "drop", "error-item")
    for kind in faults:  # each fault hits one batch, whose next try goes through
        es.inject(Fault(kind, retry_after=0.6 if kind == "429" else None, seconds=1.5, status=429), Fault("ok"))
    reporter = Notes()
    options = FetchOptions(es_url=es.url, cache_dir=tmp_path / "cache", batch_size=10, concurrency=1, timeout=0.5)
    fetched = fetch_frequencies(load_catalog(catalog_file(tmp_path, concepts=120)), options, reporter)
    freqs, _ = fetched.document(), fetched.summary
    assert all(freqs["counts"][cid] == es_count(q) for cid, q in freqs["queries"].items())
    requests = es.requests
    faulted = [r.fault for r in requests if r.fault not in (None, "ok")]
    assert faulted == list(faults)
    # Retry-After is honoured: the batch refused with 429 was not asked again before 0.6 s had passed.
    first, retried = requests[0], requests[1]
    assert retried.phrases == first.phrases
    assert retried.received_at - first.received_at >= 0.6
    # A per-item 429 inside an _msearch answer retries that query alone.
    item_fault = next(i for i, r in enumerate(requests) if r.fault == "error-item")
    assert requests[item_fault + 1].phrases == requests[item_fault].phrases[:1]
    # Progress goes through the reporter: one phase over the distinct queries, every retry a note.
    assert reporter.phases == [(119, f"counting 119 queries ({es.url})", "queries")] and reporter.done == 119
    assert len(reporter.notes) == len(faults) and all("retrying" in note for note in reporter.notes)


def test_gives_up_after_bounded_tries_keeps_the_rest_and_a_rerun_asks_only_for_the_missing(es, tmp_path: Path) -> None:
    catalog, cache = catalog_file(tmp_path, concepts=40), tmp_path / "cache"
    es.inject(Fault("500"), Fault("500"), Fault("500"))
    options = {"batch_size": 10, "concurrency": 1, "tries": 3}
    with pytest.raises(FetchFailed) as failed:
        fetch(catalog, es.url, cache, **options)
    failed_batch = es.requests[0].phrases
    assert len(failed_batch) == 10 and sorted(failed.value.failed) == sorted(failed_batch)
    message = str(failed.value)
    assert message.startswith("10 of 39 queries have no count")
    assert "HTTP 500" in message and "gave up after 3 tries" in message and "rerun" in message

    es.clear()
    freqs, summary = fetch(catalog, es.url, cache, **options)
    assert sorted(es.phrases_asked()) == sorted(failed_batch)
    assert (summary.from_cache, summary.fetched) == (29, 10)
    assert all(freqs["counts"][cid] == es_count(q) for cid, q in freqs["queries"].items())


def test_a_query_the_server_refuses_after_others_succeeded_fails_alone(es, tmp_path: Path) -> None:
    es.inject(Fault("ok"), Fault("error-item", status=400))
    with pytest.raises(FetchFailed) as failed:
        fetch(catalog_file(tmp_path, concepts=30), es.url, tmp_path / "cache", batch_size=10, concurrency=1)
    refused = es.requests[1].phrases[0]
    assert failed.value.failed == {refused: "HTTP 400: query_shard_exception: failed to create query"}
    assert "1 of 29 queries have no count" in str(failed.value)


def test_refused_credentials_are_reported_as_the_server_said(monkeypatch, tmp_path: Path) -> None:
    catalog = catalog_file(tmp_path, concepts=10)
    monkeypatch.setenv("ES_API_KEY", "wrong-key")
    with ElasticsearchStandIn(api_key="right-key") as locked:
        with pytest.raises(InputError) as refused:
            fetch(catalog, locked.url, tmp_path / "cache")
        assert str(refused.value).startswith(f"{locked.url}")
        assert "HTTP 401: security_exception: unable to authenticate with provided credentials" in str(refused.value)
        assert all(r.headers.get("authorization") == "ApiKey wrong-key" for r in locked.requests)

        monkeypatch.setenv("ES_API_KEY", "right-key")
        fetch(catalog, locked.url, tmp_path / "cache")


def test_unknown_index_is_reported_as_the_server_said(es, tmp_path: Path) -> None:
    with pytest.raises(InputError) as refused:
        fetch(catalog_file(tmp_path, concepts=10), es.url, tmp_path / "cache", index="c5")
    assert str(refused.value) == f"{es.url}: HTTP 404: index_not_found_exception: no such index [c5]"


def test_a_server_that_is_not_elasticsearch_is_refused(tmp_path: Path) -> None:
    with ElasticsearchStandIn(product_header=False) as impostor, pytest.raises(InputError) as refused:
        fetch(catalog_file(tmp_path, concepts=10), impostor.url, tmp_path / "cache")
    assert "server is not Elasticsearch" in str(refused.value) and "X-Elastic-Product" in str(refused.value)


def test_missing_credentials_say_what_is_missing_in_the_librarys_words(monkeypatch, tmp_path: Path) -> None:
    catalog = load_catalog(catalog_file(tmp_path, concepts=5))
    with pytest.raises(CredentialsMissing) as missing:
        fetch_frequencies(catalog, FetchOptions(cache_dir=tmp_path / "cache"))
    assert missing.value.parameter == "source" and "--" not in missing.value.problem
    for name in ("ES_CLOUD_ID", "ES_API_KEY", "es_config.yml", "infinigram", "corpus", "wordfreq"):
        assert name in missing.value.problem
    monkeypatch.setenv("ES_CLOUD_ID", "deployment:" + base64.b64encode(b"example.com$abc$def").decode())
    with pytest.raises(CredentialsMissing, match="ES_API_KEY is not set"):
        fetch_frequencies(catalog, FetchOptions(cache_dir=tmp_path / "cache"))


def test_credentials_from_wimbd_config_file_and_environment(monkeypatch, tmp_path: Path) -> None:
    from fomo_order.frequencies.wimbd import ElasticsearchBackend, resolve_credentials

    cloud_id = "wimbd:" + base64.b64encode(b"us-central1.gcp.cloud.es.io$957e9820$8d7c49").decode()
    config = tmp_path / "es_config.yml"
    config.write_text(f"cloud_id: {cloud_id}\napi_key: from-file\n", encoding="utf-8")
    credentials = resolve_credentials(None, config, {"ES_API_KEY": "from-env"})
    assert (credentials.cloud_id, credentials.api_key) == (cloud_id, "from-file")
    config.write_text(f"cloud_id: {cloud_id}\n", encoding="utf-8")
    assert resolve_credentials(None, config, {"ES_API_KEY": "from-env"}).api_key == "from-env"
    with pytest.raises(InputError, match="has no 'api_key', and ES_API_KEY is not set"):
        resolve_credentials(None, config, {})
    environment = {"ES_CLOUD_ID": cloud_id, "ES_API_KEY": "k"}
    credentials = resolve_credentials(None, None, environment)
    assert (credentials.cloud_id, credentials.api_key) == (cloud_id, "k")
    # The client turns the cloud id into the deployment's https endpoint (no connection is made here).
    backend = ElasticsearchBackend(credentials, "c4", concurrency=2, timeout=5)
    assert backend.endpoint == "https://957e9820.us-central1.gcp.cloud.es.io:443"
    backend.close()
    with pytest.raises(InputError, match="ES_CLOUD_ID: cannot connect"):
        ElasticsearchBackend(resolve_credentials(None, None, {"ES_CLOUD_ID": "nonsense", "ES_API_KEY": "k"}), "c4",
                             concurrency=1, timeout=5)


def test_client_is_the_8x_line_that_an_8x_server_accepts(es) -> None:
    import elasticsearch

    assert elasticsearch.__versionstr__.startswith("8.")
    # What a 9.x client would send is refused by an Elasticsearch 8 server (and by the stand-in).
    body = b'{}\n{"size": 0, "query": {"match_all": {}}}\n'
    request = urllib.request.Request(
        es.url + "/c4/_msearch",
        data=body,
        headers={
            "Accept": "application/vnd.elasticsearch+json; compatible-with=9",
            "Content-Type": "application/vnd.elasticsearch+x-ndjson; compatible-with=9",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    assert b"media_type_header_exception" in refused.value.read()


def test_cache_answers_a_rerun_refresh_asks_again_and_the_index_is_part_of_the_key(es, tmp_path) -> None:
    catalog, cache = catalog_file(tmp_path, concepts=25), tmp_path / "cache"
    first, _ = fetch(catalog, es.url, cache)
    es.clear()
    second, summary = fetch(catalog, es.url, cache)
    assert es.requests == [] and (summary.from_cache, summary.fetched, summary.requests) == (24, 0, 0)
    assert first == second
    fetch(catalog, es.url, cache, refresh=True)
    assert len(es.phrases_asked()) == 24
    es.clear()
    fetch(catalog, es.url, cache, index="other")
    assert len(es.phrases_asked()) == 24
    assert (cache / "frequencies.sqlite3").exists()


def test_cache_defaults_to_xdg_cache_home(es, tmp_path: Path) -> None:
    fetch(catalog_file(tmp_path, concepts=5), es.url, None)
    assert (tmp_path / "xdg-cache" / "fomo-order" / "frequencies.sqlite3").exists()


def test_offline_counts_come_from_the_cache_and_no_request_is_sent(es, tmp_path: Path) -> None:
    catalog, cache = load_catalog(catalog_file(tmp_path, concepts=25)), tmp_path / "cache"
    options = FetchOptions(es_url=es.url, cache_dir=cache)
    with pytest.raises(FetchFailed) as failed:  # nothing cached yet, and the cache is not even created
        fetch_frequencies(catalog, options, offline=True)
    assert len(failed.value.failed) == 24 and "offline run asks no server" in str(failed.value)
    assert not cache.exists() and es.requests == []
    fetched = fetch_frequencies(catalog, options)
    online, _ = fetched.document(), fetched.summary
    es.clear()
    fetched = fetch_frequencies(catalog, options, offline=True)
    offline, summary = fetched.document(), fetched.summary
    assert offline == online and summary.from_cache == 24 and es.requests == []
    with pytest.raises(ParameterError) as both:
        fetch_frequencies(catalog, FetchOptions(es_url=es.url, cache_dir=cache, refresh=True), offline=True)
    assert both.value.parameter == "refresh" and es.requests == []


def test_a_server_that_is_down_stops_the_run_early(tmp_path: Path) -> None:
    with ElasticsearchStandIn() as gone:
        url = gone.url  # a loopback port that refuses connections once the server is stopped
    with pytest.raises(FetchFailed) as failed:
        fetch(catalog_file(tmp_path, concepts=100), url, tmp_path / "cache", batch_size=5, tries=2, concurrency=1)
    assert "stopped early: 3 requests in a row failed: connection failed" in str(failed.value)
    assert "99 of 99 queries have no count" in str(failed.value)
