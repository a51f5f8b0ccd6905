"""A bounded fuzz of the readers (catalog, stream, counts, embeddings, the export's tasks, labels and
metas) through the command line: whatever the bytes, the contract holds: exit 0, 1, 2 or 3, never a
traceback, at most one error line, and no output file (nor temporary) left by a failed run.

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


# Text for names, classes and templates: any code point (lone surrogates, C0/C1 controls, U+2028, a BOM)
# mixed with the characters that matter to ids ('+', the separator) and to templates ('{}').
awkward_text = st.lists(
    st.one_of(
        st.characters(codec=None, categories=None),
        st.sampled_from(["+", "+++", "{}", "\ufeff", "\x85", "\u2028", "\ud800", "\n", "\t", "\x00", " "]),
    ),
    max_size=8,
).map("".join)


@FUZZ
@given(
    name=awkward_text, classes=st.lists(awkward_text, min_size=1, max_size=3), template=awkward_text,
    year=st.one_of(st.none(), st.integers(-(10**31), 10**31)), bom=st.booleans(),
)
def test_catalog_text(run_cli, name: str, classes: list[str], template: str, year, bom: bool) -> None:
    """Whatever the text, the catalog is refused in one line or every id it makes splits back into its
    dataset and class."""
    directory = fresh_directory()
    catalog = directory / "cat.json"
    entry = {"name": name, "classes": classes, "template": template + "{}"}
    if year is not None:
        entry["year"] = year
    document = json.dumps({"datasets": [entry, {"name": "B", "classes": ["b"]}]})  # surrogates as \u escapes
    catalog.write_bytes((b"\xef\xbb\xbf" if bom else b"") + document.encode("ascii"))
    check_contract(run_cli("catalog", catalog), [], directory)
    out = directory / "s.json"
    result = run_cli("order", "dataset", catalog, "-o", out)
    check_contract(result, [out], directory)
    if result.exit_code == 0:
        from fomo_order.catalog import split_concept_id

        stream = json.loads(out.read_text(encoding="utf-8"))
        assert stream[: len(classes)] == [f"{name}+++{c}" for c in classes]
        assert [split_concept_id(c, out) for c in stream[: len(classes)]] == [(name, c) for c in classes]
        assert not any(ch in name + "".join(classes) for ch in "\x00\n\x85\u2028\ufeff")


@settings(parent=FUZZ, max_examples=max(5, EXAMPLES // 2))
@given(
    shape=st.lists(st.integers(0, 2**40), min_size=0, max_size=3).map(tuple)
    | st.sampled_from([(2, 3), (3, 2), (3, 4), (4 * 10**12, 384)]),
    descr=st.sampled_from(["<f4", ">f4", "<f8", "<f2", "<i4", "|O", "<c8", "|u1", "V8", "<U3"]),
    fortran=st.booleans(),
    data=st.binary(max_size=64),
    version=st.sampled_from([b"\x01\x00", b"\x02\x00", b"\x03\x00", b"\x09\x00"]),
)
def test_embeddings_headers(run_cli, small_catalog_for_fuzz: Path, shape, descr, fortran, data, version) -> None:
    """An .npy header may claim any shape and dtype: checked against the file before anything is allocated."""
    directory = fresh_directory()
    npy = directory / "e.npy"
    header = repr({"descr": descr, "fortran_order": fortran, "shape": shape}) + "\n"
    size = len(header).to_bytes(2 if version == b"\x01\x00" else 4, "little")
    npy.write_bytes(b"\x93NUMPY" + version + size + header.encode("latin1") + data)
    write_json_text = json.dumps({"concepts": ["A+++a", "A+++b", "B+++c"], "dim": 2})
    (directory / "e.json").write_text(write_json_text, encoding="utf-8")
    out = directory / "s.json"
    result = run_cli("order", "similarity", small_catalog_for_fuzz, "--embeddings", npy, "--device", "cpu", "-o", out)
    check_contract(result, [out], directory)


def export_directory() -> tuple[Path, Path]:
    """A scratch directory with a valid tasks file over the fuzz catalog's three concepts (no meta beside it)."""
    directory = fresh_directory()
    tasks = directory / "tasks.json"
    tasks.write_text(json.dumps([["A+++a", "B+++c"], ["A+++b"]]), encoding="utf-8")
    return directory, tasks


@FUZZ
@given(text=documents, to=st.sampled_from(["continuum", "avalanche"]))
def test_tasks_files(run_cli, small_catalog_for_fuzz: Path, text: str, to: str) -> None:
    directory, tasks = export_directory()
    tasks.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = directory / "export.json"
    check_contract(
        run_cli("export", tasks, "--to", to, "--catalog", small_catalog_for_fuzz, "-o", out), [out], directory
    )


@FUZZ
@given(text=documents, to=st.sampled_from(["continuum", "avalanche"]))
def test_labels_files(run_cli, small_catalog_for_fuzz: Path, text: str, to: str) -> None:
    directory, tasks = export_directory()
    labels = directory / "labels.json"
    labels.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = directory / "export.json"
    check_contract(run_cli("export", tasks, "--to", to, "--labels", labels, "-o", out), [out], directory)


@FUZZ
@given(text=documents)
def test_tasks_metas(run_cli, small_catalog_for_fuzz: Path, text: str) -> None:
    """Without --catalog the export finds the catalog through the tasks' meta: whatever that meta holds."""
    directory, tasks = export_directory()
    (directory / "tasks.meta.json").write_text(text, encoding="utf-8", errors="surrogatepass")
    out = directory / "export.json"
    check_contract(run_cli("export", tasks, "--to", "continuum", "-o", out), [out], directory)
