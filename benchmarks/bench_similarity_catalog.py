"""The full FoMo-in-Flux search, CLI end to end, against one float32 Gram product of its embeddings.

Goal (issue 21): `fomo-order order similarity` on the 18,381 concepts (MiniLM, d = 384, CPU) costs
<= 4x one float32 Gram product ``X @ X.T`` of the same embeddings, timed in the same run, with a peak
memory near 1.2 GiB. The CLI and the Gram product each run in a child process started from this small
one (a child's peak RSS counts what it inherits at the fork), the product into a fresh (N, N) result as a
user's first product would be. Median of ``--repeats`` (default 3) each, alternating, so that a busy
spell of a shared machine hits both.

Needs ../shared/fif (the reference data). Run from anywhere:

    python benchmarks/bench_similarity_catalog.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_similarity import SHARED, load_fif  # noqa: E402

GOAL = 4.0


GRAM = """
import sys, time
import numpy as np
x = np.load(sys.argv[1])
x @ x[:64].T  # BLAS loaded and its threads started
start = time.perf_counter()
product = x @ x.T
print(time.perf_counter() - start)
"""


def gram_seconds(npy: Path) -> float:
    done = subprocess.run([sys.executable, "-c", GRAM, str(npy)], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


# `fomo-order ARGS`, then its own peak RSS (KiB) as the last line of stderr.
CLI = """
import resource, sys
from fomo_order.cli import main
try:
    main(sys.argv[1:])
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def cli_run(arguments: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in GiB) of one child run."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CLI, *arguments], cwd=REPO, env=environment,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the CLI failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    from fomo_order.artifacts.embeddings import write_embeddings

    embeddings, concepts = load_fif()  # 28 MB: the children inherit little
    print(f"{os.cpu_count()} CPUs; load average at start {os.getloadavg()[0]:.1f}; N = {len(concepts)}, "
          f"d = {embeddings.shape[1]}")
    with tempfile.TemporaryDirectory() as tmp:
        npy = Path(tmp) / "minilm.npy"
        write_embeddings(npy, embeddings, concepts, {"model": "all-MiniLM-L6-v2 (shared reference file)"})
        command = ["order", "similarity", str(SHARED / "datasets"),
                   "--embeddings", str(npy), "--device", "cpu", "--quiet", "-o", str(Path(tmp) / "stream.json")]
        environment = {**os.environ, "PYTHONPATH": str(REPO)}
        cli_run(command, environment)  # numba's cache and the file system cache warm
        cli, gram, peaks = [], [], []
        for _ in range(repeats):
            gram.append(gram_seconds(npy))
            seconds, peak = cli_run(command, environment)
            cli.append(seconds)
            peaks.append(peak)
    cli_median, gram_median = statistics.median(cli), statistics.median(gram)
    print(f"one float32 Gram product X @ X.T: {gram_median:6.2f} s (runs {', '.join(f'{s:.2f}' for s in gram)})")
    print(f"CLI order similarity, end to end: {cli_median:6.2f} s (runs {', '.join(f'{s:.2f}' for s in cli)}); "
          f"peak RSS {max(peaks):.2f} GiB")
    print(f"ratio {cli_median / gram_median:.1f}x (goal <= {GOAL:g}x); median of {repeats}; "
          f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
