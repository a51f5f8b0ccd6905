"""The demo similarity run, warm and on a first run, against a warm `order random` measured in the same run.

Goals (issue 21): a warm `fomo-order order similarity configs/demo/catalog.yaml --embeddings
streams/embeddings.npy` (default `--device auto`) costs <= 2x a warm `order random`; the first run after
an installation (an empty ``NUMBA_CACHE_DIR``) <= 15x. The demo's plain search walks in numpy (no numba,
nothing to compile), so the same pair is also timed with ``--refine 2opt``, which runs numba's walks,
local search and spanning tree: its first run compiles all of them. Median of ``--repeats`` runs each
(default 3), wall-clock seconds of the whole command; the CPU seconds of the command (user + system) are
printed beside them, as they vary less on a shared machine. Run from anywhere:

    python benchmarks/bench_first_run.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CATALOG = "configs/demo/catalog.yaml"
EMBEDDINGS = "streams/embeddings.npy"
WARM_SIMILARITY_GOAL, COLD_SIMILARITY_GOAL = 2.0, 15.0


def timed(command: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=REPO, env=environment)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_of(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    print(f"{os.cpu_count()} CPUs; load average at start {os.getloadavg()[0]:.1f}")
    base = [sys.executable, "-m", "fomo_order", "order"]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "stream.json")
        random_run = [*base, "random", CATALOG, "-o", out]
        similarity_run = [*base, "similarity", CATALOG, "--embeddings", EMBEDDINGS, "-o", out]
        warm_cache = {**environment, "NUMBA_CACHE_DIR": str(Path(tmp) / "warm-cache")}
        timed(random_run, environment)  # the file system cache holds the interpreter and the package
        timed(similarity_run, warm_cache)  # compiles once into the warm cache
        random = median_of([timed(random_run, environment) for _ in range(repeats)])
        warm = median_of([timed(similarity_run, warm_cache) for _ in range(repeats)])


        def first_runs(command: list[str], name: str) -> tuple[float, float]:
            """Median of runs, each with an empty NUMBA_CACHE_DIR of its own."""
            return median_of([timed(command, {**environment, "NUMBA_CACHE_DIR": str(Path(tmp) / f"{name}-{repeat}")})
                              for repeat in range(repeats)])

        cold = first_runs(similarity_run, "cold-cache")
        refine_run = [*similarity_run, "--refine", "2opt"]
        timed(refine_run, warm_cache)
        refine_warm = median_of([timed(refine_run, warm_cache) for _ in range(repeats)])
        refine_cold = first_runs(refine_run, "cold-refine")
    print(f"order random (warm):                      {random[0]:6.2f} s wall, {random[1]:6.2f} s CPU")
    for name, (wall, cpu), goal in (("order similarity (warm):", warm, WARM_SIMILARITY_GOAL),
                                    ("order similarity (first run):", cold, COLD_SIMILARITY_GOAL),
                                    ("... --refine 2opt (warm, numba):", refine_warm, None),
                                    ("... --refine 2opt (first run, numba):", refine_cold, None)):
        target = f"goal <= {goal:g}x" if goal else "no goal"
        print(f"{name:41s} {wall:6.2f} s wall, {cpu:6.2f} s CPU: {wall / random[0]:5.1f}x random "
              f"(CPU {cpu / random[1]:5.1f}x; {target})")
    print(f"median of {repeats}; load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
