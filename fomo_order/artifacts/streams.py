"""Stream files (what FoMo-in-Flux's training pipeline reads: a JSON list of concept ids) and tasks files
(a JSON list of lists of concept ids, `split`'s output), each with the ``<stem>.meta.json`` beside it that
records how it was made (no timestamps, so it is reproducible).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fomo_order.artifacts.meta import input_record, make_meta
from fomo_order.catalog import split_concept_id
from fomo_order.errors import InputError
from fomo_order.fileio import check_texts, dumps_json, read_json, repeated, shorten, write_texts_atomic

__all__ = [
    "dataset_of",
    "datasets_in_order",
    "emit",
    "input_record",
    "meta_path",
    "read_stream",
    "reversed_stream",
    "write_stream",
    "write_tasks",
]


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
        example = shorten(repr(duplicates[0]))
        raise InputError(path, f"{len(duplicates)} duplicate concept(s) in the stream, e.g. {example}")
    return data


def read_meta(path: str | Path) -> dict[str, Any] | None:
    """The meta beside an artifact, or None when there is none."""
    meta_file = meta_path(path)
    if not meta_file.is_file():
        return None
    meta = read_json(meta_file)
    if not isinstance(meta, dict):
        raise InputError(meta_file, "expected a JSON object (an artifact's meta)")
    return meta


def emit(out: str | Path, payload: Any, meta: dict[str, Any], check: bool = False) -> None:
    """Write ``out`` and its meta file together (atomically), or with ``check`` compare both with disk."""
    out = Path(out)
    files = {out: dumps_json(payload), meta_path(out): dumps_json(meta)}
    if check:
        check_texts(files)
    else:
        write_texts_atomic(files)


def write_stream(out: str | Path, stream: Sequence[str], meta: dict[str, Any], check: bool = False) -> None:
    """A stream file and its meta (``check``: compare instead of writing; exit 1 territory)."""
    emit(out, list(stream), meta, check)


def write_tasks(out: str | Path, tasks: Sequence[Sequence[str]], meta: dict[str, Any], check: bool = False) -> None:
    """A tasks file (`split`'s output) and its meta."""
    emit(out, [list(task) for task in tasks], meta, check)


def stream_text(stream: Sequence[str]) -> str:
    """The exact bytes of a stream file, as text (for writing a stream to standard output)."""
    return dumps_json(list(stream))


def reversed_stream(path: str | Path, argv: list[str] | None = None) -> tuple[list[str], dict[str, Any]]:
    """The reversal of the stream at ``path`` and its meta.

    The stream is exactly what ordering with ``reverse=True`` gives for the same inputs. The meta carries
    over the forward stream's description (strategy, seed, parameters, details; ``reverse`` flipped) when
    its meta file is there, and records the forward stream as the input.
    """
    stream = read_stream(path)
    forward = read_meta(path) or {}
    carried = ("strategy", "seed", "parameters", "datasets", "details")
    described = {key: forward[key] for key in carried if key in forward}
    if "reverse" in forward:
        if not isinstance(forward["reverse"], bool):
            raise InputError(
                meta_path(path), f"'reverse' must be true or false, got {shorten(repr(forward['reverse']))}"
            )
        described["reverse"] = not forward["reverse"]
    meta = make_meta("reverse", argv=argv, inputs={"stream": input_record(path)}, **described, concepts=len(stream))
    return stream[::-1], meta


def dataset_of(concept: str) -> str:
    return concept.split("+++", 1)[0]


def datasets_in_order(stream: Sequence[str]) -> list[str]:
    """Datasets in order of first appearance."""
    return list(dict.fromkeys(dataset_of(c) for c in stream))
