"""The exact concept-similarity search on the CPU (numba), against the naive O(N^3) reference.

1. The whole FoMo-in-Flux catalog (18,381 MiniLM embeddings, d = 384), exact all-starts search.
   Goal: <= 30 s wall on a 2-core machine. Also: --refine 2opt with the spanning-tree bound, and the
   CLI end to end (`fomo-order order similarity ... --embeddings E.npy`).
2. N = 2,000 rows of the same embeddings: the naive reference (per start, a masked argmin over the full
   weight row at every step) and the fast search in the same run, compiled code warm; both must give
   the same path. Goal: >= 100x.
3. ``--synthetic N`` (e.g. 100000, ``--dim 768``): random unit vectors, one walk from an explicit start
   (neighbour lists + one walk), run in a child process to report its peak RSS; the all-starts time is
   extrapolated from a timed batch of walks.

Needs ../shared/fif (the reference data). Prints figures; asserts only that fast and naive agree.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "fif"
sys.path.insert(0, str(REPO))

from fomo_order.similarity import naive_greedy_all_starts, similarity_path  # noqa: E402
from fomo_order.similarity import search as search_module  # noqa: E402
from fomo_order.similarity.warm_up import compile_kernels  # noqa: E402
from fomo_order.similarity.weights import fixed_point_for, quantize  # noqa: E402


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def load_fif() -> tuple[np.ndarray, list[str]]:
    """The shared embeddings in the catalog's concept order (the order the CLI searches in)."""
    from fomo_order.catalog import load_catalog

    matrix = np.load(SHARED / "minilm-embeddings.npy").astype(np.float32)
    file_ids = json.loads((SHARED / "minilm-embeddings.concepts.json").read_text(encoding="utf-8"))
    row_of = {cid: row for row, cid in enumerate(file_ids)}
    concepts = load_catalog(SHARED / "datasets").concept_ids
    matrix = matrix[[row_of[cid] for cid in concepts]]
    return (matrix / np.linalg.norm(matrix.astype(np.float64), axis=1, keepdims=True)).astype(np.float32), concepts


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def phases(embeddings: np.ndarray) -> dict[str, float]:
    """Seconds per phase of the default search (the same calls similarity_path makes)."""
    from fomo_order.similarity import _greedy_numba

    n = len(embeddings)
    fixed = fixed_point_for(n)
    quantized, t_quantize = timed(quantize, embeddings, fixed)
    k = min(search_module.default_neighbours(n), n - 1)
    lists, t_lists = timed(search_module.neighbour_lists, quantized, k, fixed, "cpu")
    diagnostics: dict = {}
    totals, t_walks = timed(search_module.all_start_totals, quantized, lists, fixed, "cpu", diagnostics=diagnostics)
    best = int(np.flatnonzero(totals == totals[totals >= 0].min())[0])
    _, t_path = timed(_greedy_numba.greedy_path, best, quantized, fixed.scale, lists.head, lists.keys,
                      fixed.index_bits)
    print(f"  phases: quantize {t_quantize:.2f} s, neighbour lists (k={k}) {t_lists:.2f} s, "
          f"all-start walks {t_walks:.2f} s ({diagnostics['pruned_walks']} of {n} pruned before the end, "
          f"{diagnostics['fallback_scans']} fallback scans), path {t_path:.3f} s")
    return {"lists": t_lists, "walks": t_walks}


def bench_catalog(embeddings: np.ndarray, concepts: list[str], run_cli: bool) -> None:
    n = len(embeddings)
    print(f"[1] whole FoMo-in-Flux catalog: N = {n}, d = {embeddings.shape[1]}, {os.cpu_count()} CPUs")
    phases(embeddings)
    result, seconds = timed(similarity_path, embeddings, device="cpu")
    print(f"  similarity_path (exact, all starts): {seconds:.2f} s wall (goal <= 30 s); start {result.start} "
          f"({concepts[result.start]}), cost {result.cost:.6f}; peak RSS so far {peak_rss_gib():.2f} GiB")
    refined, seconds_refined = timed(similarity_path, embeddings, device="cpu", refine="2opt")
    print(f"  with --refine 2opt: {seconds_refined:.2f} s wall; cost {refined.greedy_cost:.4f} -> {refined.cost:.4f} "
          f"({100 * (1 - refined.cost / refined.greedy_cost):.2f}% lower), spanning-tree bound "
          f"{refined.mst_weight:.4f}, moves {refined.details['refine_moves']}")
    if not run_cli:
        return
    from fomo_order.artifacts.embeddings import write_embeddings

    with tempfile.TemporaryDirectory() as tmp:
        npy = Path(tmp) / "minilm.npy"
        write_embeddings(npy, embeddings, concepts, {"model": "all-MiniLM-L6-v2 (shared reference file)"})
        out = Path(tmp) / "similarity.json"
        command = [sys.executable, "-m", "fomo_order", "order", "similarity", str(SHARED / "datasets"),
                   "--embeddings", str(npy), "--device", "cpu", "-o", str(out)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        seconds_cli = time.perf_counter() - start
        if done.returncode != 0:
            print(f"  CLI failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
            return
        stream = json.loads(out.read_text(encoding="utf-8"))
        same = stream == [concepts[i] for i in result.path]
        print(f"  CLI `fomo-order order similarity` end to end: {seconds_cli:.2f} s wall "
              f"(stream {'equals' if same else 'DIFFERS FROM'} the library path)")


def bench_ratio(embeddings: np.ndarray, n: int) -> None:
    rows = np.sort(np.random.default_rng(0).choice(len(embeddings), n, replace=False))
    subset = embeddings[rows]
    similarity_path(subset[:200], device="cpu")  # compiled code warm (numba's cache loaded)
    fast, t_fast = timed(similarity_path, subset, device="cpu")
    (path, cost, start), t_naive = timed(naive_greedy_all_starts, subset)
    assert np.array_equal(fast.path, path) and (fast.cost, fast.start) == (cost, start), "fast != naive"
    print(f"[2] N = {n} (seeded random rows of the catalog): naive {t_naive:.2f} s, fast {t_fast:.3f} s, "
          f"same path; speed-up {t_naive / t_fast:.0f}x (goal >= 100x)")


def synthetic_child(n: int, dim: int) -> None:
    """One explicit-start run at size n (in a fresh process, for its peak RSS)."""
    from fomo_order.similarity import _greedy_numba

    rng = np.random.default_rng(0)
    x = np.empty((n, dim), dtype=np.float32)
    for first in range(0, n, 8192):
        block = rng.standard_normal((min(8192, n - first), dim))
        x[first : first + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    fixed = fixed_point_for(n)
    quantized = quantize(x, fixed)
    k = min(search_module.default_neighbours(n), n - 1)
    lists, t_lists = timed(search_module.neighbour_lists, quantized, k, fixed, "cpu")
    walks = 8
    starts = np.arange(walks, dtype=np.int64)
    (_, fallbacks), t_walks = timed(_greedy_numba.greedy_totals, starts, quantized, fixed.scale, lists.head,
                                    lists.keys, fixed.index_bits, np.iinfo(np.int64).max)
    per_walk = t_walks / walks * min(walks, os.cpu_count() or 1)  # core-seconds per walk
    estimate_h = per_walk * n / (os.cpu_count() or 1) / 3600
    print(f"[3] synthetic N = {n}, d = {dim}: neighbour lists (k={k}) {t_lists:.1f} s; {walks} walks "
          f"{t_walks:.1f} s ({per_walk:.2f} core-s per walk, {fallbacks.mean():.0f} fallback scans each): "
          f"all {n} starts would take ~{estimate_h:.1f} h on these {os.cpu_count()} CPUs; "
          f"lists {lists.keys.nbytes / 2**30:.2f} GiB; peak RSS {peak_rss_gib():.2f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ratio-n", type=int, default=2000)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-catalog", action="store_true")
    parser.add_argument("--skip-ratio", action="store_true")
    parser.add_argument("--synthetic", type=int, default=0, help="also run the synthetic size N (e.g. 100000)")
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--synthetic-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synthetic_child:
        synthetic_child(args.synthetic_child, args.dim)
        return
    if not SHARED.exists():
        sys.exit(f"needs {SHARED}")
    embeddings, concepts = load_fif()
    compile_kernels()  # compile or load numba's cache (every CPU kernel, the screen of large lists included), untimed
    if not args.skip_catalog:
        bench_catalog(embeddings, concepts, run_cli=not args.skip_cli)
    if not args.skip_ratio:
        bench_ratio(embeddings, args.ratio_n)
    if args.synthetic:
        subprocess.run([sys.executable, __file__, "--synthetic-child", str(args.synthetic), "--dim", str(args.dim)],
                       check=True)


if __name__ == "__main__":
    main()
