"""Options that several commands share, declared once (Typer ``Annotated`` aliases)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fomo_order.choices import Device

CATALOG_HELP = "Catalog file (YAML/JSON) or a directory of FoMo-in-Flux `<DATASET>.json` lists."

CatalogArgument = Annotated[Path, typer.Argument(help=CATALOG_HELP, show_default=False)]
Years = Annotated[
    Path | None, typer.Option("--years", help="JSON/YAML map dataset -> release year (adds to / overrides).")
]
Templates = Annotated[
    Path | None,
    typer.Option(
        "--templates",
        help="JSON/YAML map dataset -> caption template or list of templates (adds to / overrides).",
    ),
]
Datasets = Annotated[str | None, typer.Option("--datasets", help="Comma-separated datasets to keep (default: all).")]


def flag(*names: str, help: str) -> Any:
    """A boolean flag: shown in help as a bare flag (Typer would print ``<bool>`` as if it took a value)."""
    return typer.Option(*names, help=help, metavar="")


Check = Annotated[bool, flag("--check", help="Write nothing; exit 0 if OUT (and its meta) are current, 1 if not.")]
Seed = Annotated[int, typer.Option("--seed", min=0, help="Seed for shuffles and tie-breaking.")]
DeviceOption = Annotated[Device | None, typer.Option("--device", help="Where torch work runs (default auto).")]
Quiet = Annotated[bool, flag("--quiet", "-q", help="No progress bar and no notes on standard error.")]


def output(help: str) -> Any:
    """``-o/--output``, with the command's own description of what it writes."""
    return typer.Option("-o", "--output", help=help, show_default=False)


def dataset_names(option: str | None) -> list[str] | None:
    """``--datasets A,B,...`` as a list of names (None: keep all)."""
    names = [name.strip() for name in option.split(",") if name.strip()] if option else []
    return names or None


def parse_increments(option: str | None) -> list[int] | None:
    """``--increments K1,K2,...`` as a list of task sizes (the library checks the sizes)."""
    from fomo_order.errors import InputError

    if option is None:
        return None
    try:
        return [int(part) for part in option.split(",")]
    except ValueError:
        raise InputError("--increments", f"expected comma-separated integers, got {option!r}") from None
