"""fetch-frequencies --source corpus: MB/s of decompressed text per core, vs a naive per-phrase regex loop.

All 18,381 FoMo-in-Flux class names (16,658 distinct phrases) counted in the 1,000-document C4 sample
(``../shared/corpus``), documents holding each phrase. The tool runs in one process (one core): reading and
decompressing the file, parsing JSON, normalizing the text and matching every phrase in one pass; the
phrase table is built once per run and timed separately. The baseline, in the same run, is what one writes
first: one case-insensitive regex per phrase (its words separated by non-word characters, whole words),
searched in every document. It is timed on ``--baseline-phrases`` phrases (default 300) and scaled to all
(each phrase costs one scan of the text). Both must agree on the sampled phrases' counts up to the
tokenizer's refinements (apostrophes and periods inside words), which the script reports.

Goal (issue 4): >= 20 MB/s per core.

    python benchmarks/bench_frequencies_corpus.py [--repeats 5] [--baseline-phrases 300|all]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared"
SAMPLE = SHARED / "corpus" / "c4-sample.00000-of-00001.json.gz"
LISTS = SHARED / "fif" / "datasets"


def naive_counts(documents: list[str], phrases: list[str]) -> dict[str, int]:
    counts = {}
    for phrase in phrases:
        words = re.findall(r"\w+", phrase)
        if not words:
            counts[phrase] = 0
            continue
        pattern = re.compile(r"(?<!\w)" + r"\W+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)
        counts[phrase] = sum(1 for document in documents if pattern.search(document))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-phrases", default="300", help="phrases timed for the baseline, or 'all'")
    args = parser.parse_args()
    if not SAMPLE.exists() or not LISTS.is_dir():
        raise SystemExit(f"needs {SAMPLE} and {LISTS}")

    from fomo_order.catalog import load_catalog
    from fomo_order.frequencies.analyzer import character_tables, normalize_texts
    from fomo_order.frequencies.cache import CountCache
    from fomo_order.frequencies.corpus import count_corpus, count_in_file

    names = load_catalog(LISTS).class_names
    phrases = list(dict.fromkeys(names))
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as handle:
        documents = [json.loads(line)["text"] for line in handle]
    text_mb = sum(len(d.encode("utf-8")) for d in documents) / 1e6

    start = time.perf_counter()
    character_tables()
    normalize_texts(["warm up"])  # loads (or, the first time ever, compiles) the numba kernels
    warm_up = time.perf_counter() - start

    start = time.perf_counter()
    patterns = sorted({p for p in normalize_texts(phrases) if p.strip()})
    prepare = time.perf_counter() - start

    scans = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        counts, _, text_bytes = count_in_file(SAMPLE, patterns, "documents")
        scans.append(time.perf_counter() - start)
    scan = statistics.median(scans)

    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        with CountCache(cache_dir) as cache:
            result = count_corpus([SAMPLE], phrases, "documents", cache, processes=1)
        end_to_end = time.perf_counter() - start

    sample = phrases if args.baseline_phrases == "all" else phrases[: int(args.baseline_phrases)]
    start = time.perf_counter()
    naive = naive_counts(documents, sample)
    naive_seconds = time.perf_counter() - start
    naive_total = naive_seconds / len(sample) * len(phrases)
    agree = sum(naive[p] == result.counts[p] for p in sample)

    print(f"C4 sample: {len(documents)} documents, {text_mb:.2f} MB of text; {os.cpu_count()} cores; one process")
    print(f"phrases: {len(phrases)} distinct of {len(names)} class names ({len(patterns)} distinct token sequences)")
    print(f"kernel load: {warm_up:.2f} s once per process; phrase table: {prepare:.2f} s once per run")
    print(
        f"scan (read, gunzip, JSON, normalize, match all phrases): median {scan:.3f} s of {args.repeats} -> "
        f"{text_bytes / 1e6 / scan:.1f} MB/s per core"
    )
    print(f"end to end (count_corpus: phrase table, cache, file checks too): {end_to_end:.2f} s for {text_mb:.2f} MB")
    scaled = "" if len(sample) == len(phrases) else f" (timed {len(sample)} phrases: {naive_seconds:.1f} s, scaled)"
    print(
        f"naive per-phrase regex loop: {naive_total:.1f} s for all phrases{scaled} -> "
        f"{text_mb / naive_total:.3f} MB/s; the scan is {naive_total / scan:.0f}x faster"
    )
    print(f"counts equal to the naive loop's on {agree} of {len(sample)} sampled phrases")
    print(f"goal (>= 20 MB/s per core): {'met' if text_bytes / 1e6 / scan >= 20 else 'NOT met'}")
    assert sum(counts) > 0


if __name__ == "__main__":
    main()
