"""Stream files (what FoMo-in-Flux's training pipeline reads: a JSON list of concept ids) and tasks files
(a JSON list of lists of concept ids, `split`'s output), each with the ``<stem>.meta.json`` beside it that
records how it was made (no timestamps, so it is reproducible).

A reader given ``-`` reads standard input (``order ... -o - | fomo-order split - ...``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fomo_order.artifacts.meta import input_record
from fomo_order.artifacts.result import Prepared, check_partners
from fomo_order.catalog import dataset_of, split_concept_id
from fomo_order.errors import InputError
from fomo_order.fileio import (
    PARTNER_KEY,
    dumps_json,
    parse_json,
    read_json,
    repeated,
    sha256_bytes,
    shorten,
)

__all__ = [
    "STDIN",
    "datasets_in_order",
    "emit",
    "input_record",
    "json_with_meta",
    "load_stream",
    "meta_path",
    "read_meta",
    "read_stream",
    "stream_record",
    "write_stream",
    "write_tasks",
]

STDIN = "-"


def meta_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem if path.suffix == '.json' else path.name}.meta.json")


def read_stream(path: str | Path) -> list[str]:
    """Read and validate a stream file (``-``: standard input): a JSON list of distinct concept ids."""
    return load_stream(path)[0]


def load_stream(path: str | Path) -> tuple[list[str], dict[str, Any]]:
    """The stream at ``path`` (``-``: standard input, read once) and its record as a meta's input."""
    if str(path) == STDIN:
        data = sys.stdin.buffer.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(STDIN, f"not valid UTF-8 (byte {exc.start})") from None
        return _checked_stream(parse_json(text, STDIN), STDIN), {"path": STDIN, "sha256": sha256_bytes(data)}
    stream, record = _checked_stream(read_json(path), path), input_record(path)
    _check_meta_describes(path, record["sha256"])
    return stream, record


def _check_meta_describes(path: str | Path, digest: str) -> None:
    """A meta beside ``path`` that records another sha256 for it: the pair was torn (a run killed between
    the two renames, or one file edited or copied without the other), and the meta would lie."""
    meta_file = meta_path(path)
    if not meta_file.is_file():
        return
    meta = read_json(meta_file)
    recorded = meta.get(PARTNER_KEY) if isinstance(meta, dict) else None
    if isinstance(recorded, list) and recorded and recorded[0] != digest:
        raise InputError(
            path, f"{meta_file.name} beside it describes another version of this file (its recorded sha256 "
            "differs): regenerate both, or remove the meta"
        )


def _checked_stream(data: Any, path: str | Path) -> list[str]:
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


def stream_record(concept_ids: Sequence[str]) -> dict[str, Any]:
    """An in-memory stream as a meta's input: no path, the sha256 of the bytes its file would hold."""
    return {"path": None, "sha256": sha256_bytes(stream_text(concept_ids).encode("utf-8"))}


def read_meta(path: str | Path) -> dict[str, Any] | None:
    """The meta beside an artifact, or None when there is none (as for standard input)."""
    if str(path) == STDIN:
        return None
    meta_file = meta_path(path)
    if not meta_file.is_file():
        return None
    meta = read_json(meta_file)
    if not isinstance(meta, dict):
        raise InputError(meta_file, "expected a JSON object (an artifact's meta)")
    check_partners(meta, meta_file, [path])
    return meta


def json_with_meta(path: Path, payload: Any, meta: dict[str, Any]) -> dict[Path, bytes]:
    """The files of a JSON artifact (a stream, tasks, an export) and of its ``.meta.json``, in write order."""
    return {path: dumps_json(payload).encode("utf-8"), meta_path(path): dumps_json(meta).encode("utf-8")}


def emit(out: str | Path, payload: Any, meta: dict[str, Any], check: bool = False) -> None:
    """Write ``out`` and its meta file together through the one writer, or with ``check`` compare both."""
    Prepared(lambda path: json_with_meta(path, payload, meta), meta).write(out, check=check)


def write_stream(out: str | Path, stream: Sequence[str], meta: dict[str, Any], check: bool = False) -> None:
    """A stream file and its meta (``check``: compare instead of writing; exit 1 territory)."""
    emit(out, list(stream), meta, check)


def write_tasks(out: str | Path, tasks: Sequence[Sequence[str]], meta: dict[str, Any], check: bool = False) -> None:
    """A tasks file (`split`'s output) and its meta."""
    emit(out, [list(task) for task in tasks], meta, check)


def stream_text(stream: Sequence[str]) -> str:
    """The exact bytes of a stream file, as text (for writing a stream to standard output)."""
    return dumps_json(list(stream))


def datasets_in_order(stream: Sequence[str]) -> list[str]:
    """Datasets in order of first appearance."""
    return list(dict.fromkeys(dataset_of(c) for c in stream))
