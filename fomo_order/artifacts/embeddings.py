"""The embeddings artifact: ``OUT.npy`` (float32, one L2-normalised row per concept) and its sidecar
``OUT.json`` (same stem) whose ``"concepts"`` names the concept of every row, in row order.

Readers match rows to a catalog by concept id, never by position, so a file made for a superset of the
catalog works, and a stale one is refused with counts of what is missing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.artifacts.result import Prepared
from fomo_order.errors import InputError
from fomo_order.fileio import dumps_json, read_json


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
    if not path.is_file():
        raise InputError(path, "embeddings file not found")
    side = sidecar_path(path)
    if not side.is_file():
        raise InputError(path, f"missing sidecar {side.name} (it names the concept of every row)")
    meta = read_json(side)
    concepts = meta.get("concepts") if isinstance(meta, dict) else None
    if not isinstance(concepts, list) or not all(isinstance(c, str) for c in concepts):
        raise InputError(side, "expected an object with 'concepts': a list of concept ids")
    try:
        matrix = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(path, f"not a readable .npy array ({exc})") from None
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.floating):
        raise InputError(path, f"expected a 2-D float array, got shape {matrix.shape} of {matrix.dtype}")
    if matrix.shape[0] != len(concepts):
        raise InputError(path, f"{matrix.shape[0]} rows but the sidecar {side.name} names {len(concepts)} concepts")
    dim = meta.get("dim")
    if isinstance(dim, int) and dim != matrix.shape[1]:
        raise InputError(path, f"vectors have dimension {matrix.shape[1]} but the sidecar {side.name} says {dim}")
    if len(set(concepts)) != len(concepts):
        raise InputError(side, "a concept id appears more than once")
    return matrix.astype(np.float32, copy=False), concepts, meta


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
            f"{len(missing)} of {len(concept_ids)} catalog concepts are missing (e.g. {missing[0]!r}); "
            f"{extra} rows are for concepts not in the catalog: stale embeddings? re-run `fomo-order embed`",
        )
    rows = matrix[[row_of[cid] for cid in concept_ids]]
    finite = np.isfinite(rows).all(axis=1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise InputError(path, f"NaN or infinite values in the vector of {concept_ids[bad]!r}")
    norms = np.linalg.norm(rows.astype(np.float64), axis=1)
    if (norms == 0).any():
        bad = int(np.flatnonzero(norms == 0)[0])
        raise InputError(path, f"zero vector for {concept_ids[bad]!r}")
    return (rows / norms[:, None]).astype(np.float32)
