"""A bounded fuzz of the readers (catalog, stream, counts, embeddings) through the command line: whatever
the bytes, the contract holds: exit 0, 1, 2 or 3, never a traceback, at most one error line, and no
output file (nor temporary) left by a failed run.

`make test` runs a few dozen examples per reader; `make fuzz` runs FOMO_FUZZ_EXAMPLES of each.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("FOMO_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("FOMO_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# JSON-ish values, with the shapes the readers expect mixed in, and raw text that is not JSON at all
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["A+++a", "A+++b", "B+++c", "A+++", "+++x", "A+++b+++c", "\x00"]),
)
values = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8) | st.sampled_from(
        ["datasets", "name", "classes", "counts", "scores", "A+++a", "year", "template", "concepts", "dim"]
    ), inner, max_size=5), max_leaves=20,
)
documents = st.one_of(values.map(lambda v: json.dumps(v, allow_nan=True)), st.text(max_size=80))


def check_contract(result, outputs: list[Path], directory: Path) -> None:
    assert result.exit_code in (0, 1, 2, 3), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.stderr
        assert not any(path.exists() for path in outputs)
    assert not list(directory.rglob("*.tmp"))


def fresh_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="fuzz-"))


@FUZZ
@given(text=documents, suffix=st.sampled_from([".yaml", ".json"]))
def test_catalog_files(run_cli, text: str, suffix: str) -> None:
    directory = fresh_directory()
    catalog = directory / f"catalog{suffix}"
    catalog.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = directory / "s.json"
    check_contract(run_cli("order", "random", catalog, "-o", out), [out], directory)


@FUZZ
@given(lists=st.dictionaries(st.sampled_from(["A", "B", "C+++D", "e"]), documents, min_size=1, max_size=3))
def test_catalog_directories(run_cli, lists: dict[str, str]) -> None:
    directory = fresh_directory()
    (directory / "lists").mkdir()
    for name, text in lists.items():
        (directory / "lists" / f"{name}.json").write_text(text, encoding="utf-8", errors="surrogatepass")
    out = directory / "s.json"
    check_contract(run_cli("order", "random", directory / "lists", "-o", out), [out], directory)


@FUZZ
@given(text=documents, tasks=st.integers(1, 4))
def test_stream_files(run_cli, text: str, tasks: int) -> None:
    directory = fresh_directory()
    stream = directory / "stream.json"
    stream.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = directory / "tasks.json"
    check_contract(run_cli("split", stream, "--tasks", tasks, "-o", out), [out], directory)
    reversed_ = directory / "r.json"
    check_contract(run_cli("reverse", stream, "-o", reversed_), [reversed_], directory)


@FUZZ
@given(text=documents)
def test_counts_files(run_cli, small_catalog_for_fuzz: Path, text: str) -> None:
    directory = fresh_directory()
    counts = directory / "counts.json"
    counts.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = directory / "f.json"
    check_contract(
        run_cli("order", "frequency", small_catalog_for_fuzz, "--frequencies", counts, "-o", out), [out], directory
    )


@settings(parent=FUZZ, max_examples=max(5, EXAMPLES // 4))
@given(
    rows=st.integers(0, 4),
    dim=st.integers(0, 3),
    fill=st.sampled_from([0.0, 1.0, float("nan"), float("inf")]),
    sidecar=documents,
    raw=st.booleans(),
)
def test_embeddings_files(run_cli, small_catalog_for_fuzz: Path, rows, dim, fill, sidecar, raw) -> None:
    directory = fresh_directory()
    npy = directory / "e.npy"
    if raw:
        npy.write_bytes(sidecar.encode("utf-8", errors="surrogatepass"))
    else:
        buffer = io.BytesIO()
        np.save(buffer, np.full((rows, dim), fill, dtype=np.float32))
        npy.write_bytes(buffer.getvalue())
    (directory / "e.json").write_text(sidecar, encoding="utf-8", errors="surrogatepass")
    out = directory / "s.json"
    result = run_cli("order", "similarity", small_catalog_for_fuzz, "--embeddings", npy, "--device", "cpu", "-o", out)
    check_contract(result, [out], directory)
