"""The defaults of ``score`` that its command-line help shows (importing this loads nothing heavy)."""

from __future__ import annotations

import os

DEFAULT_BATCH_SIZE = 64  # images (and captions) per batch; image batches are whole multiples of 16
MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    """Image-decoding processes when none are asked for: one per CPU this process may run on, at most
    MAX_DEFAULT_WORKERS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(MAX_DEFAULT_WORKERS, cores)
