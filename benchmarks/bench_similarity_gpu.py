"""The exact concept-similarity search on a GPU (torch), checked against the CPU (numba) kernel.

1. Agreement: on a few-thousand-row subset of the FoMo-in-Flux embeddings, the greedy cost of every
   start and the chosen paths (default, --start-rank 3, --refine 2opt) must be identical on the CPU
   and on the device. The script stops (assertion) if they differ.
2. The whole FoMo-in-Flux catalog (18,381 x 384) on the device. Goal: <= 3 s on an H100.
3. N = 100,000 random unit vectors, d = 768, all starts on the device. Goal: <= 5 min on an H100.

    python benchmarks/bench_similarity_gpu.py                      # on a machine with CUDA
    python benchmarks/bench_similarity_gpu.py --device cpu --subset 400 --catalog-n 1000 --random-n 800 --dim 64
                                                                   # smoke test of the same code paths

With ``--device cpu`` the "device" side runs the torch kernel on CPU tensors. Needs ../shared/fif.
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
from fomo_order.similarity.weights import fixed_point_for, quantize  # noqa: E402


def device_search(embeddings: np.ndarray, device: str, **kwargs):
    """similarity_path on the device; with device 'cpu', the same steps with the torch kernel."""
    if device != "cpu":
        return similarity_path(embeddings, device=device, **kwargs)
    from fomo_order.similarity import _greedy_numba

    n = len(embeddings)
    fixed = fixed_point_for(n)
    quantized = quantize(embeddings, fixed)
    lists = search_module.neighbour_lists(quantized, min(search_module.default_neighbours(n), n - 1), fixed, "cpu")
    totals = search_module.all_start_totals(quantized, lists, fixed, "cpu", kernel="torch")
    start = int(np.lexsort((np.arange(n), totals))[kwargs.get("start_rank", 1) - 1])
    path, total, _ = _greedy_numba.greedy_path(start, quantized, fixed.scale, lists.head, lists.keys, fixed.index_bits)
    return path, fixed.to_float(total), start


def synchronize(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.empty((n, dim), dtype=np.float32)
    for first in range(0, n, 8192):
        block = rng.standard_normal((min(8192, n - first), dim))
        x[first : first + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--subset", type=int, default=3000, help="rows for the CPU/device agreement check")
    parser.add_argument("--random-n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--skip-random", action="store_true")
    parser.add_argument("--catalog-n", type=int, default=0, help="use only the first N catalog rows in [2]")
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"needs {SHARED}")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            sys.exit("torch finds no CUDA device (use --device cpu for a smoke test)")
        print(f"device: {torch.cuda.get_device_name()}")
    matrix = np.load(SHARED / "minilm-embeddings.npy").astype(np.float32)
    fif = (matrix / np.linalg.norm(matrix.astype(np.float64), axis=1, keepdims=True)).astype(np.float32)

    similarity_path(fif[:200], device="cpu", refine="2opt")  # numba: compile or load the cache, untimed
    device_search(fif[:200], args.device)  # torch/CUDA: initialise, untimed

    # 1. agreement on a subset
    subset = fif[np.sort(np.random.default_rng(0).choice(len(fif), args.subset, replace=False))]
    cpu_costs, _ = search_module.greedy_start_costs(subset, device="cpu")
    kernel = "torch" if args.device == "cpu" else None
    device_costs, _ = search_module.greedy_start_costs(subset, device=args.device, kernel=kernel)
    assert np.array_equal(cpu_costs, device_costs), "greedy costs differ between the CPU and the device"
    for kwargs in ({}, {"start_rank": 3}, {"refine": "2opt"}):
        cpu = similarity_path(subset, device="cpu", **kwargs)
        if args.device == "cpu":
            if "refine" in kwargs:
                continue  # refinement always runs on the CPU; nothing device-specific to compare
            path, cost, start = device_search(subset, "cpu", **kwargs)
            assert np.array_equal(cpu.path, path) and (cpu.cost, cpu.start) == (cost, start), kwargs
        else:
            gpu = similarity_path(subset, device=args.device, **kwargs)
            assert np.array_equal(cpu.path, gpu.path) and (cpu.cost, cpu.start) == (gpu.cost, gpu.start), kwargs
    print(f"[1] N = {args.subset}: every start's greedy cost and the chosen paths agree between CPU and {args.device}")

    # 2. the whole catalog
    catalog = fif[: args.catalog_n] if args.catalog_n else fif
    synchronize(args.device)
    start = time.perf_counter()
    result = device_search(catalog, args.device)
    synchronize(args.device)
    seconds = time.perf_counter() - start
    cost = result.cost if hasattr(result, "cost") else result[1]
    print(f"[2] FoMo-in-Flux catalog (N = {len(catalog)}) on {args.device}: {seconds:.2f} s "
          f"(goal <= 3 s on an H100), cost {cost:.6f}")

    # 3. random unit vectors
    if not args.skip_random:
        x = unit_rows(args.random_n, args.dim, seed=0)
        synchronize(args.device)
        start = time.perf_counter()
        result = device_search(x, args.device)
        synchronize(args.device)
        seconds = time.perf_counter() - start
        cost = result.cost if hasattr(result, "cost") else result[1]
        extra = f", {result.diagnostics}" if hasattr(result, "diagnostics") else ""
        print(f"[3] N = {args.random_n} random unit vectors, d = {args.dim}, on {args.device}: {seconds:.1f} s "
              f"(goal <= 300 s on an H100), cost {cost:.6f}{extra}")


if __name__ == "__main__":
    main()
