"""Where numba keeps compiled kernels: beside their modules when that is writable, else a temporary
directory (an installation in a read-only location, or no usable home directory, must not stop a run);
and whether the kernels a run needs are there yet (a first run compiles them, and says so)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def use_writable_cache(package_dir: Path) -> str | None:
    """Point ``NUMBA_CACHE_DIR`` at a writable temporary directory when ``package_dir`` cannot hold
    numba's cache and the user set none. Returns the directory chosen, or None when nothing changed.
    Must run before numba is imported: numba reads its configuration once."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    pycache = package_dir / "__pycache__"
    if os.access(pycache if pycache.exists() else package_dir, os.W_OK):
        return None
    fallback = Path(tempfile.gettempdir()) / f"fomo-order-numba-{os.getuid() if hasattr(os, 'getuid') else 0}"
    os.environ["NUMBA_CACHE_DIR"] = str(fallback)
    return str(fallback)


def cached(dispatchers: Iterable[Any]) -> bool:
    """Whether numba's cache holds compiled code for every one of ``dispatchers`` (``@njit(cache=True)``
    functions) for their source as it is now: a read of each one's small index file, no compilation.
    A cache that cannot be read counts as cached (then nothing is announced that may not happen)."""
    for dispatcher in dispatchers:
        try:
            if not dispatcher._cache._cache_file._load_index():  # numba's own check, stamps included
                return False
        except Exception:  # numba internals moved, or an unreadable index: no claim either way
            continue
    return True
