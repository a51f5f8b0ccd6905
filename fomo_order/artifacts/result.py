"""The one shape of every step's result, and the one writer of every artifact.

Each library step (``order``, ``split_stream``, ``embed``, ``fetch_frequencies``, ``score``,
``proxy_scores``, ``reverse``, ...) returns a result object that carries its ``meta`` and knows the bytes
of the files it is written as (:meth:`Artifact.files`). :func:`write_artifact` is the only code that puts
them on disk (all or none, atomically, meta last) or compares them with disk (``check``), so the Python API
and the CLI write byte-identical files.

A meta written beside its artifact records the artifact's sha256 (``partner_sha256``): a kill between the
two renames leaves a new artifact beside an old meta, and :func:`check_partners` lets every reader see it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from fomo_order.errors import InputError, ParameterError
from fomo_order.fileio import (
    PARTNER_KEY,
    check_files,
    check_output_path,
    dumps_json,
    is_special_file,
    sha256_bytes,
    sha256_file,
    write_files_atomic,
)

STDOUT = "-"


@runtime_checkable
class Artifact(Protocol):
    """A step's result: ``meta`` (how it was made) and the files it is written as."""

    # Read-only, so that frozen dataclasses satisfy it.
    @property
    def meta(self) -> dict[str, Any]: ...

    def files(self, path: Path) -> dict[Path, bytes]:
        """Every file written for output ``path``, in write order: the artifact itself first, its meta (a JSON
        object) last when there is one."""
        ...


def write_artifact(result: Artifact, path: str | Path, *, check: bool = False) -> None:
    """Write ``result`` at ``path`` (and its partner files), or with ``check`` compare them with disk.

    ``path`` ``-`` writes the artifact itself (the first file) to standard output and no meta; so does a
    path that is a FIFO or character device (``/dev/stdout``, a named pipe), which is written into. An
    output that is also an input of the result, or the same file as another of its outputs, is refused
    before anything is written. Raises :class:`~fomo_order.errors.CheckFailed` when ``check`` finds a
    difference.
    """
    if str(path) == STDOUT or is_special_file(path):
        if check:
            raise ParameterError("check", "needs a file to compare with, not standard output or a device")
        primary = next(iter(result.files(Path(path)).values()))
        if str(path) == STDOUT:
            write_stdout(primary)
        else:
            write_files_atomic({Path(path): primary})
        return
    check_output_path(path, directory_allowed=check)
    files = artifact_files(result, path)
    _refuse_clashes(list(files), result.meta)
    if check:
        check_files(files)
    else:
        write_files_atomic(files)


def artifact_files(result: Artifact, path: str | Path) -> dict[Path, bytes]:
    """The exact bytes :func:`write_artifact` puts at each path for ``result`` written at ``path``."""
    return with_partner_digests(result.files(Path(path)))


def with_partner_digests(files: dict[Path, bytes]) -> dict[Path, bytes]:
    """The files with the meta (the last file, a JSON object) recording the sha256 of every other file."""
    if len(files) < 2:
        return files
    *partners, meta_file = files
    meta = json.loads(files[meta_file])
    if not isinstance(meta, dict):
        return files
    meta[PARTNER_KEY] = [sha256_bytes(files[partner]) for partner in partners]
    return {**files, meta_file: dumps_json(meta).encode("utf-8")}


def check_partners(meta: Mapping[str, Any], meta_file: str | Path, partners: list[str | Path]) -> None:
    """Refuse a meta whose recorded ``partner_sha256`` does not match the files beside it (one of the pair
    was replaced without the other: a run killed between the renames, or a hand edit)."""
    recorded = meta.get(PARTNER_KEY)
    if recorded is None:
        return
    if not isinstance(recorded, list) or len(recorded) != len(partners):
        raise InputError(meta_file, f"'{PARTNER_KEY}' must list the sha256 of {len(partners)} file(s)")
    for partner, digest in zip(partners, recorded, strict=True):
        if Path(partner).is_file() and sha256_file(partner) != digest:
            raise InputError(
                meta_file, f"does not describe {partner} (its sha256 differs: the pair was not replaced together; "
                "regenerate both)"
            )


def _refuse_clashes(outputs: list[Path], meta: Mapping[str, Any]) -> None:
    seen: dict[str, Path] = {}
    for output in outputs:
        key = _identity(output)
        if key in seen:
            raise InputError(output, f"is the same file as another output ({seen[key]}); give different paths")
        seen[key] = output
    for name, input_path in _input_paths(meta.get("inputs")):
        key = _identity(Path(input_path))
        if key in seen:
            raise InputError(seen[key], f"is also an input ({name}: {input_path}); write to another file")


def _identity(path: Path) -> str:
    """One key per file: the device and inode of an existing file (hard links, symlinks), else the absolute
    path with symlinks of its directories resolved."""
    try:
        info = os.stat(path)
        return f"inode:{info.st_dev}:{info.st_ino}"
    except OSError:
        return f"path:{path.resolve()}"


def _input_paths(inputs: Any, name: str = "") -> Iterator[tuple[str, str]]:
    """Every ``path`` recorded in a meta's ``inputs`` (nested records such as a catalog's files included)."""
    if isinstance(inputs, Mapping):
        path = inputs.get("path")
        if isinstance(path, str) and path not in ("", STDOUT):
            yield name or "input", path
        for key, value in inputs.items():
            if key != "path":
                yield from _input_paths(value, name or key)
    elif isinstance(inputs, list):
        for item in inputs:
            yield from _input_paths(item, name)


def write_stdout(data: bytes) -> None:
    """Bytes to standard output; a text stream without a buffer (a notebook, a test's capture) gets them
    decoded, which holds for every artifact but a figure. A closed standard output is an error, not a
    silent loss of the artifact."""
    stream = sys.stdout
    if stream is None or getattr(stream, "closed", False):
        raise InputError("standard output", "is closed; nothing could be written")
    try:
        stream.flush()
        try:
            descriptor = stream.fileno()
        except (AttributeError, OSError, ValueError):  # a notebook's or a test's text capture
            stream.write(data.decode("utf-8"))
            stream.flush()
            return
        # Plain writes of bounded chunks: one huge write() into a pipe whose reader left can come back short
        # without an error, and the loss would pass unnoticed.
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view[: 1 << 16]) :]
    except BrokenPipeError:
        # Python would flush again at exit and print its own complaint: point stdout at /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
        raise InputError("standard output", "the reading end of the pipe closed before everything was written") \
            from None
    except OSError as exc:
        raise InputError("standard output", f"cannot write: {exc.strerror or exc}") from None


class Written:
    """Mixin for result dataclasses: ``result.write(path, check=False)`` through :func:`write_artifact`."""

    # A protocol self-type: subclasses define files and meta, and each call site is checked for them.
    def write(self: Artifact, path: str | Path, *, check: bool = False) -> None:
        write_artifact(self, path, check=check)


@dataclass(frozen=True)
class Prepared(Written):
    """The files a format module makes (``make_files(path)``) as an artifact, so that its plain writer
    (``write_stream``, ``write_scores``, ``write_embeddings``, ...) goes through the one writer too."""

    make_files: Callable[[Path], dict[Path, bytes]]
    meta: dict[str, Any]

    def files(self, path: Path) -> dict[Path, bytes]:
        return self.make_files(path)
