"""The one shape of every step's result, and the one writer of every artifact.

Each library step (``order``, ``split_stream``, ``embed``, ``fetch_frequencies``, ``score``,
``proxy_scores``, ``reverse``, ...) returns a result object that carries its ``meta`` and knows the bytes
of the files it is written as (:meth:`Artifact.files`). :func:`write_artifact` is the only code that puts
them on disk (all or none, atomically, meta last) or compares them with disk (``check``), so the Python API
and the CLI write byte-identical files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from fomo_order.errors import InputError
from fomo_order.fileio import check_files, write_files_atomic

STDOUT = "-"


@runtime_checkable
class Artifact(Protocol):
    """A step's result: ``meta`` (how it was made) and the files it is written as."""

    meta: dict[str, Any]

    def files(self, path: Path) -> dict[Path, bytes]:
        """Every file written for output ``path``, in write order: the artifact itself first, its meta last."""
        ...


def write_artifact(result: Artifact, path: str | Path, *, check: bool = False) -> None:
    """Write ``result`` at ``path`` (and its partner files), or with ``check`` compare them with disk.

    ``path`` ``-`` writes the artifact itself (the first file) to standard output and no meta.
    Raises :class:`~fomo_order.errors.CheckFailed` when ``check`` finds a difference.
    """
    if str(path) == STDOUT:
        if check:
            raise InputError("--check", "needs a file to compare with, not standard output (-o -)")
        write_stdout(next(iter(result.files(Path(STDOUT)).values())))
        return
    files = result.files(Path(path))
    if check:
        check_files(files)
    else:
        write_files_atomic(files)


def write_stdout(data: bytes) -> None:
    """Bytes to standard output; a text stream without a buffer (a notebook, a test's capture) gets them
    decoded, which holds for every artifact but a figure."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        buffer.write(data)
        buffer.flush()


class Written:
    """Mixin for result dataclasses: ``result.write(path, check=False)`` through :func:`write_artifact`."""

    def write(self, path: str | Path, *, check: bool = False) -> None:
        write_artifact(self, path, check=check)  # type: ignore[arg-type]  (subclasses define files/meta)
