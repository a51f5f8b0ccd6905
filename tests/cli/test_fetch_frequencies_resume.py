"""A fetch killed mid-run (SIGKILL, Ctrl-C) loses only what was in flight; the rerun asks only for the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.servers import ElasticsearchStandIn, es_count

CONCEPTS = 600
BATCH = 10
CONCURRENCY = 2


def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"datasets": [{"name": "D", "classes": [f"thing {i}" for i in range(CONCEPTS)]}]}))
    return path


def start_fetch(catalog: Path, out: Path, url: str, cache: Path) -> subprocess.Popen:
    environment = {**os.environ, "FOMO_ORDER_BACKOFF_BASE": "0.01", "XDG_CACHE_HOME": str(cache.parent / "xdg")}
    environment.pop("ES_CLOUD_ID", None)
    environment.pop("ES_API_KEY", None)
    command = [
        sys.executable, "-m", "fomo_order", "fetch-frequencies", str(catalog), "-o", str(out), "--es-url", url,
        "--cache-dir", str(cache), "--batch-size", str(BATCH), "--concurrency", str(CONCURRENCY),
    ]
    return subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_requests(server: ElasticsearchStandIn, count: int, process: subprocess.Popen, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while len(server.requests) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the fetch never got going"
        time.sleep(0.01)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_resumes_asking_only_for_what_is_missing(tmp_path: Path, stop: signal.Signals) -> None:
    catalog, out, cache = catalog_file(tmp_path), tmp_path / "freqs.json", tmp_path / "cache"
    with ElasticsearchStandIn(latency=0.1) as server:
        first = start_fetch(catalog, out, server.url, cache)
        wait_for_requests(server, 20, first)
        first.send_signal(stop)
        _, stderr = first.communicate(timeout=60)
        first_asked = server.phrases_asked()
        if stop == signal.SIGKILL:
            assert first.returncode == -signal.SIGKILL
        else:
            assert first.returncode == 130, stderr
            assert b"interrupted: the counts fetched so far are cached" in stderr
        assert not out.exists()
        assert len(first_asked) < CONCEPTS  # it really was stopped mid-run

        server.clear()
        server.latency = 0.0
        second = start_fetch(catalog, out, server.url, cache)
        _, stderr = second.communicate(timeout=120)
        assert second.returncode == 0, stderr
        second_asked = server.phrases_asked()

        # Only answers not yet stored when the first run died are asked again: at most the batches in
        # flight then (each worker: one being asked, and one answered but maybe not yet written).
        asked_twice = set(first_asked) & set(second_asked)
        assert len(asked_twice) <= 2 * CONCURRENCY * BATCH
        assert set(first_asked) | set(second_asked) == {f"thing {i}" for i in range(CONCEPTS)}
        assert max(second_asked.values()) == 1
        resumed = json.loads(out.read_text(encoding="utf-8"))
        assert all(resumed["counts"][f"D+++thing {i}"] == es_count(f"thing {i}") for i in range(CONCEPTS))

        # The same document as a run that was never interrupted (the command line aside: other paths).
        fresh_out = tmp_path / "fresh.json"
        fresh = start_fetch(catalog, fresh_out, server.url, tmp_path / "fresh-cache")
        assert fresh.wait(timeout=120) == 0
        documents = [json.loads(path.read_text(encoding="utf-8")) for path in (fresh_out, out)]
        for document in documents:
            document.pop("argv")
        assert documents[0] == documents[1]
