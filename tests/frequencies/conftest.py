from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def quiet_environment(quiet_network_environment: None) -> None:
    """Every test of the frequencies package runs without credentials and with short backoffs."""
