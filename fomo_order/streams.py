"""Stream files: what FoMo-in-Flux's training pipeline reads (a JSON list of concept ids), and the
``<stem>.meta.json`` beside each that records how it was made (no timestamps, so it is reproducible).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fomo_order import __version__
from fomo_order.catalog import split_concept_id
from fomo_order.errors import InputError
from fomo_order.fileio import check_texts, dumps_json, read_json, repeated, sha256_file, write_texts_atomic


def meta_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem if path.suffix == '.json' else path.name}.meta.json")


def read_stream(path: str | Path) -> list[str]:
    """Read and validate a stream file: a JSON list of distinct concept ids."""
    data = read_json(path)
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        raise InputError(path, "expected a JSON list of concept ids '<dataset>+++<class name>'")
    if not data:
        raise InputError(path, "the stream is empty")
    for concept in data:
        split_concept_id(concept, path)
    duplicates = repeated(data)
    if duplicates:
        raise InputError(path, f"{len(duplicates)} duplicate concept(s) in the stream, e.g. {duplicates[0]!r}")
    return data


def input_record(path: str | Path) -> dict[str, str]:
    return {"path": str(path), "sha256": sha256_file(path)}


def base_meta(command: str, **fields: Any) -> dict[str, Any]:
    return {"tool": "fomo-order", "version": __version__, "command": command, **fields}


def emit(out: str | Path, payload: Any, meta: dict[str, Any], check: bool) -> None:
    """Write ``out`` and its meta file atomically, or with ``check`` compare them with what is on disk."""
    out = Path(out)
    files = {out: dumps_json(payload), meta_path(out): dumps_json(meta)}
    if check:
        check_texts(files)
    else:
        write_texts_atomic(files)


def reversed_stream(path: str | Path, argv: list[str] | None = None) -> tuple[list[str], dict[str, Any]]:
    """The reversal of the stream at ``path`` and its meta.

    The stream is exactly what ``order --reverse`` writes for the same inputs. The meta carries over the
    forward stream's description (strategy, seed, parameters, details; ``reverse`` flipped) when its meta
    file is there, and records the forward stream as the input.
    """
    stream = read_stream(path)
    forward_meta_file = meta_path(path)
    forward = read_json(forward_meta_file) if forward_meta_file.is_file() else {}
    described = {
        key: forward[key]
        for key in ("strategy", "seed", "parameters", "datasets", "details")
        if isinstance(forward, dict) and key in forward
    }
    if isinstance(forward, dict) and "reverse" in forward:
        described["reverse"] = not forward["reverse"]
    meta = base_meta(
        "reverse", argv=argv, **described, concepts=len(stream), inputs={"stream": input_record(path)}
    )
    return stream[::-1], meta


def dataset_of(concept: str) -> str:
    return concept.split("+++", 1)[0]


def datasets_in_order(stream: Sequence[str]) -> list[str]:
    """Datasets in order of first appearance."""
    return list(dict.fromkeys(dataset_of(c) for c in stream))
