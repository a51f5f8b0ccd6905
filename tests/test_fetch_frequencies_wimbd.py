"""fetch-frequencies --source wimbd against a loopback stand-in Elasticsearch 8 (never the internet)."""

from __future__ import annotations

import base64
import json
import math
import urllib.request
from pathlib import Path

import pytest

from tests.freq_standin import C4_OTHER_SUBSETS, ElasticsearchStandIn, Fault, es_count


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch, tmp_path: Path) -> None:
    """No real credentials, short backoff, and a cache that can never be the user's own."""
    for name in ("ES_CLOUD_ID", "ES_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOMO_ORDER_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("FOMO_ORDER_BACKOFF_CAP", "0.05")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


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


def fetch(run_cli, catalog: Path, out: Path, url: str, cache: Path, *extra: object):
    return run_cli("fetch-frequencies", catalog, "-o", out, "--es-url", url, "--cache-dir", cache, *extra)


def msearch_pairs(request) -> list[tuple[dict, dict]]:
    lines = [json.loads(line) for line in request.body.decode("utf-8").splitlines() if line.strip()]
    return list(zip(lines[0::2], lines[1::2], strict=True))


def test_counts_every_concept_with_wimbds_query_in_batches(run_cli, es, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=60), tmp_path / "freqs.json"
    result = fetch(run_cli, catalog, out, es.url, tmp_path / "cache", "--batch-size", 20)
    assert result.exit_code == 0, result.output
    freqs = json.loads(out.read_text(encoding="utf-8"))
    assert list(freqs) == ["meta", "queries", "counts"]
    ids = list(freqs["queries"])
    assert ids[:3] == ["FRUIT+++apple", "FRUIT+++Black-footed pear", "THINGS+++apple fruit"]
    assert list(freqs["counts"]) == ids and len(ids) == 60
    assert freqs["queries"]["FRUIT+++apple"] == "apple fruit" == freqs["queries"]["THINGS+++apple fruit"]
    assert freqs["queries"]["FRUIT+++Black-footed pear"] == "Black-footed pear fruit"
    assert all(freqs["counts"][cid] == es_count(query) for cid, query in freqs["queries"].items())
    meta = freqs["meta"]
    assert (meta["source"], meta["index"], meta["count"]) == ("wimbd", "c4", "documents")
    assert meta["filter"] == {"term": {"subset": "en"}}
    assert meta["query_templates"] == {"FRUIT": "{} fruit", "THINGS": "{}"}
    assert meta["client"].startswith("elasticsearch-py 8.")
    assert meta["tool"].startswith("fomo-order ")

    distinct = 59  # "apple fruit" is one query for two concepts
    requests = es.requests
    assert len(requests) == math.ceil(distinct / 20)
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


def test_the_en_filter_belongs_to_c4_only(run_cli, es, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=10), tmp_path / "freqs.json"
    assert fetch(run_cli, catalog, out, es.url, tmp_path / "cache", "--index", "other").exit_code == 0
    freqs = json.loads(out.read_text(encoding="utf-8"))
    assert freqs["meta"]["index"] == "other" and freqs["meta"]["filter"] is None
    for request in es.requests:
        assert request.path.split("?")[0] == "/other/_msearch"
        for _, body in msearch_pairs(request):
            assert len(body["query"]["bool"]["filter"]) == 1
    # The stand-in counts other C4 subsets too when the filter is missing; c4 counts must never include them.
    assert all(count < C4_OTHER_SUBSETS for count in freqs["counts"].values())


def test_several_requests_in_flight_but_no_more_than_asked(run_cli, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=83), tmp_path / "freqs.json"
    with ElasticsearchStandIn(latency=0.25) as slow:
        result = fetch(run_cli, catalog, out, slow.url, tmp_path / "cache", "--batch-size", 10, "--concurrency", 3)
        assert result.exit_code == 0, result.output
        assert 2 <= slow.max_in_flight <= 3
        assert len(slow.requests) == 9


def test_transient_faults_are_retried_and_change_no_count(run_cli, es, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=120), tmp_path / "freqs.json"
    faults = ("429", "500", "503", "timeout", "malformed", "drop", "error-item")
    for kind in faults:  # each fault hits one batch, whose next try goes through
        es.inject(Fault(kind, retry_after=0.6 if kind == "429" else None, seconds=1.5, status=429), Fault("ok"))
    result = fetch(
        run_cli, catalog, out, es.url, tmp_path / "cache", "--batch-size", 10, "--concurrency", 1, "--timeout", 0.5
    )
    assert result.exit_code == 0, result.output
    freqs = json.loads(out.read_text(encoding="utf-8"))
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
    assert "retrying" in result.stderr


def test_gives_up_after_bounded_tries_keeps_the_rest_and_a_rerun_asks_only_for_the_missing(
    run_cli, es, tmp_path: Path
) -> None:
    catalog, out, cache = catalog_file(tmp_path, concepts=40), tmp_path / "freqs.json", tmp_path / "cache"
    es.inject(Fault("500"), Fault("500"), Fault("500"))
    args = ("--batch-size", 10, "--concurrency", 1, "--tries", 3)
    result = fetch(run_cli, catalog, out, es.url, cache, *args)
    assert result.exit_code == 3, result.output
    assert not out.exists()
    failed_batch = es.requests[0].phrases
    assert len(failed_batch) == 10
    error_line = result.stderr.strip().splitlines()[-1]
    assert error_line.startswith("error: 10 of 39 queries have no count")
    assert "HTTP 500" in error_line and "gave up after 3 tries" in error_line and "rerun" in error_line
    assert f"no count for {failed_batch[0]!r}" in result.stderr

    es.clear()
    result = fetch(run_cli, catalog, out, es.url, cache, *args)
    assert result.exit_code == 0, result.output
    assert sorted(es.phrases_asked()) == sorted(failed_batch)
    freqs = json.loads(out.read_text(encoding="utf-8"))
    assert all(freqs["counts"][cid] == es_count(q) for cid, q in freqs["queries"].items())


def test_a_query_the_server_refuses_after_others_succeeded_fails_alone(run_cli, es, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=30), tmp_path / "freqs.json"
    es.inject(Fault("ok"), Fault("error-item", status=400))
    result = fetch(run_cli, catalog, out, es.url, tmp_path / "cache", "--batch-size", 10, "--concurrency", 1)
    assert result.exit_code == 3, result.output
    refused = es.requests[1].phrases[0]
    assert f"no count for {refused!r}: HTTP 400: query_shard_exception: failed to create query" in result.stderr
    assert "1 of 29 queries have no count" in result.stderr
    assert not out.exists()


def test_refused_credentials_are_reported_as_the_server_said_in_one_line(run_cli, monkeypatch, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=10), tmp_path / "freqs.json"
    monkeypatch.setenv("ES_API_KEY", "wrong-key")
    with ElasticsearchStandIn(api_key="right-key") as locked:
        result = fetch(run_cli, catalog, out, locked.url, tmp_path / "cache")
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith(f"error: {locked.url}")
        assert "HTTP 401: security_exception: unable to authenticate with provided credentials" in result.stderr
        assert not out.exists()
        assert all(r.headers.get("authorization") == "ApiKey wrong-key" for r in locked.requests)

        monkeypatch.setenv("ES_API_KEY", "right-key")
        assert fetch(run_cli, catalog, out, locked.url, tmp_path / "cache").exit_code == 0


def test_unknown_index_is_reported_as_the_server_said_in_one_line(run_cli, es, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=10), tmp_path / "freqs.json"
    result = fetch(run_cli, catalog, out, es.url, tmp_path / "cache", "--index", "c5")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {es.url}: HTTP 404: index_not_found_exception: no such index [c5]"
    assert not out.exists()


def test_a_server_that_is_not_elasticsearch_is_refused(run_cli, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=10), tmp_path / "freqs.json"
    with ElasticsearchStandIn(product_header=False) as impostor:
        result = fetch(run_cli, catalog, out, impostor.url, tmp_path / "cache")
    assert result.exit_code == 2
    assert "server is not Elasticsearch" in result.stderr and "X-Elastic-Product" in result.stderr
    assert not out.exists()


def test_missing_credentials_name_every_way_to_give_them(run_cli, monkeypatch, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=5), tmp_path / "freqs.json"
    result = run_cli("fetch-frequencies", catalog, "-o", out, "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line
    for name in ("ES_CLOUD_ID", "ES_API_KEY", "--es-url", "--es-config", "infinigram", "corpus", "wordfreq"):
        assert name in line
    monkeypatch.setenv("ES_CLOUD_ID", "deployment:" + base64.b64encode(b"example.com$abc$def").decode())
    result = run_cli("fetch-frequencies", catalog, "-o", out, "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 2 and "ES_API_KEY is not set" in result.stderr
    assert not out.exists()


def test_credentials_from_wimbd_config_file_and_environment(monkeypatch, tmp_path: Path) -> None:
    from fomo_order.errors import InputError
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


def test_cache_answers_a_rerun_refresh_asks_again_and_the_index_is_part_of_the_key(run_cli, es, tmp_path) -> None:
    catalog, cache = catalog_file(tmp_path, concepts=25), tmp_path / "cache"
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert fetch(run_cli, catalog, first, es.url, cache).exit_code == 0
    es.clear()
    result = fetch(run_cli, catalog, second, es.url, cache)
    assert result.exit_code == 0 and es.requests == []
    assert "24 from cache, 0 counted" in result.stderr
    assert first.read_bytes() == second.read_bytes()
    assert fetch(run_cli, catalog, second, es.url, cache, "--refresh").exit_code == 0
    assert len(es.phrases_asked()) == 24
    es.clear()
    assert fetch(run_cli, catalog, second, es.url, cache, "--index", "other").exit_code == 0
    assert len(es.phrases_asked()) == 24
    assert (cache / "frequencies.sqlite3").exists()


def test_cache_defaults_to_xdg_cache_home(run_cli, es, tmp_path: Path) -> None:
    catalog, out = catalog_file(tmp_path, concepts=5), tmp_path / "freqs.json"
    assert run_cli("fetch-frequencies", catalog, "-o", out, "--es-url", es.url).exit_code == 0
    assert (tmp_path / "xdg-cache" / "fomo-order" / "frequencies.sqlite3").exists()


def test_a_server_that_is_down_stops_the_run_early(run_cli, tmp_path: Path) -> None:
    with ElasticsearchStandIn() as gone:
        url = gone.url  # a loopback port that refuses connections once the server is stopped
    catalog, out = catalog_file(tmp_path, concepts=100), tmp_path / "freqs.json"
    result = fetch(run_cli, catalog, out, url, tmp_path / "cache", "--batch-size", 5, "--tries", 2, "--concurrency", 1)
    assert result.exit_code == 3
    assert "stopped early: 3 requests in a row failed: connection failed" in result.stderr
    assert "99 of 99 queries have no count" in result.stderr
    assert not out.exists()
