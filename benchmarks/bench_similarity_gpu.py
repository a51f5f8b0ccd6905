"""The exact concept-similarity search on a GPU (Triton walks), checked against the CPU (numba) kernel.

1. Agreement: on a few-thousand-row subset of the FoMo-in-Flux embeddings, the greedy cost of every
   start from the Triton kernel, the earlier torch kernel and the numba kernel must be identical, and
   so must the chosen paths (default, --start-rank 3, --refine 2opt) on the CPU and on the device. The
   script stops (assertion) if anything differs.
2. The whole FoMo-in-Flux catalog (18,381 x 384): ``similarity_path`` end to end (goal: <= 3 s on an
   H100) with its parts, and the walks from all starts (no pruning) with the Triton kernel vs the torch
   kernel, in the same run (ratio; both must give the same totals).
3. N random unit vectors (default 100,000 x 768), all starts (goal: <= 5 min on an H100): neighbour
   lists, Triton walks, the chosen path; the chosen start and the highest-index starts (whose visited
   flags lie beyond 2**31 bytes) are re-walked by numba and must agree.

    python benchmarks/bench_similarity_gpu.py                      # on a machine with CUDA
    python benchmarks/bench_similarity_gpu.py --random-n 20000     # a smaller [3]
    python benchmarks/bench_similarity_gpu.py --device cpu --subset 300 --catalog-n 600 --random-n 500 --dim 64
                                                                   # smoke test of the same code paths

With ``--device cpu`` the "device" side is the torch kernel on CPU tensors, and the Triton kernel runs
only where Triton's interpreter is on (``TRITON_INTERPRET=1`` in the environment): it then walks from
``--interpreter-starts`` starts of the subset (a few milliseconds per step), else it is skipped with a
note. Needs ../shared/fif.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "fif"
sys.path.insert(0, str(REPO))

from fomo_order.similarity import search as search_module  # noqa: E402
from fomo_order.similarity import similarity_path  # noqa: E402
from fomo_order.similarity.warm_up import compile_kernels  # noqa: E402
from fomo_order.similarity.weights import fixed_point_for, quantize  # noqa: E402


class Clock:
    """Wall time of a block, synchronising the GPU first and last."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.seconds = 0.0

    def _sync(self) -> None:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()

    def __enter__(self) -> Clock:
        self._sync()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self._sync()
        self.seconds = time.perf_counter() - self.start


def prepared(embeddings: np.ndarray):
    n = len(embeddings)
    fixed = fixed_point_for(n)
    return fixed, quantize(embeddings, fixed), min(search_module.default_neighbours(n), n - 1)


def numba_walk(quantized: np.ndarray, lists, fixed, start: int) -> int:
    from fomo_order.similarity import _greedy_numba

    _, total, _ = _greedy_numba.greedy_path(start, quantized, fixed.scale, lists.head, lists.keys, fixed.index_bits)
    return int(total)


def staged_search(embeddings: np.ndarray, device: str, kernel: str | None, label: str) -> tuple:
    """The steps of ``similarity_path`` (all starts, K = 1) one by one, timed and printed.

    Returns (seconds, totals, quantized, lists, fixed)."""
    fixed, quantized, k = prepared(embeddings)
    with Clock(device) as lists_clock:
        lists = search_module.neighbour_lists(quantized, k, fixed, device)
    print(f"{label}: neighbour lists (k = {k}) {lists_clock.seconds:.2f} s, walking ...", flush=True)
    diagnostics: dict = {}
    with Clock(device) as walks_clock:
        totals = search_module.all_start_totals(quantized, lists, fixed, device, kernel=kernel, diagnostics=diagnostics)
    complete = np.flatnonzero(totals >= 0)
    best = int(complete[np.lexsort((complete, totals[complete]))[0]])
    with Clock("cpu") as path_clock:
        assert numba_walk(quantized, lists, fixed, best) == totals[best], "the chosen start's total differs"
    seconds = lists_clock.seconds + walks_clock.seconds + path_clock.seconds
    print(f"{label}: {seconds:.2f} s = lists {lists_clock.seconds:.2f} s + walks {walks_clock.seconds:.2f} s "
          f"+ chosen path {path_clock.seconds:.2f} s; best start {best}, cost {fixed.to_float(totals[best]):.6f}; "
          f"{diagnostics}", flush=True)
    return seconds, totals, quantized, lists, fixed


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.empty((n, dim), dtype=np.float32)
    for first in range(0, n, 8192):
        block = rng.standard_normal((min(8192, n - first), dim))
        x[first : first + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return x


def triton_in_interpreter() -> bool:
    import os

    if os.environ.get("TRITON_INTERPRET") != "1":
        return False
    try:
        from fomo_order.similarity._greedy_triton import interpreter_active
    except ImportError:
        return False
    return interpreter_active()


def agreement(subset: np.ndarray, device: str, interpreter_starts: int) -> None:
    import torch

    by_numba, fixed = search_module.greedy_start_costs(subset, device="cpu")
    device_kernels = ("triton", "torch") if device == "cuda" else ("torch",)
    for kernel in device_kernels:
        by_kernel, _ = search_module.greedy_start_costs(subset, device=device, kernel=kernel)
        assert np.array_equal(by_numba, by_kernel), f"greedy costs differ between numba and {kernel} on {device}"
    checked = ", ".join(device_kernels)
    if device == "cpu":
        if triton_in_interpreter():
            from fomo_order.similarity._greedy_triton import greedy_walks_triton

            fixed, quantized, k = prepared(subset)
            lists = search_module.neighbour_lists(quantized, k, fixed, "cpu")
            starts = np.linspace(0, len(subset) - 1, interpreter_starts).astype(np.int64)
            with Clock("cpu") as clock:
                result = greedy_walks_triton(
                    torch.from_numpy(quantized.astype(np.float64)), torch.from_numpy(lists.keys),
                    torch.from_numpy(starts), fixed,
                )  # fmt: skip
            assert np.array_equal(result.totals, by_numba[starts]), "greedy costs differ between numba and triton"
            checked += f", triton in the interpreter from {len(starts)} starts ({clock.seconds:.1f} s)"
        else:
            print("    triton: skipped on the CPU (set TRITON_INTERPRET=1 to run it in Triton's interpreter)")
    if device == "cpu":
        _, totals, _, _, fixed = staged_search(subset, "cpu", "torch", "    torch")
        complete = np.flatnonzero(totals >= 0)
        ranked = complete[np.lexsort((complete, totals[complete]))]
        for rank in (1, 3):  # refinement always runs on the CPU: nothing device-specific to compare
            cpu = similarity_path(subset, device="cpu", start_rank=rank)
            assert (int(ranked[rank - 1]), fixed.to_float(totals[ranked[rank - 1]])) == (cpu.start, cpu.greedy_cost)
    for kwargs in ({}, {"start_rank": 3}, {"refine": "2opt"}) if device == "cuda" else ():
        cpu = similarity_path(subset, device="cpu", **kwargs)
        gpu = similarity_path(subset, device=device, **kwargs)
        assert gpu.diagnostics["kernel"] == "triton"
        assert np.array_equal(cpu.path, gpu.path) and (cpu.cost, cpu.start) == (gpu.cost, gpu.start), kwargs
    paths = "the chosen paths agree between cpu and cuda" if device == "cuda" else "ranks 1 and 3 pick the same starts"
    print(f"[1] N = {len(subset)}: every start's greedy cost agrees between numba and {checked}; {paths}", flush=True)


def catalog_timings(catalog: np.ndarray, device: str) -> None:
    label = f"[2] FoMo-in-Flux catalog (N = {len(catalog)})"
    if device == "cpu":
        staged_search(catalog, device, "torch", f"{label}, torch on cpu")
        return
    with Clock(device) as clock:
        result = similarity_path(catalog, device=device)
    print(f"{label}, similarity_path on {device}: {clock.seconds:.2f} s (goal <= 3 s on an H100), "
          f"cost {result.cost:.6f}, {result.diagnostics}", flush=True)
    staged_search(catalog, device, "triton", "    its parts, triton")
    fixed, quantized, k = prepared(catalog)
    lists = search_module.neighbour_lists(quantized, k, fixed, device)
    seconds, totals = {}, {}
    for kernel in ("triton", "torch"):
        diagnostics: dict = {}
        with Clock(device) as clock:
            totals[kernel] = search_module.all_start_totals(
                quantized, lists, fixed, device, keep=None, kernel=kernel, diagnostics=diagnostics
            )
        seconds[kernel] = clock.seconds
        print(f"    all {len(catalog)} walks to the end, {kernel}: {clock.seconds:.2f} s, {diagnostics}", flush=True)
    assert np.array_equal(totals["triton"], totals["torch"]), "triton and torch totals differ on the catalog"
    ratio = seconds["torch"] / seconds["triton"]
    print(f"[2] walks to the end, torch / triton: {ratio:.1f}x (same totals)", flush=True)


def random_timings(n: int, dim: int, device: str) -> None:
    x = unit_rows(n, dim, seed=0)
    kernel = "triton" if device == "cuda" else "torch"
    seconds, totals, quantized, lists, fixed = staged_search(
        x, device, kernel, f"[3] N = {n} random unit vectors, d = {dim}, {kernel} on {device}"
    )
    best = totals[totals >= 0].min()
    for start in sorted({n - 1, n - 2, n // 2}):
        walked = numba_walk(quantized, lists, fixed, start)
        assert walked == totals[start] or (totals[start] == -1 and walked > best), f"start {start} differs"
    print(f"[3] {seconds:.1f} s in all (goal <= 300 s on an H100 for 100,000 x 768); starts {n // 2}, {n - 2}, "
          f"{n - 1} agree with numba", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--subset", type=int, default=3000, help="rows for the agreement check [1]")
    parser.add_argument("--catalog-n", type=int, default=0, help="use only the first N catalog rows in [2]")
    parser.add_argument("--random-n", type=int, default=100_000, help="random unit vectors in [3]")
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--skip-random", action="store_true", help="leave out [3]")
    parser.add_argument("--interpreter-starts", type=int, default=3, help="--device cpu: triton walks in [1]")
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"needs {SHARED}")
    import torch

    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("torch finds no CUDA device (use --device cpu for a smoke test)")
        import triton

        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, triton {triton.__version__}")
    matrix = np.load(SHARED / "minilm-embeddings.npy").astype(np.float32)
    fif = (matrix / np.linalg.norm(matrix.astype(np.float64), axis=1, keepdims=True)).astype(np.float32)

    compile_kernels()  # numba: compile or load the cache (every CPU kernel), untimed
    if args.device == "cuda":  # CUDA and the Triton kernel: initialise and compile, untimed
        similarity_path(fif[:200], device="cuda")
        search_module.greedy_start_costs(fif[:200], device="cuda", kernel="torch")

    subset = fif[np.sort(np.random.default_rng(0).choice(len(fif), args.subset, replace=False))]
    agreement(subset, args.device, args.interpreter_starts)
    catalog_timings(fif[: args.catalog_n] if args.catalog_n else fif, args.device)
    if not args.skip_random:
        random_timings(args.random_n, args.dim, args.device)


if __name__ == "__main__":
    main()
