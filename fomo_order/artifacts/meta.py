"""The one meta shape of every artifact, and how input files are recorded in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fomo_order import __version__

TOOL = "fomo-order"


def input_record(path: str | Path) -> dict[str, str]:
    """An input file as the meta records it: its path as given and its sha256."""
    from fomo_order.fileio import sha256_file

    return {"path": str(path), "sha256": sha256_file(path)}


def make_meta(command: str, *, argv: list[str] | None, inputs: dict[str, Any], **facts: Any) -> dict[str, Any]:
    """``{"tool", "version", "command", "argv", "inputs", **facts}``: the same keys first, in every artifact.

    ``argv`` is the canonical command line that remakes (or, with ``--check``, verifies) the artifact;
    None for artifacts made through the Python API.
    """
    return {"tool": TOOL, "version": __version__, "command": command, "argv": argv, "inputs": inputs, **facts}
