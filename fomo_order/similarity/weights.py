"""The one definition of the edge weight ``1 - cos(e_i, e_j)`` that every kernel computes.

Float arithmetic would make the weight depend on how a dot product is summed (BLAS blocking, tile
shape, CPU vs GPU), and the greedy walk would then break ties differently on different machines. So
each coordinate is first rounded to a multiple of ``2**-S`` (``S = 21`` up to 524,288 concepts, about
float32 resolution for coordinates near 1). For unit vectors every partial sum of a dot product of two
such rows is then an integer multiple of ``2**-2S`` below ``2**53 * 2**-2S`` in magnitude, so float64
arithmetic computes it *exactly*, in any order, with or without FMA, on any device. The weight is that
exact value as an integer number of ``2**-2S`` units, clamped at 0 (rounding can push the cosine of
two identical vectors a hair above 1):

    W(i, j) = max(0, (1 - x_i . x_j) * 2**2S)        (an int64)

Path costs are sums of such integers, exact in int64 for every path of up to 524,288 nodes; the cost
reported as a float is that sum times ``2**-2S``. Identical input vectors give identical weights, so
exact ties stay exact ties (the tie rule "lower index first" holds bit for bit everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_FRACTION_BITS = 21
# Rows must be unit vectors (the caller normalises); a little slack for float32 rounding.
NORM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class FixedPoint:
    """How weights are represented for ``n`` concepts.

    ``fraction_bits`` (S): coordinates are multiples of ``2**-S``; weights are integers in units of
    ``2**-2S``. ``index_bits``: bits needed for a node index, so that ``(W << index_bits) | j`` is an
    int64 key that orders by weight, then by index (the walk's tie rule), and stays below ``2**63``.
    """

    fraction_bits: int
    index_bits: int

    @property
    def scale(self) -> float:
        """``2**2S``: weight units per unit of ``1 - cos``."""
        return float(2 ** (2 * self.fraction_bits))

    def to_float(self, weight_units: int) -> float:
        """An integer weight (or sum of weights) as a float ``1 - cos`` value."""
        return float(weight_units) / self.scale


def fixed_point_for(n: int) -> FixedPoint:
    # W < 2**(2S + 1.01) and keys W << index_bits, and path sums of n - 1 weights, must stay in int64.
    index_bits = max(1, (max(n, 1) - 1).bit_length())
    fraction_bits = min(MAX_FRACTION_BITS, (61 - index_bits) // 2)
    return FixedPoint(fraction_bits=fraction_bits, index_bits=index_bits)


def quantize(embeddings: np.ndarray, fixed: FixedPoint) -> np.ndarray:
    """The embeddings with every coordinate rounded to a multiple of ``2**-S``, as float32 (exactly).

    ``|coordinate| <= 1`` and ``S <= 21`` leave at most 22 significant bits, which float32 holds exactly;
    the kernels widen to float64 before multiplying.
    """
    matrix = np.asarray(embeddings)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"expected a non-empty 2-D array of embeddings, got shape {matrix.shape}")
    step = 2.0**fixed.fraction_bits
    quantized = np.empty(matrix.shape, dtype=np.float32)
    for first in range(0, matrix.shape[0], 8192):  # float64 working copies of a block at a time
        wide = matrix[first : first + 8192].astype(np.float64)
        if not np.isfinite(wide).all():
            raise ValueError("embeddings contain NaN or infinite values")
        largest = np.linalg.norm(wide, axis=1).max()
        if largest > 1.0 + NORM_TOLERANCE:
            raise ValueError(f"embeddings must be L2-normalised rows (largest norm {largest:.6g})")
        quantized[first : first + 8192] = np.rint(wide * step) / step
    return quantized


def weights_from_dots(dots: np.ndarray, fixed: FixedPoint) -> np.ndarray:
    """Integer weights from exact float64 dot products of quantized rows (any shape)."""
    # (1 - dot) and the power-of-two scaling are exact; the int conversion only drops a zero fraction.
    return np.maximum(((1.0 - dots) * fixed.scale).astype(np.int64), 0)


def exact_weights(quantized: np.ndarray, rows: np.ndarray | slice, fixed: FixedPoint) -> np.ndarray:
    """Weights from ``quantized[rows]`` to every row, shape (len(rows), N), with numpy's float64 matmul."""
    wide = quantized.astype(np.float64)
    return weights_from_dots(wide[rows] @ wide.T, fixed)
