"""The choices that several steps share, each declared once as a ``str`` enum (Typer uses them directly),
and the one place where a plain string becomes a choice.

Choices that belong to one step live with it: refinement in :mod:`fomo_order.similarity.search`, the
within-year mode in :mod:`fomo_order.orderings.basic`, backend and precision in
:mod:`fomo_order.embeddings.settings`, frequency sources in :mod:`fomo_order.frequencies`.
"""

from __future__ import annotations

import glob
import os
import sys
from enum import Enum
from typing import TypeVar

from fomo_order.errors import ParameterError

E = TypeVar("E", bound=Enum)


class Choice(str, Enum):
    """A ``str`` enum that prints as its value (``f"{Device.CPU}"`` is ``cpu``) on every Python version."""

    def __str__(self) -> str:
        return str(self.value)


class Device(Choice):
    """Where torch work runs: ``auto`` takes CUDA when torch sees a GPU."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


def parse_choice(kind: type[E], value: str | E, parameter: str) -> E:
    """``value`` as a member of ``kind``, or a :class:`ParameterError` naming ``parameter``."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(str(member.value) for member in kind)
        raise ParameterError(parameter, f"unknown value {value!r} (choose one of {choices})") from None


def resolve_device(device: str | Device) -> str:
    """``"cpu"`` or ``"cuda"``: ``auto`` -> cuda when torch sees a GPU; ``cuda`` without one is an error.

    ``auto`` decides without importing torch (seconds) where no CUDA device can exist: see
    :func:`cuda_impossible`."""
    choice = parse_choice(Device, device, "device")
    if choice is Device.CPU or (choice is Device.AUTO and cuda_impossible()):
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if choice is Device.CUDA:
        raise ParameterError("device", "cuda was asked for, but torch sees no CUDA device")
    return "cpu"


def cuda_impossible() -> bool:
    """True where torch cannot see a CUDA device, known from the environment alone: ``CUDA_VISIBLE_DEVICES``
    hides every device (empty, or its first entry is invalid), macOS (torch has no CUDA there), or a Linux
    system with no NVIDIA device nodes, no loaded NVIDIA driver, no WSL2 GPU (``/dev/dxg``) and no AMD
    ``/dev/kfd`` (ROCm builds of torch answer as CUDA). False whenever a device might exist: torch decides."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        first = visible.split(",")[0].strip()
        if not first or first.startswith("-"):
            return True
    if sys.platform == "darwin":
        return True
    if sys.platform.startswith("linux"):
        markers = ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/kfd", "/dev/dxg")  # dxg: WSL2
        return not any(os.path.exists(path) for path in markers) and not glob.glob("/dev/nvidia[0-9]*")
    return False
