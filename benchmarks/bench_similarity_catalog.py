"""The full FoMo-in-Flux search, CLI end to end, against one float32 Gram product of its embeddings.

Goal (issue 21): `fomo-order order similarity` on the 18,381 concepts (MiniLM, d = 384, CPU) costs
<= 4x one float32 Gram product ``X @ X.T`` of the same embeddings, timed in the same run, with a peak
memory near 1.2 GiB. The CLI and the Gram product each run in a child process started from this small
one (a child's peak RSS counts what it inherits at the fork), the product into a fresh (N, N) result as a
user's first product would be. Median of ``--repeats`` (default 3) each, alternating, so that a busy
spell of a shared machine hits both.

``--against REF`` also runs the CLI of another commit (a temporary git worktree, its kernels compiled
first) in the same rounds: the side-by-side comparison with earlier code.

Needs ../shared/fif (the reference data). Run from anywhere:

    python benchmarks/bench_similarity_catalog.py [--repeats 3] [--against REF]
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


def cli_run(arguments: list[str], environment: dict[str, str], repo: Path = REPO) -> tuple[float, float]:
    """(wall seconds, peak RSS in GiB) of one child run of the CLI of the checkout ``repo``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CLI, *arguments], cwd=repo,
                          env={**environment, "PYTHONPATH": str(repo)}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the CLI failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--against", help="a git commit whose CLI runs side by side (a temporary worktree)")
    arguments = parser.parse_args()
    repeats = arguments.repeats
    from fomo_order.artifacts.embeddings import write_embeddings

    embeddings, concepts = load_fif()  # 28 MB: the children inherit little
    print(f"{os.cpu_count()} CPUs; load average at start {os.getloadavg()[0]:.1f}; N = {len(concepts)}, "
          f"d = {embeddings.shape[1]}")
    with tempfile.TemporaryDirectory() as tmp:
        npy = Path(tmp) / "minilm.npy"
        write_embeddings(npy, embeddings, concepts, {"model": "all-MiniLM-L6-v2 (shared reference file)"})
        command = ["order", "similarity", str(SHARED / "datasets"),
                   "--embeddings", str(npy), "--device", "cpu", "--quiet", "-o", str(Path(tmp) / "stream.json")]
        environment = dict(os.environ)
        other = Path(tmp) / "against"
        if arguments.against:
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(other),
                            arguments.against], check=True)
        try:
            cli_run(command, environment)  # numba's cache and the file system cache warm
            runs: dict[str, list[float]] = {"cli": [], "gram": [], "peak": [], "against": [], "against_peak": []}
            if arguments.against:
                cli_run(command, environment, other)  # compiles that commit's kernels (its own numba cache)
            for _ in range(repeats):
                runs["gram"].append(gram_seconds(npy))
                seconds, peak = cli_run(command, environment)
                runs["cli"].append(seconds)
                runs["peak"].append(peak)
                if arguments.against:
                    seconds, peak = cli_run(command, environment, other)
                    runs["against"].append(seconds)
                    runs["against_peak"].append(peak)
        finally:
            if arguments.against:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)], check=False)
    cli_median, gram_median = statistics.median(runs["cli"]), statistics.median(runs["gram"])
    listed = lambda name: ", ".join(f"{s:.2f}" for s in runs[name])  # noqa: E731
    print(f"one float32 Gram product X @ X.T: {gram_median:6.2f} s (runs {listed('gram')})")
    print(f"CLI order similarity, end to end: {cli_median:6.2f} s (runs {listed('cli')}); "
          f"peak RSS {max(runs['peak']):.2f} GiB")
    if arguments.against:
        print(f"the same at {arguments.against}: {statistics.median(runs['against']):6.2f} s (runs "
              f"{listed('against')}); peak RSS {max(runs['against_peak']):.2f} GiB; "
              f"{statistics.median(runs['against']) / gram_median:.1f}x the product")
    print(f"ratio {cli_median / gram_median:.1f}x (goal <= {GOAL:g}x); median of {repeats}; "
          f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
