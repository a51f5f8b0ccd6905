"""Local search on an open path: 2-opt and Or-opt moves over neighbour lists, with don't-look bits.

The open path becomes a cycle through a dummy node (index N) that weighs 0 to every node, so the two
path ends are ordinary positions of the cycle. Moves are tried node by node from a FIFO queue (initially
the path order); the first improving move is applied and the nodes of the changed edges go back into the
queue; a node whose moves all fail leaves it. Gains are exact integers and must be > 0, so the search
is deterministic and terminates.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from fomo_order.similarity._exact_numba import pair_weight


@nb.njit(cache=True)
def _w(vectors, scale, a, b):
    n = vectors.shape[0]
    if a == n or b == n:
        return np.int64(0)
    return pair_weight(vectors, a, b, scale)


@nb.njit(cache=True)
def _reverse(tour, pos, i, j):
    """Reverse the cyclic stretch of positions i..j (or, the same cycle, its shorter complement)."""
    m = tour.shape[0]
    length = (j - i + m) % m + 1
    if 2 * length > m:
        i, j = (j + 1) % m, (i - 1 + m) % m
        length = m - length
    for s in range(length // 2):
        a = (i + s) % m
        b = (j - s + m) % m
        tour[a], tour[b] = tour[b], tour[a]
        pos[tour[a]] = a
        pos[tour[b]] = b


@nb.njit(cache=True)
def _move_segment(tour, pos, first, length, x, reverse):
    """Move the ``length`` nodes from position ``first`` to between x and its successor."""
    m = tour.shape[0]
    segment = np.empty(length, dtype=tour.dtype)
    for t in range(length):
        segment[t] = tour[(first + t) % m]
    if reverse:
        segment = segment[::-1].copy()
    after = (first + length) % m
    span_x = (pos[x] - after + m) % m + 1  # from the segment's successor up to x
    span_y = m - length - span_x  # from x's successor round to the segment's predecessor
    if span_x <= span_y:
        for t in range(span_x):
            node = tour[(after + t) % m]
            tour[(first + t) % m] = node
            pos[node] = (first + t) % m
        start = (first + span_x) % m
    else:
        begin = (first - span_y + m) % m
        for t in range(span_y - 1, -1, -1):
            node = tour[(begin + t) % m]
            tour[(begin + t + length) % m] = node
            pos[node] = (begin + t + length) % m
        start = begin
    for t in range(length):
        tour[(start + t) % m] = segment[t]
        pos[segment[t]] = (start + t) % m


@nb.njit(cache=True)
def _push(queue, queued, tail, node, dummy):
    if node != dummy and not queued[node]:
        queued[node] = True
        queue[tail % queue.shape[0]] = node
        tail += 1
    return tail


@nb.njit(cache=True)
def refine_path(path, vectors, scale, keys, index_bits, width):
    """Improve ``path``; returns (path, 2-opt moves, Or-opt moves). ``width``: neighbours tried per node."""
    n = path.shape[0]
    m = n + 1
    dummy = n
    width = min(width, keys.shape[1])
    index_mask = (np.int64(1) << index_bits) - 1
    tour = np.empty(m, dtype=np.int64)
    pos = np.empty(m, dtype=np.int64)
    tour[0] = dummy
    tour[1:] = path
    for p in range(m):
        pos[tour[p]] = p
    queue = np.empty(n, dtype=np.int64)
    queued = np.zeros(n, dtype=np.bool_)
    head = 0
    tail = 0
    for p in range(n):
        tail = _push(queue, queued, tail, path[p], dummy)
    two_opt = 0
    or_opt = 0
    while head < tail:
        a = queue[head % n]
        head += 1
        queued[a] = False
        improved = False
        # 2-opt: new edge (a, c) replaces (a, succ a) and (c, succ c), or the same with predecessors
        for slot in range(width):
            c = keys[a, slot] & index_mask
            w_ac = keys[a, slot] >> index_bits
            for direction in (1, -1):
                b = tour[(pos[a] + direction + m) % m]
                d = tour[(pos[c] + direction + m) % m]
                if c == b or d == a:
                    continue
                gain = _w(vectors, scale, a, b) + _w(vectors, scale, c, d) - w_ac - _w(vectors, scale, b, d)
                if gain > 0:
                    if direction == 1:
                        _reverse(tour, pos, pos[b], pos[c])
                    else:
                        _reverse(tour, pos, pos[c], pos[b])
                    two_opt += 1
                    for node in (a, b, c, d):
                        tail = _push(queue, queued, tail, node, dummy)
                    improved = True
                    break
            if improved:
                break
        if improved:
            continue
        # Or-opt: move a stretch of 1..3 nodes that starts or ends at a next to a neighbour of its ends
        for length in range(1, 4):
            if m < length + 3:
                break
            for offset in range(0, length, max(1, length - 1)):
                first = (pos[a] - offset + m) % m
                s1 = tour[first]
                s2 = tour[(first + length - 1) % m]
                p = tour[(first - 1 + m) % m]
                nx = tour[(first + length) % m]
                removal = _w(vectors, scale, p, s1) + _w(vectors, scale, s2, nx) - _w(vectors, scale, p, nx)
                if removal <= 0:
                    continue
                for end in range(2):
                    anchor = s1 if end == 0 else s2
                    other_end = s2 if end == 0 else s1
                    if anchor == dummy:
                        continue
                    for slot in range(width):
                        c = keys[anchor, slot] & index_mask
                        if (pos[c] - first + m) % m < length:
                            continue
                        w_c = keys[anchor, slot] >> index_bits
                        for side in (1, -1):
                            # the stretch goes between c and its neighbour on `side`, with `anchor` next to c
                            e = tour[(pos[c] + side + m) % m]
                            if (pos[e] - first + m) % m < length:
                                continue
                            insertion = w_c + _w(vectors, scale, other_end, e) - _w(vectors, scale, c, e)
                            if removal - insertion > 0:
                                x = c if side == 1 else e
                                # forward means x, s1 .. s2, succ(x)
                                forward = (side == 1) == (end == 0)
                                _move_segment(tour, pos, first, length, x, not forward)
                                or_opt += 1
                                for node in (p, nx, s1, s2, c, e):
                                    tail = _push(queue, queued, tail, node, dummy)
                                improved = True
                                break
                        if improved:
                            break
                    if improved:
                        break
                if improved:
                    break
            if improved:
                break
    refined = np.empty(n, dtype=np.int64)
    for t in range(n):
        refined[t] = tour[(pos[dummy] + 1 + t) % m]
    return refined, two_opt, or_opt
