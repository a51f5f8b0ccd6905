"""``fomo-order embed``: write OUT.npy (one L2-normalised row per concept) and its OUT.json sidecar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fomo_order.cli.app import app, command_line, console
from fomo_order.cli.model_options import (
    CACHE_PARAMS,
    CacheDirOption,
    ModelConfigOption,
    NoCacheOption,
    PrecisionOption,
    PretrainedOption,
    cache_root,
)
from fomo_order.cli.options import (
    CatalogArgument,
    Check,
    Datasets,
    DeviceOption,
    Quiet,
    Templates,
    dataset_names,
    output,
)
from fomo_order.embeddings.settings import DEFAULT_BATCH_SIZE, Backend, Precision


@app.command("embed", short_help="Embed every concept's caption(s) with a text encoder: OUT.npy + OUT.json.")
def embed_command(
    ctx: typer.Context,
    catalog: CatalogArgument,
    out: Annotated[Path, output("Embeddings to write (.npy; the .json sidecar beside it).")],
    templates: Templates = None,
    datasets: Datasets = None,
    backend: Annotated[Backend, typer.Option(help="Text encoder library.")] = Backend.OPENCLIP,
    model: Annotated[
        str | None,
        typer.Option(
            help="openclip: model name (default ViT-L-14, or the --model-config file's stem); "
            "sentence-transformers: a model directory or name (default all-MiniLM-L6-v2, packaged, offline).",
            show_default=False,
        ),
    ] = None,
    pretrained: PretrainedOption = None,
    model_config: ModelConfigOption = None,
    device: DeviceOption = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Captions per batch.")] = DEFAULT_BATCH_SIZE,
    precision: PrecisionOption = Precision.FP32,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    check: Check = False,
    quiet: Quiet = False,
) -> None:
    """Embed every concept's caption(s) and write OUT.npy (float32, one unit row per concept, catalog
    order) and OUT.json (concept ids, model, weights, templates, captions sha256). Captions already in the
    cache are not recomputed. Exit codes: 0 done, 1 --check found a difference, 2 bad input.
    """
    from fomo_order.catalog import load_catalog
    from fomo_order.cli.progress import reporter
    from fomo_order.embeddings import EmbedSettings, embed

    settings = EmbedSettings(
        backend=backend,
        model=model,
        pretrained=pretrained,
        model_config=model_config,
        device=device,
        batch_size=batch_size,
        precision=precision,
    )
    cat = load_catalog(catalog, templates=templates, datasets=dataset_names(datasets))
    argv = command_line(ctx, leave_out=(*CACHE_PARAMS, "check", "quiet"))
    result = embed(cat, settings, cache_root=cache_root(cache_dir, no_cache), reporter=reporter(quiet), argv=argv)
    result.write(out, check=check)
    verb = "are current" if check else "written"
    console.print(
        Text(
            f"{out}: {result.matrix.shape[0]} concepts x {result.matrix.shape[1]} dims {verb}; "
            f"{result.captions} captions: {result.computed} embedded, {result.cached} from the cache"
        )
    )
