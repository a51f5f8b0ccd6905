from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real credentials, short backoff, and a default cache that can never be the user's own."""
    for name in ("ES_CLOUD_ID", "ES_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOMO_ORDER_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("FOMO_ORDER_BACKOFF_CAP", "0.05")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
