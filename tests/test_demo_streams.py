"""The committed demo streams (`make streams` output in streams/) are current, as a user's CI checks:
every artifact's meta file records its command line, re-run here with --check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO

STREAMS = REPO / "streams"
CHECKABLE = ("order", "reverse", "split", "proxy-scores")


def meta_files() -> list[Path]:
    return sorted(STREAMS.glob("*.meta.json"))


def test_the_full_stream_set_is_committed() -> None:
    names = {path.name for path in STREAMS.glob("*.json")}
    for strategy in ("performance", "frequency"):
        assert {f"{strategy}.json", f"{strategy}_reversed.json"} <= names
    for seed in range(1, 6):
        for strategy in ("random", "dataset", "time", "time-by-dataset"):
            assert {f"{strategy}_seed{seed}.json", f"{strategy}_seed{seed}_reversed.json"} <= names
        assert {f"similarity_start{seed}.json", f"similarity_start{seed}_reversed.json"} <= names
    assert (STREAMS / "report.png").stat().st_size > 50_000


@pytest.mark.parametrize("meta_file", meta_files(), ids=lambda path: path.name.removesuffix(".meta.json"))
def test_committed_artifact_is_current(run_cli, meta_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if meta.get("command") not in CHECKABLE:
        pytest.skip(f"{meta.get('command')} artifacts are not re-checked here")
    monkeypatch.chdir(REPO)  # the recorded paths are relative to the repository root, as `make streams` ran
    result = run_cli(*meta["argv"], "--check")
    assert result.exit_code == 0, result.stderr
