"""The choices that several steps share, each declared once as a ``str`` enum (Typer uses them directly),
and the one place where a plain string becomes a choice.

Choices that belong to one step live with it: refinement in :mod:`fomo_order.similarity.search`, the
within-year mode in :mod:`fomo_order.orderings.basic`, backend and precision in
:mod:`fomo_order.embeddings.settings`, frequency sources in :mod:`fomo_order.frequencies`.
"""

from __future__ import annotations

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
    """``"cpu"`` or ``"cuda"``: ``auto`` -> cuda when torch sees a GPU; ``cuda`` without one is an error."""
    choice = parse_choice(Device, device, "device")
    if choice is Device.CPU:
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if choice is Device.CUDA:
        raise ParameterError("device", "cuda was asked for, but torch sees no CUDA device")
    return "cpu"
