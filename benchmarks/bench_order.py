"""`order` on the real FoMo-in-Flux catalog (18,381 concepts): seconds beyond interpreter start.

Goal: under 1 s beyond interpreter start for every no-model ordering. The baseline, measured in the
same run, is `python -c pass` (interpreter start) and `fomo-order --help` (CLI import).
Needs ../shared/fif (the reference data).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "fif"


def best_of(command: list[str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    if not SHARED.exists():
        sys.exit(f"needs {SHARED}")
    python = [sys.executable]
    interpreter = best_of([*python, "-c", "pass"])
    cli_help = best_of([*python, "-m", "fomo_order", "--help"])
    print(f"interpreter start: {interpreter:.3f} s; `fomo-order --help`: {cli_help:.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        counts = Path(tmp) / "counts.json"
        import json

        ids = json.loads((SHARED / "minilm-embeddings.concepts.json").read_text())
        counts.write_text(json.dumps({cid: len(cid) for cid in ids}))
        base = [*python, "-m", "fomo_order", "order"]
        catalog = [str(SHARED / "datasets"), "--years", str(SHARED / "years.json")]
        cases = {
            "random": ["random", *catalog],
            "dataset": ["dataset", *catalog],
            "time": ["time", *catalog],
            "time by-dataset": ["time", *catalog, "--within-year", "by-dataset"],
            "frequency": ["frequency", *catalog, "--frequencies", str(counts)],
        }
        beyond = []
        for name, args in cases.items():
            seconds = best_of([*base, *args, "-o", str(Path(tmp) / "s.json")])
            beyond.append(seconds - interpreter)
            print(f"order {name:16s} {seconds:.3f} s total, {seconds - interpreter:.3f} s beyond interpreter start")
        print(f"median beyond interpreter start: {statistics.median(beyond):.3f} s (goal < 1 s); "
              f"max {max(beyond):.3f} s")


if __name__ == "__main__":
    main()
