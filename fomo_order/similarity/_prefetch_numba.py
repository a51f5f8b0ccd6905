"""A software prefetch for numba kernels (LLVM's ``llvm.prefetch``), and cache-line-aligned arrays.

A greedy walk is a chain of dependent loads: the next row to read is known only once the current one is
scanned, so a single walk waits a full memory latency per step. Kernels that advance several walks in
turn prefetch each walk's next row and come back to it after the others have had their turn.
"""

from __future__ import annotations

import numpy as np
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

CACHE_LINE = 64
# The intrinsic's name carries its pointer type: typed pointers (LLVM < 15, numba < 0.61) name it i8*.
_PREFETCH = "llvm.prefetch.p0" if binding.llvm_version_info[0] >= 15 else "llvm.prefetch.p0i8"


@intrinsic
def prefetch_row(typingctx, array, row, column):
    """Ask the CPU to fetch the cache line holding ``array[row, column]`` (2-D C-contiguous array); no-op
    semantics: the address is never dereferenced, so an out-of-range row cannot fault."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        row_index = context.cast(builder, args[1], signature.args[1], types.intp)
        column_index = context.cast(builder, args[2], signature.args[2], types.intp)
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, ary, [row_index, column_index], wraparound=False, boundscheck=False
        )
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function_type = ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32])
        function = cgutils.get_or_insert_function(builder.module, function_type, _PREFETCH)
        # read access (0), keep in all cache levels (3), data cache (1)
        builder.call(function, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3), int32(1)])
        return context.get_dummy_value()

    return types.void(array, row, column), codegen


def aligned_empty(shape: tuple[int, int], dtype, alignment: int = 2 * CACHE_LINE) -> np.ndarray:
    """An uninitialised C-contiguous array whose first element sits on an ``alignment``-byte boundary, so
    that rows of ``alignment`` bytes each fill whole cache lines (numpy only promises 16 bytes)."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    raw = np.empty(count * dtype.itemsize + alignment, dtype=np.uint8)
    offset = (-raw.ctypes.data) % alignment
    return raw[offset : offset + count * dtype.itemsize].view(dtype).reshape(shape)

