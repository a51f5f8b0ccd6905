"""Without a writable place for numba's cache beside the package, the search still runs."""

from __future__ import annotations

import os
from pathlib import Path

from fomo_order._numba_cache import use_writable_cache


def test_an_unwritable_package_directory_moves_the_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    writable = tmp_path / "pkg"
    writable.mkdir()
    assert use_writable_cache(writable) is None and "NUMBA_CACHE_DIR" not in os.environ
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as in a read-only installation
    chosen = use_writable_cache(writable)
    assert chosen is not None and os.environ["NUMBA_CACHE_DIR"] == chosen
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/somewhere/the/user/chose")
    assert use_writable_cache(writable) is None  # the user's choice stands
