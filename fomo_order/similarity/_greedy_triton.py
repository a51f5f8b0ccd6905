"""Greedy nearest-neighbour walks in Triton: one GPU program per walk, many steps per kernel launch.

Each program advances its walk inside the kernel: per step it reads the head of ``current``'s neighbour
list (sorted int64 keys ``(weight << index_bits) | index``), gathers the walk's visited flags and takes the
smallest unvisited key, which is the first unvisited slot, i.e. the exact minimum over all unvisited nodes
with ties to the lower index. When the head is all visited it reads deeper chunks of the list. When the
whole list is visited the program stops and marks the walk: the host then takes that step for all such
walks together, as one exact float64 matmul against all vectors masked by the visited flags (the same
arithmetic as :mod:`fomo_order.similarity._knn_torch`), and relaunches the kernel for them. So a search
costs about as many launches as the largest number of fallback steps of any walk, not N launches.

The results (totals, and paths when asked) are bit-identical to :mod:`fomo_order.similarity._greedy_numba`.
Without a GPU the kernel runs in Triton's interpreter on CPU tensors, which needs ``TRITON_INTERPRET=1`` in
the environment before triton is first imported (tests do this; it is slow, for small N only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import triton
import triton.language as tl

from fomo_order.similarity._knn_torch import INT64_MAX, weight_keys
from fomo_order.similarity.weights import FixedPoint

HEAD_WIDTH = 16  # list slots read on every step: nearly every step finds its node there
CHUNK = 128  # deeper list slots read at once when the head is all visited
RUNNING, FALLBACK, DONE, PRUNED = 0, 1, 2, 3


# No specialisation on the sizes: one compiled kernel serves every N and k (and a size of 1 stays a tensor).
@triton.jit(do_not_specialize=["n", "k", "head_width", "index_bits", "index_mask"])
def _advance_walks(
    head_ptr,  # (N, head_width) int64: the first slots of every list, contiguous
    keys_ptr,  # (N, k) int64: the whole lists
    visited_ptr,  # (walks, N) uint8
    active_ptr,  # (programs,) int32: the walk each program advances
    current_ptr,  # (walks,) int64
    steps_ptr,  # (walks,) int64: nodes visited so far
    totals_ptr,  # (walks,) int64
    state_ptr,  # (walks,) int32: RUNNING, FALLBACK, DONE or PRUNED
    paths_ptr,  # (walks, N) int64 when record, else unused
    bound_ptr,  # (1,) int64: a walk whose total exceeds it is abandoned
    n,
    k,
    head_width,
    index_bits,
    index_mask,
    head_block: tl.constexpr,  # head_width rounded up to a power of two
    chunk: tl.constexpr,
    record: tl.constexpr,
):
    walk = tl.load(active_ptr + tl.program_id(0)).to(tl.int64)
    row = walk * n  # int64: walks x N exceeds 2**31 for big searches
    cur = tl.load(current_ptr + walk)
    step = tl.load(steps_ptr + walk)
    total = tl.load(totals_ptr + walk)
    bound = tl.load(bound_ptr)
    head_slots = tl.arange(0, head_block)
    in_head = head_slots < head_width
    chunk_slots = tl.arange(0, chunk)
    state = tl.load(state_ptr + walk)
    while state == 0:
        listed = tl.load(head_ptr + cur * head_width + head_slots, mask=in_head, other=0)
        seen = tl.load(visited_ptr + row + (listed & index_mask), mask=in_head, other=1)
        # Keys are sorted and distinct: the smallest unvisited key is the first unvisited slot.
        key = tl.min(tl.where(seen == 0, listed, 0x7FFFFFFFFFFFFFFF), axis=0)
        if key == 0x7FFFFFFFFFFFFFFF:
            base = head_width
            while (base < k) & (key == 0x7FFFFFFFFFFFFFFF):
                slots = base + chunk_slots
                in_list = slots < k
                deeper = tl.load(keys_ptr + cur * k + slots, mask=in_list, other=0)
                deeper_seen = tl.load(visited_ptr + row + (deeper & index_mask), mask=in_list, other=1)
                key = tl.min(tl.where(deeper_seen == 0, deeper, 0x7FFFFFFFFFFFFFFF), axis=0)
                base += chunk
        found = key != 0x7FFFFFFFFFFFFFFF
        if found:
            cur = key & index_mask
            total += key >> index_bits
            tl.store(visited_ptr + row + cur, 1)
            if record:
                tl.store(paths_ptr + row + step, cur)
            step += 1
            # The flag is written by one thread and read back by others on the next steps.
            tl.debug_barrier()
        state = tl.where(found, tl.where(step >= n, 2, tl.where(total > bound, 3, 0)), 1).to(tl.int32)
    tl.store(current_ptr + walk, cur)
    tl.store(steps_ptr + walk, step)
    tl.store(totals_ptr + walk, total)
    tl.store(state_ptr + walk, state)


@dataclass
class WalkResult:
    totals: np.ndarray  # int64 total weight of each walk; -1 for a walk abandoned above the bound
    paths: np.ndarray | None  # (walks, N) visiting orders when asked for (rows of abandoned walks: partial)
    fallbacks: int  # walk-steps that needed a full row of exact weights
    launches: int  # kernel launches (rounds)
    pruned: int  # walks abandoned above the bound


def interpreter_active() -> bool:
    """Whether triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1`` before triton was imported)."""
    return type(_advance_walks).__name__ == "InterpretedFunction"


def greedy_walks_triton(
    vectors64: torch.Tensor,
    keys: torch.Tensor,
    starts: torch.Tensor,
    fixed: FixedPoint,
    *,
    record_paths: bool = False,
    bound: torch.Tensor | None = None,
    keep: int | None = None,
    fallback_budget_bytes: int = 1 << 28,
    head_width: int = HEAD_WIDTH,
    chunk: int = CHUNK,
) -> WalkResult:
    """Walk from every node of ``starts``; all tensors on one device (CUDA, or CPU under the interpreter).

    ``keys`` (N, k) int64: each node's neighbour list as sorted ``(weight << index_bits) | index``.
    ``bound`` (a one-element int64 tensor, updated in place): walks whose total exceeds it are abandoned;
    with ``keep=K`` it tightens to the K-th smallest complete total as walks finish (exact pruning, weights
    are >= 0). ``head_width`` and ``chunk`` tune speed, never the result. The kernel runs one warp per walk:
    with more, the warps race on the walk's visited flags (on an H100, 2 warps gave wrong totals and 4 an
    illegal memory access), and one warp was also the fastest setting measured.
    """
    device = vectors64.device
    if device.type == "cpu" and not interpreter_active():
        raise ValueError("the triton kernel needs CUDA tensors, or TRITON_INTERPRET=1 set before triton is imported")
    n, k = keys.shape
    walks = starts.shape[0]
    width = max(1, min(head_width, k))
    head = keys[:, :width].contiguous()
    keys = keys.contiguous()
    index_mask = (1 << fixed.index_bits) - 1
    rows = torch.arange(walks, device=device)
    current = starts.to(device=device, dtype=torch.int64).clone()
    visited = torch.zeros((walks, n), dtype=torch.uint8, device=device)
    visited[rows, current] = 1
    steps = torch.ones(walks, dtype=torch.int64, device=device)
    totals = torch.zeros(walks, dtype=torch.int64, device=device)
    state = torch.full((walks,), DONE if n == 1 else RUNNING, dtype=torch.int32, device=device)
    paths = torch.empty((walks, n) if record_paths else (1,), dtype=torch.int64, device=device)
    if record_paths:
        paths[:, 0] = current
    if bound is None:
        bound = torch.full((1,), INT64_MAX, dtype=torch.int64, device=device)
    columns = torch.arange(n, device=device, dtype=torch.int64)
    fallback_rows = max(1, fallback_budget_bytes // (24 * n))
    active = rows.to(torch.int32)[state == RUNNING]
    fallbacks = launches = 0
    while active.numel() > 0:
        _advance_walks[(active.numel(),)](
            head, keys, visited, active, current, steps, totals, state, paths, bound,
            n, k, width, fixed.index_bits, index_mask,
            head_block=triton.next_power_of_2(width), chunk=chunk, record=record_paths, num_warps=1,
        )  # fmt: skip
        launches += 1
        if keep is not None:
            _tighten(bound, totals[state == DONE], keep)
        stopped = active[state[active] == FALLBACK].long()
        over = totals[stopped] > bound
        state[stopped[over]] = PRUNED
        stopped = stopped[~over]
        fallbacks += int(stopped.numel())
        for first in range(0, stopped.numel(), fallback_rows):
            block = stopped[first : first + fallback_rows]
            row_keys = weight_keys(vectors64[current[block]] @ vectors64.T, fixed, columns)
            row_keys.masked_fill_(visited[block].bool(), INT64_MAX)
            chosen = row_keys.amin(dim=1)
            nodes = chosen & index_mask
            visited[block, nodes] = 1
            if record_paths:
                paths[block, steps[block]] = nodes
            current[block] = nodes
            totals[block] += chosen >> fixed.index_bits
            steps[block] += 1
        after = torch.where(steps[stopped] >= n, DONE, torch.where(totals[stopped] > bound, PRUNED, RUNNING))
        state[stopped] = after.to(torch.int32)
        active = stopped[after == RUNNING].to(torch.int32)
    if keep is not None:
        _tighten(bound, totals[state == DONE], keep)
    abandoned = state == PRUNED
    totals[abandoned] = -1
    return WalkResult(
        totals=totals.cpu().numpy(),
        paths=paths.cpu().numpy() if record_paths else None,
        fallbacks=fallbacks,
        launches=launches,
        pruned=int(abandoned.sum()),
    )


def _tighten(bound: torch.Tensor, complete: torch.Tensor, keep: int) -> None:
    """``bound`` <- min(bound, K-th smallest complete total), on the device."""
    if complete.numel() >= keep:
        kth = complete.sort().values[keep - 1 : keep]
        torch.minimum(bound, kth, out=bound)
