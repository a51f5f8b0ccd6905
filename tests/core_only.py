"""pytest plugin of `make test-core` (`-p tests.core_only`): the core tests run in a venv without torch and
numba, which proves they do not need them only if those are truly absent and no test skips for want of a module."""

from __future__ import annotations

import importlib.util

import pytest

HEAVY = ("torch", "numba", "triton", "sentence_transformers", "open_clip")


def pytest_configure(config: pytest.Config) -> None:
    present = [name for name in HEAVY if importlib.util.find_spec(name) is not None]
    if present:
        raise pytest.UsageError(f"the core tests must run without {', '.join(present)} installed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and "could not import" in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = f"a core test skipped for want of a module: {report.longrepr}"
