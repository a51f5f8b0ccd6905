"""Exact minimum spanning tree weight of the complete graph: Prim's algorithm with lazy full rows.

Prim needs, at each step, the lightest edge from the tree to a node outside it. Edges from a tree node's
neighbour list are known exactly; every other edge from tree node t weighs at least ``W_k(t)``, the last
weight of its (sorted) list. While the lightest known edge is heavier than the smallest such bound, the
tree node with that bound gets its full row of exact weights (once per node; a few at a time, in one
pass over the vectors). So the answer is exact, and only nodes whose lists are too short for the cut at
hand pay O(N d).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from fomo_order.similarity._exact_numba import INT64_MAX, pair_weight


@nb.njit(cache=True)
def _sift_up(keys, nodes, where, i):
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] < keys[i] or (keys[parent] == keys[i] and nodes[parent] <= nodes[i]):
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        nodes[parent], nodes[i] = nodes[i], nodes[parent]
        where[nodes[i]] = i
        where[nodes[parent]] = parent
        i = parent


@nb.njit(cache=True)
def _sift_down(keys, nodes, where, i, size):
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        right = left + 1
        if right < size and (keys[right] < keys[left] or (keys[right] == keys[left] and nodes[right] < nodes[left])):
            child = right
        if keys[i] < keys[child] or (keys[i] == keys[child] and nodes[i] <= nodes[child]):
            break
        keys[child], keys[i] = keys[i], keys[child]
        nodes[child], nodes[i] = nodes[i], nodes[child]
        where[nodes[i]] = i
        where[nodes[child]] = child
        i = child


@nb.njit(cache=True)
def _lower(keys, nodes, where, size, node, key):
    """Insert ``node`` or lower its key; returns the new heap size."""
    i = where[node]
    if i < 0:
        i = size
        size += 1
        nodes[i] = node
        where[node] = i
        keys[i] = key
    elif key < keys[i]:
        keys[i] = key
    else:
        return size
    _sift_up(keys, nodes, where, i)
    return size


@nb.njit(cache=True)
def _pop(keys, nodes, where, size):
    """Remove the minimum; returns (node, key, new size)."""
    node = nodes[0]
    key = keys[0]
    where[node] = -1
    size -= 1
    if size > 0:
        keys[0] = keys[size]
        nodes[0] = nodes[size]
        where[nodes[0]] = 0
        _sift_down(keys, nodes, where, 0, size)
    return node, key, size


ROW_BATCH = 8


@nb.njit(cache=True, parallel=True)
def _lightest_from(vectors, scale, sources, targets):
    """For each of ``targets``, its lightest edge from any of ``sources`` (exact weights)."""
    out = np.empty(targets.shape[0], dtype=np.int64)
    for r in nb.prange(targets.shape[0]):
        lightest = INT64_MAX
        for s in range(sources.shape[0]):
            lightest = min(lightest, pair_weight(vectors, sources[s], targets[r], scale))
        out[r] = lightest
    return out


@nb.njit(cache=True)
def mst_weight(vectors, scale, keys, index_bits):
    """(total weight of a minimum spanning tree in integer units, number of full rows computed)."""
    n = vectors.shape[0]
    k = keys.shape[1]
    index_mask = (np.int64(1) << index_bits) - 1
    if n < 2:
        return np.int64(0), 0
    complete = k >= n - 1
    in_tree = np.zeros(n, dtype=np.bool_)
    outside = np.arange(n)
    outside_at = np.arange(n)
    n_outside = n
    # candidate heap: nodes outside the tree by their lightest known edge from the tree
    c_keys = np.empty(n, dtype=np.int64)
    c_nodes = np.empty(n, dtype=np.int64)
    c_where = np.full(n, -1, dtype=np.int64)
    c_size = 0
    # bound heap: tree nodes whose unlisted edges are not known yet, by their last listed weight
    b_keys = np.empty(n, dtype=np.int64)
    b_nodes = np.empty(n, dtype=np.int64)
    b_where = np.full(n, -1, dtype=np.int64)
    b_size = 0
    total = np.int64(0)
    full_rows = 0
    batch = np.empty(ROW_BATCH, dtype=np.int64)
    batched = 0
    node = 0
    for added in range(n):
        if added > 0:
            while True:
                best = c_keys[0] if c_size > 0 else INT64_MAX
                if b_size == 0 or b_keys[0] >= best:
                    break
                # This node's full row is due; the next few in the bound heap are likely due soon, and a
                # row costs a pass over all outside vectors (memory-bound), so they share one pass.
                for b in range(min(ROW_BATCH, b_size)):
                    batch[b], _, b_size = _pop(b_keys, b_nodes, b_where, b_size)
                    full_rows += 1
                    batched = b + 1
                lightest = _lightest_from(vectors, scale, batch[:batched], outside[:n_outside])
                for r in range(n_outside):
                    c_size = _lower(c_keys, c_nodes, c_where, c_size, outside[r], lightest[r])
            node, key, c_size = _pop(c_keys, c_nodes, c_where, c_size)
            total += key
        in_tree[node] = True
        last = outside[n_outside - 1]
        outside[outside_at[node]] = last
        outside_at[last] = outside_at[node]
        n_outside -= 1
        for slot in range(k):
            other = keys[node, slot] & index_mask
            if not in_tree[other]:
                c_size = _lower(c_keys, c_nodes, c_where, c_size, other, keys[node, slot] >> index_bits)
        if not complete:
            b_size = _lower(b_keys, b_nodes, b_where, b_size, node, keys[node, k - 1] >> index_bits)
    return total, full_rows
