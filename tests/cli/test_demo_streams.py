"""The committed demo streams (`make streams` output in streams/) are current: every artifact's meta file
records its command line, re-run here with --check (`make check-streams` regenerates them all, as a user's
CI does), and streams/ holds exactly the files `make streams` writes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
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


def test_streams_holds_exactly_what_make_streams_writes() -> None:
    """A committed file that `make streams` no longer writes would pass `--check` forever, stale."""
    if shutil.which("make") is None or shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs make and a git checkout")
    plan = subprocess.run(["make", "-n", "-B", "streams"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    written = {Path(path) for path in re.findall(r"(?:-o|--summary-json) (streams/\S+)", plan)}
    # beside each: a stream's or scores file's meta, the embeddings' sidecar
    beside = {path.with_name(path.name.removesuffix(".json") + ".meta.json") for path in written}
    beside |= {path.with_suffix(".json") for path in written if path.suffix == ".npy"}
    tracked = subprocess.run(["git", "ls-files", "streams"], cwd=REPO, capture_output=True, text=True, check=True)
    committed = {Path(line) for line in tracked.stdout.splitlines()}
    assert committed - written - beside == set(), "committed, but `make streams` does not write these"
    assert written - committed == set(), "`make streams` writes these, but they are not committed"
