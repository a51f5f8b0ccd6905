"""Hardening (issue 22), embeddings files: whatever the `.npy` holds (a zip, text, a header that lies about
its size, objects, the wrong dtype, too few or too many bytes) and whatever the path is (a FIFO, a
directory), every command that reads embeddings fails in one line naming the file, exit 2, without
allocating what a header claims; a valid file in another layout (Fortran order, float64, big-endian) works."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fomo_order.artifacts.embeddings import sidecar_path, write_embeddings
from fomo_order.catalog import load_catalog
from tests.hardening.test_files import one_line_error


def unit_rows(count: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def write_npy(path: Path, array: np.ndarray) -> None:
    """Replace the vectors with a valid ``.npy`` of ``array`` and let the sidecar describe it, as a tool that
    rewrites both would (otherwise the sidecar's partner_sha256 refuses the pair before the content is read)."""
    from fomo_order.fileio import PARTNER_KEY, sha256_file

    path.write_bytes(npy_bytes(array))
    side = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    side[PARTNER_KEY] = [sha256_file(path)]
    sidecar_path(path).write_text(json.dumps(side), encoding="utf-8")


def header_claiming(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """A version-1.0 .npy header for ``shape`` with no data after it."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape})
    header = header + " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1")


def commands(catalog: Path, embeddings: Path, tmp_path: Path) -> list[list[object]]:
    stream = tmp_path / "stream.json"
    stream.write_text(json.dumps(load_catalog(catalog).concept_ids), encoding="utf-8")
    return [
        ["order", "similarity", catalog, "--embeddings", embeddings, "--device", "cpu", "-o", tmp_path / "s.json"],
        ["proxy-scores", catalog, "--embeddings", embeddings, "-o", tmp_path / "p.json"],
        ["report", stream, "--embeddings", embeddings, "-o", tmp_path / "r.png"],
    ]


@pytest.fixture
def embedded(small_catalog: Path, tmp_path: Path) -> tuple[Path, Path, list[str]]:
    ids = load_catalog(small_catalog).concept_ids
    path = tmp_path / "e.npy"
    write_embeddings(path, unit_rows(len(ids)), ids, {"backend": "test"})
    return small_catalog, path, ids


def replace_vectors(path: Path, kind: str, rows: int) -> None:
    vectors = unit_rows(rows)
    if kind == "npz":
        buffer = io.BytesIO()
        np.savez(buffer, vectors=vectors)
        path.write_bytes(buffer.getvalue())
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a.txt", "hello")
    elif kind == "text":
        path.write_text("0.1 0.2 0.3\n0.4 0.5 0.6\n", encoding="utf-8")
    elif kind == "huge":
        path.write_bytes(header_claiming((4 * 10**12, 384)))
    elif kind == "object":
        path.write_bytes(npy_bytes(np.array([[{"a": 1}] * 8] * rows, dtype=object)))
    elif kind == "int":
        path.write_bytes(npy_bytes(np.ones((rows, 8), dtype=np.int32)))
    elif kind == "complex":
        path.write_bytes(npy_bytes(np.ones((rows, 8), dtype=np.complex64)))
    elif kind == "1d":
        path.write_bytes(npy_bytes(np.ones(rows * 8, dtype=np.float32)))
    elif kind == "truncated":
        path.write_bytes(npy_bytes(vectors)[:-5])
    elif kind == "trailing":
        path.write_bytes(npy_bytes(vectors) + b"\0" * 12)
    elif kind == "bad-header":
        path.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': oops}\n" + b"\0" * 40)
    elif kind == "version":
        path.write_bytes(b"\x93NUMPY\x07\x00" + npy_bytes(vectors)[8:])
    elif kind == "nan":
        vectors[2, 3] = np.nan
        write_npy(path, vectors)
    elif kind == "inf":
        vectors[5] = -np.inf
        write_npy(path, vectors)


CASES = [
    ("npz", "is a zip archive (an .npz?), not a .npy file"),
    ("zip", "is a zip archive (an .npz?), not a .npy file"),
    ("text", "not a .npy file (no NumPy header)"),
    ("huge", "4000000000000 rows but the sidecar e.json names 10 concepts"),
    ("object", "holds Python objects (pickled data), not float vectors: refused"),
    ("int", "expected a 2-D float array, got shape (10, 8) of int32"),
    ("complex", "expected a 2-D float array"),
    ("1d", "expected a 2-D float array, got shape (80,)"),
    ("truncated", "truncated: the header promises 320 bytes of data, the file has 315"),
    ("trailing", "12 bytes after the array's data"),
    ("bad-header", "not a readable .npy file"),
    ("version", "unsupported .npy format version (7, 0)"),
    ("nan", "NaN or infinite values in the vector of 'ALPHA+++a2'"),
    ("inf", "NaN or infinite values in the vector of 'BETA+++b1'"),
]


@pytest.mark.parametrize(("kind", "problem"), CASES, ids=[kind for kind, _ in CASES])
def test_a_bad_npy_is_one_line_for_every_reader(run_cli, embedded, tmp_path, kind, problem) -> None:
    catalog, path, ids = embedded
    replace_vectors(path, kind, len(ids))
    for args in commands(catalog, path, tmp_path):
        result = run_cli(*args)
        assert result.exit_code == 2, (args[0], result.output)
        line = one_line_error(result, str(path), problem)
        assert "allow_pickle" not in line and "pickled (object) data" not in line
    assert not any((tmp_path / name).exists() for name in ("s.json", "p.json", "r.png"))


def test_a_header_that_claims_more_than_the_file_holds_allocates_nothing(embedded, monkeypatch) -> None:
    """The header's rows match the sidecar, but the bytes are not there: refused before any allocation."""
    from fomo_order.artifacts.embeddings import read_embeddings_file
    from fomo_order.errors import InputError

    _, path, _ = embedded
    side = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    rows = 4 * 10**9
    sidecar_path(path).write_text(json.dumps({**side, "concepts": [f"X+++{i}" for i in range(3)]}), "utf-8")
    path.write_bytes(header_claiming((3, rows)))

    def no_allocation(*args, **kwargs):
        raise AssertionError("allocated what the header claims")

    monkeypatch.setattr(np, "fromfile", no_allocation)
    with pytest.raises(InputError, match="truncated: the header promises 48000000000 bytes of data, the file has 0"):
        read_embeddings_file(path)


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_an_embeddings_path_that_is_not_a_regular_file(run_cli, embedded, tmp_path, kind) -> None:
    catalog, path, _ = embedded
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    for args in commands(catalog, path, tmp_path):
        result = run_cli(*args)
        assert result.exit_code == 2, (args[0], result.output)
        one_line_error(result, str(path), "is not a regular file")
    missing = tmp_path / "missing.npy"
    one_line_error(run_cli(*commands(catalog, missing, tmp_path)[0]), str(missing), "embeddings file not found")


@pytest.mark.parametrize("layout", ["fortran", "float64", "big-endian", "float16"])
def test_other_valid_layouts_give_the_same_stream(run_cli, embedded, tmp_path, layout) -> None:
    catalog, path, ids = embedded
    reference = tmp_path / "reference.json"
    args = ["order", "similarity", catalog, "--embeddings", path, "--device", "cpu", "-o"]
    assert run_cli(*args, reference).exit_code == 0
    vectors = np.load(path)
    if layout == "float16":
        vectors = vectors.astype(np.float16).astype(np.float32)
        write_embeddings(path, vectors, ids, {"backend": "test"})
        assert run_cli(*args, reference).exit_code == 0
    converted = {
        "fortran": np.asfortranarray(vectors),
        "float64": vectors.astype(np.float64),
        "big-endian": vectors.astype(">f4"),
        "float16": vectors.astype(np.float16),
    }[layout]
    write_npy(path, converted)
    out = tmp_path / "s.json"
    result = run_cli(*args, out)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(reference.read_text(encoding="utf-8"))
