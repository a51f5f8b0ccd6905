"""``fomo-order proxy-scores``: text-margin scores for the performance ordering, from embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fomo_order.cli.app import app, command_line, console
from fomo_order.cli.options import CatalogArgument, Check, Datasets, Quiet, dataset_names, output


@app.command(
    "proxy-scores", short_help="Text-margin per-concept scores for the performance ordering, from embeddings."
)
def proxy_scores_command(
    ctx: typer.Context,
    catalog: CatalogArgument,
    embeddings: Annotated[
        Path, typer.Option(help="Embeddings .npy from `fomo-order embed` (with its sidecar).", show_default=False)
    ],
    out: Annotated[
        Path, output("Scores file to write: {\"scores\": {concept id: score}} (and its .meta.json); `-`: stdout.")
    ],
    datasets: Datasets = None,
    check: Check = False,
    quiet: Quiet = False,
) -> None:
    """Write a stand-in for per-concept accuracy: each concept's text margin, 1 - the cosine similarity
    to the nearest other class of its dataset (higher = easier to tell apart). Feed it to
    `order performance --scores` when you have no reference model's per-concept scores."""
    from fomo_order.catalog import load_catalog
    from fomo_order.scores import proxy_scores

    cat = load_catalog(catalog, datasets=dataset_names(datasets))
    proxy_scores(cat, embeddings, argv=command_line(ctx, leave_out=("check", "quiet"))).write(out, check=check)
    if quiet or str(out) == "-":
        return
    console.print(Text(f"{out}: text-margin scores of {len(cat)} concepts {'are current' if check else 'written'}"))
