"""Which pip extra a command needs, so that a missing heavy library is one line, never a traceback.

``pip install fomo-order`` brings numpy, PyYAML, rich and Typer only; each heavy library comes with an
extra (pyproject.toml). A command that meets a missing one exits 2 with
``error: order similarity needs the similarity extra: pip install 'fomo-order[similarity]'``.
"""

from __future__ import annotations

from collections.abc import Sequence

# The heavy modules of each extra (top-level import names, not distribution names).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "similarity": ("torch", "numba", "triton"),
    "embed": ("torch", "torchvision", "open_clip", "sentence_transformers", "transformers", "huggingface_hub", "PIL"),
    "report": ("matplotlib", "scipy"),
    "frequencies": ("wordfreq", "elasticsearch", "requests", "numba"),
    "ray": ("ray",),
}

# The extra a command needs first (a command can need another: `score` needs embed's torch and PIL).
COMMAND_EXTRA = {
    "order": "similarity",
    "embed": "embed",
    "score": "embed",
    "report": "report",
    "fetch-frequencies": "frequencies",
}


def missing_extra(argv: Sequence[str], module: str | None) -> tuple[str, str] | None:
    """``(what, extra)`` when ``module`` (the name a ModuleNotFoundError carries) belongs to an extra:
    ``what`` names the command as the user ran it (``order similarity``); None for any other module."""
    root = (module or "").split(".")[0]
    owners = [extra for extra, modules in EXTRA_MODULES.items() if root in modules]
    if not owners:
        return None
    words = [arg for arg in argv if not arg.startswith("-")]
    command = words[0] if words else "fomo-order"
    extra = COMMAND_EXTRA.get(command)
    if extra not in owners:
        extra = owners[0]
    what = f"{command} {words[1]}" if command == "order" and len(words) > 1 else command
    return what, extra


def extra_message(what: str, extra: str) -> str:
    return f"{what} needs the {extra} extra: pip install 'fomo-order[{extra}]'"
