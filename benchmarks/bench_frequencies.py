"""fetch-frequencies --source wimbd vs WIMBD-style sequential ``_count`` calls, same stand-in, same run.

A loopback stand-in Elasticsearch 8 (``tests/servers.py``, in a process of its own) answers every
request after a fixed latency (default 20 ms, a nearby cloud region). The tool runs as users run it (the
CLI in a subprocess, interpreter start included) on all 18,381 FoMo-in-Flux class names; the baseline is
WIMBD's ``count_documents_containing_phrases``: one ``es.count`` per phrase, one after the other, with the
same official client. The baseline is timed on ``--baseline-phrases`` phrases (default 1,000) and scaled
to all of them (sequential calls cost the same each); ``--baseline-phrases all`` times every one.

Goals (issue 4): >= 50x less wall time, >= 20 phrases per request.

    python benchmarks/bench_frequencies.py [--latency 0.02] [--baseline-phrases 1000|all]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.servers import ElasticsearchStandIn, es_count  # noqa: E402

LISTS = REPO.parent / "shared" / "fif" / "datasets"


def serve(latency: float, ready) -> None:
    server = ElasticsearchStandIn(latency=latency).start()
    ready.put(server.url)
    while True:
        time.sleep(3600)


def wimbd_count_query(phrase: str) -> dict:
    """The query of WIMBD's count_documents_containing_phrases(index="c4", phrase)."""
    return {
        "bool": {
            "should": [{"match_phrase": {"text": {"query": phrase, "slop": 0}}}],
            "minimum_should_match": 1,
            "filter": [{"term": {"subset": "en"}}],
        }
    }


def run_tool(url: str, workdir: Path, batch_size: int, concurrency: int) -> tuple[float, int, Path]:
    out = workdir / "freqs.json"
    command = [
        sys.executable, "-m", "fomo_order", "fetch-frequencies", str(LISTS), "-o", str(out), "--es-url", url,
        "--cache-dir", str(workdir / "cache"), "--batch-size", str(batch_size), "--concurrency", str(concurrency),
    ]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=environment)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"fetch-frequencies failed:\n{done.stderr}")
    requests = int(re.search(r"in (\d+) requests", done.stderr).group(1))
    return seconds, requests, out


def run_baseline(url: str, phrases: list[str]) -> float:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(hosts=[url], request_timeout=30)
    start = time.perf_counter()
    for phrase in phrases:
        count = client.count(index="c4", query=wimbd_count_query(phrase))["count"]
        assert count == es_count(phrase)
    seconds = time.perf_counter() - start
    client.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.02, help="seconds the stand-in waits per request")
    parser.add_argument("--baseline-phrases", default="1000", help="phrases timed for the baseline, or 'all'")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if not LISTS.is_dir():
        raise SystemExit(f"needs the FoMo-in-Flux lists at {LISTS}")

    from fomo_order.catalog import load_catalog

    catalog = load_catalog(LISTS)
    names = catalog.class_names
    distinct = list(dict.fromkeys(names))

    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=serve, args=(args.latency, ready), daemon=True)
    server.start()
    try:
        url = ready.get(timeout=60)
        with tempfile.TemporaryDirectory() as workdir:
            tool_seconds, requests, out = run_tool(url, Path(workdir), args.batch_size, args.concurrency)
            freqs = json.loads(out.read_text(encoding="utf-8"))
            assert all(freqs["counts"][cid] == es_count(q) for cid, q in freqs["queries"].items())
        sample = distinct if args.baseline_phrases == "all" else distinct[: int(args.baseline_phrases)]
        sample_seconds = run_baseline(url, sample)
    finally:
        server.terminate()
        server.join()

    per_call = sample_seconds / len(sample)
    baseline_distinct = per_call * len(distinct)
    baseline_all = per_call * len(names)
    scaled = "" if len(sample) == len(distinct) else f" (timed {len(sample)}: {sample_seconds:.1f} s, scaled)"
    print(f"stand-in Elasticsearch 8 on loopback, {args.latency * 1000:.0f} ms per request; {os.cpu_count()} cores")
    print(f"concepts: {len(names)}, distinct phrases: {len(distinct)}")
    print(
        f"fetch-frequencies (CLI, batch {args.batch_size}, {args.concurrency} in flight): {tool_seconds:.2f} s, "
        f"{requests} requests, {len(distinct) / requests:.1f} phrases per request"
    )
    print(f"WIMBD-style sequential _count: {per_call * 1000:.1f} ms per phrase{scaled}")
    print(f"  over the {len(distinct)} distinct phrases: {baseline_distinct:.1f} s -> "
          f"{baseline_distinct / tool_seconds:.0f}x")
    print(f"  over all {len(names)} class names: {baseline_all:.1f} s -> {baseline_all / tool_seconds:.0f}x")
    ratio = baseline_distinct / tool_seconds
    per_request = len(distinct) / requests
    verdict = "met" if ratio >= 50 and per_request >= 20 else "NOT met"
    print(f"goal (>= 50x less wall time, >= 20 phrases per request): {verdict}")


if __name__ == "__main__":
    main()
