"""Command-line options shared by the commands that run an open_clip model (`embed`, `score`): one
declaration each, so the flags, defaults and help stay the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fomo_order.cli.options import flag
from fomo_order.embeddings.settings import Precision

PretrainedOption = Annotated[
    str | None,
    typer.Option(
        help="openclip: a pretrained tag of the model (default openai) or a local checkpoint file.", show_default=False
    ),
]
ModelConfigOption = Annotated[
    Path | None,
    typer.Option("--model-config", help="openclip: a model config JSON to register (model name = file stem)."),
]
PrecisionOption = Annotated[Precision, typer.Option(help="fp32, or fp16/bf16 autocast (fp16 on CUDA only).")]
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Vector cache (default $FOMO_ORDER_CACHE_DIR, else $XDG_CACHE_HOME/fomo-order/embeddings).",
        show_default=False,
    ),
]
NoCacheOption = Annotated[bool, flag("--no-cache", help="Neither read nor write the cache.")]
# The cache changes how fast, never what: its options stay out of the recorded command line.
CACHE_PARAMS = ("cache_dir", "no_cache")


def cache_root(cache_dir: Path | None, no_cache: bool) -> Path | None:
    """The cache root the options ask for (None: no cache)."""
    from fomo_order.embeddings import default_cache_root

    return None if no_cache else (cache_dir or default_cache_root())
