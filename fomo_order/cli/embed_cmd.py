"""``fomo-order embed``: write OUT.npy (one L2-normalised row per concept) and its OUT.json sidecar."""

from __future__ import annotations

from pathlib import Path

import typer

from fomo_order.cli import CATALOG_HELP, app, command_line, console, dataset_names
from fomo_order.cli.model_options import (
    CACHE_PARAMS,
    CacheDirOption,
    DeviceOption,
    ModelConfigOption,
    NoCacheOption,
    PrecisionOption,
    PretrainedOption,
    cache_root,
)


@app.command(
    "embed",
    short_help="Embed every concept's caption(s) with a text encoder: OUT.npy + OUT.json.",
)
def embed_command(
    ctx: typer.Context,
    catalog: Path = typer.Argument(
        ..., help=CATALOG_HELP, show_default=False
    ),
    out: Path = typer.Option(..., "-o", "--output", help="Embeddings to write (.npy; the .json sidecar beside it)."),
    templates: Path | None = typer.Option(
        None, help="JSON/YAML map dataset -> caption template or list of templates (adds to / overrides)."
    ),
    datasets: str | None = typer.Option(None, help="Comma-separated datasets to keep (default: all)."),
    backend: str = typer.Option("openclip", help="openclip or sentence-transformers."),
    model: str | None = typer.Option(
        None,
        help="openclip: model name (default ViT-L-14, or the --model-config file's stem); "
        "sentence-transformers: a model directory or name (default all-MiniLM-L6-v2, packaged, offline).",
        show_default=False,
    ),
    pretrained: PretrainedOption = None,
    model_config: ModelConfigOption = None,
    device: DeviceOption = "auto",
    batch_size: int = typer.Option(256, "--batch-size", help="Captions per batch."),
    precision: PrecisionOption = "fp32",
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
) -> None:
    """Embed every concept's caption(s) and write OUT.npy (float32, one unit row per concept, catalog
    order) and OUT.json (concept ids, model, weights, templates, captions sha256). Captions already in the
    cache are not recomputed. Exit codes: 0 done, 2 bad input.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from fomo_order.catalog import load_catalog
    from fomo_order.embed import EmbedSettings, embed_catalog
    from fomo_order.embeddings import write_embeddings
    from fomo_order.streams import base_meta

    settings = EmbedSettings(
        backend=backend,
        model=model,
        pretrained=pretrained,
        model_config=model_config,
        device=device,
        batch_size=batch_size,
        precision=precision,
    )
    selected = dataset_names(datasets)
    cat = load_catalog(catalog, templates=templates, datasets=selected)

    bar = Progress(
        TextColumn("embedding captions"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    task = bar.add_task("embed", total=None)
    with bar:
        result = embed_catalog(
            cat,
            settings,
            cache_root=cache_root(cache_dir, no_cache),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            log=lambda message: console.print(message, markup=False),
        )
    meta = base_meta("embed", argv=command_line(ctx, leave_out=CACHE_PARAMS), **result.meta)
    write_embeddings(out, result.matrix, result.concept_ids, meta)
    console.print(
        f"{out}: {result.matrix.shape[0]} concepts x {result.matrix.shape[1]} dims written; "
        f"{result.captions} captions: {result.computed} embedded, {result.cached} from the cache",
        markup=False,
    )
