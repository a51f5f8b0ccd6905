"""The embeddings artifact: ``OUT.npy`` (float32, one L2-normalised row per concept) and its sidecar
``OUT.json`` (same stem) whose ``"concepts"`` names the concept of every row, in row order.

Readers match rows to a catalog by concept id, never by position, so a file made for a superset of the
catalog works, and a stale one is refused with counts of what is missing.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.artifacts.result import Prepared, check_partners
from fomo_order.errors import InputError
from fomo_order.fileio import dumps_json, read_json, shorten


def sidecar_path(npy_path: str | Path) -> Path:
    return Path(npy_path).with_suffix(".json")


def embeddings_files(
    path: str | Path, matrix: np.ndarray, concept_ids: Sequence[str], meta: dict[str, Any]
) -> dict[Path, bytes]:
    """The bytes of ``OUT.npy`` and of its ``.json`` sidecar (``meta`` with rows, dim and concepts), in that order."""
    path = Path(path)
    if sidecar_path(path) == path:
        raise InputError(path, "the vectors cannot go to a .json file: that is the name of their sidecar (use .npy)")
    if matrix.shape[0] != len(concept_ids):
        raise ValueError("one row per concept id")
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(matrix, dtype=np.float32), allow_pickle=False)
    sidecar = {**meta, "rows": int(matrix.shape[0]), "dim": int(matrix.shape[1]), "concepts": list(concept_ids)}
    # the vectors first, the sidecar (their meta) last: written both or neither
    return {path: buffer.getvalue(), sidecar_path(path): dumps_json(sidecar).encode("utf-8")}


def write_embeddings(
    path: str | Path, matrix: np.ndarray, concept_ids: Sequence[str], meta: dict[str, Any], check: bool = False
) -> None:
    """Write the ``.npy`` and its ``.json`` sidecar; neither is replaced unless both could be written.

    ``check``: write nothing, raise :class:`CheckFailed` unless both files equal what would be written.
    """
    Prepared(lambda out: embeddings_files(out, matrix, concept_ids, meta), meta).write(path, check=check)


def read_embeddings_file(path: str | Path) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """Read ``OUT.npy`` and its sidecar as they are: (matrix as float32, concept ids, sidecar)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "embeddings file not found")
    if not path.is_file():
        raise InputError(path, "is not a regular file (a directory, FIFO, socket or device), expected a .npy file")
    side = sidecar_path(path)
    if not side.is_file():
        raise InputError(path, f"missing sidecar {side.name} (it names the concept of every row)")
    meta = read_json(side)
    concepts = meta.get("concepts") if isinstance(meta, dict) else None
    if not isinstance(concepts, list) or not all(isinstance(c, str) for c in concepts):
        raise InputError(side, "expected an object with 'concepts': a list of concept ids")
    matrix = _read_npy(path, len(concepts), side.name)
    dim = meta.get("dim")
    if isinstance(dim, int) and dim != matrix.shape[1]:
        raise InputError(path, f"vectors have dimension {matrix.shape[1]} but the sidecar {side.name} says {dim}")
    if len(set(concepts)) != len(concepts):
        raise InputError(side, "a concept id appears more than once")
    check_partners(meta, side, [path])  # a sidecar written for other vectors (a torn pair) would mislabel rows
    return matrix.astype(np.float32, copy=False), concepts, meta


def _read_npy(path: Path, rows: int, sidecar_name: str) -> np.ndarray:
    """The 2-D float array of a ``.npy`` file, its header checked against the file's size before any
    allocation (a header may claim terabytes), and against the sidecar's row count."""
    from numpy.lib import format as npy

    try:
        with open(path, "rb") as handle:
            start = handle.read(6)
            if start[:4] == b"PK\x03\x04":
                raise InputError(path, "is a zip archive (an .npz?), not a .npy file")
            if start != b"\x93NUMPY":
                raise InputError(path, "not a .npy file (no NumPy header)")
            handle.seek(0)
            version = npy.read_magic(handle)
            if version not in ((1, 0), (2, 0), (3, 0)):
                raise InputError(path, f"unsupported .npy format version {version}")
            read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, fortran_order, dtype = read_header(handle)
            offset = handle.tell()
            _check_header(path, shape, dtype, rows, sidecar_name)
            expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
            size = os.fstat(handle.fileno()).st_size - offset
            if size < expected:
                raise InputError(path, f"truncated: the header promises {expected} bytes of data, the file has {size}")
            if size > expected:
                raise InputError(path, f"{size - expected} bytes after the array's data (not one .npy array)")
            data = np.fromfile(handle, dtype=dtype, count=int(np.prod(shape)))
    except InputError:
        raise
    except (ValueError, OSError, EOFError, SyntaxError) as exc:  # a damaged header
        raise InputError(path, f"not a readable .npy file ({shorten(str(exc))})") from None
    return data.reshape(shape, order="F" if fortran_order else "C")


def _check_header(path: Path, shape: tuple[int, ...], dtype: np.dtype, rows: int, sidecar_name: str) -> None:
    if dtype.hasobject:
        raise InputError(path, "holds Python objects (pickled data), not float vectors: refused")
    if len(shape) != 2 or dtype.kind != "f":
        raise InputError(path, f"expected a 2-D float array, got shape {shape} of {dtype}")
    if shape[0] != rows:
        raise InputError(path, f"{shape[0]} rows but the sidecar {sidecar_name} names {rows} concepts")


def embeddings_for(path: str | Path, concept_ids: Sequence[str]) -> np.ndarray:
    """Rows of the embeddings file for ``concept_ids``, in that order, validated and L2-normalised.

    Refuses a file that lacks some of the concepts (a stale file), and NaN, infinite or zero vectors.
    """
    matrix, file_ids, _ = read_embeddings_file(path)
    row_of = {cid: row for row, cid in enumerate(file_ids)}
    missing = [cid for cid in concept_ids if cid not in row_of]
    if missing:
        extra = len(set(file_ids) - set(concept_ids))
        raise InputError(
            path,
            f"{len(missing)} of {len(concept_ids)} catalog concepts are missing (e.g. {shorten(repr(missing[0]))}); "
            f"{extra} rows are for concepts not in the catalog: stale embeddings? re-run `fomo-order embed`",
        )
    rows = matrix[[row_of[cid] for cid in concept_ids]]
    finite = np.isfinite(rows).all(axis=1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise InputError(path, f"NaN or infinite values in the vector of {shorten(repr(concept_ids[bad]))}")
    norms = np.linalg.norm(rows.astype(np.float64), axis=1)
    if (norms == 0).any():
        bad = int(np.flatnonzero(norms == 0)[0])
        raise InputError(path, f"zero vector for {shorten(repr(concept_ids[bad]))}")
    return (rows / norms[:, None]).astype(np.float32)
