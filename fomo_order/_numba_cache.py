"""Where numba keeps compiled kernels: beside their modules when that is writable, else a temporary
directory (an installation in a read-only location, or no usable home directory, must not stop a run)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
