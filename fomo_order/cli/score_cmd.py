"""``fomo-order score``: each concept's zero-shot score with an open_clip model on its own images, the
input of ``order performance --scores``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
from fomo_order.embeddings.settings import Precision
from fomo_order.scores.settings import DEFAULT_BATCH_SIZE, MAX_DEFAULT_WORKERS


@app.command(
    "score",
    short_help="Zero-shot score of every concept on its images (open_clip): SCORES.json for `order performance`.",
)
def score_command(
    ctx: typer.Context,
    catalog: CatalogArgument,
    out: Annotated[
        Path,
        output(
            'Scores file to write: {"scores": {concept id: score}, "images": {concept id: images}} (and .meta.json).'
        ),
    ],
    images: Annotated[
        Path,
        typer.Option(
            help="Image root: `ROOT/<dataset>/<class name>/<images>`, or with --fif-info the root the info files' "
            "paths are relative to.",
            show_default=False,
        ),
    ],
    fif_info: Annotated[
        Path | None,
        typer.Option(
            "--fif-info",
            help="FoMo-in-Flux info directory (`data_lib/00_info`): `<DATASET>_<split>.json` maps image paths to "
            "records with a `classname`.",
            show_default=False,
        ),
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="With --fif-info: test (default) or train.", show_default=False)
    ] = None,
    max_per_class: Annotated[
        int | None,
        typer.Option(
            "--max-per-class", help="Score at most K images per concept (a seeded sample).", show_default=False
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the --max-per-class sample.")] = 0,
    datasets: Datasets = None,
    templates: Templates = None,
    metric: Annotated[
        str,
        typer.Option(help="accuracy (top-1 zero-shot) or probability (mean softmax probability of the true class)."),
    ] = "accuracy",
    model: Annotated[
        str | None,
        typer.Option(
            help="open_clip model name (default ViT-L-14, or the --model-config file's stem).", show_default=False
        ),
    ] = None,
    pretrained: PretrainedOption = None,
    model_config: ModelConfigOption = None,
    device: DeviceOption = None,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", help="Images (and captions) per batch; image batches are whole multiples of 16."),
    ] = DEFAULT_BATCH_SIZE,
    precision: PrecisionOption = Precision.FP32,
    workers: Annotated[
        int | None,
        typer.Option(
            help=f"Image-decoding processes (default: the CPU count, at most {MAX_DEFAULT_WORKERS}; 0: decode in this "
            "process).",
            show_default=False,
        ),
    ] = None,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    check: Check = False,
    quiet: Quiet = False,
) -> None:
    """Classify every image zero-shot among its dataset's classes with an open_clip model (classifier:
    each class's caption embedding, templates averaged, as `embed` makes them) and write each concept's
    score: top-1 accuracy or mean true-class probability over its images. Unreadable images are skipped
    (counted in the meta, with a warning). Image features are cached by file content and model.
    Exit codes: 0 done, 1 --check differs, 2 bad input.
    """
    from fomo_order.catalog import load_catalog
    from fomo_order.cli.progress import reporter
    from fomo_order.embeddings import Backend, EmbedSettings
    from fomo_order.scores import ImageSource, score

    source = ImageSource(root=images, fif_info=fif_info, split=split)
    settings = EmbedSettings(
        backend=Backend.OPENCLIP,
        model=model,
        pretrained=pretrained,
        model_config=model_config,
        device=device,
        batch_size=batch_size,
        precision=precision,
    )
    cat = load_catalog(catalog, templates=templates, datasets=dataset_names(datasets))
    result = score(
        cat,
        source,
        settings,
        metric=metric,
        max_per_class=max_per_class,
        seed=seed,
        workers=workers,
        cache_root=cache_root(cache_dir, no_cache),
        reporter=reporter(quiet),
        argv=command_line(ctx, leave_out=("check", "workers", "quiet", *CACHE_PARAMS)),
    )
    result.write(out, check=check)
    tied = result.meta["tied_concepts"]
    if tied:
        hint = " (--metric probability has next to none)" if metric == "accuracy" else ""
        console.print(
            f"note: {tied} of {len(cat)} concepts share their score with another; "
            f"order performance breaks such ties by its seed{hint}",
            markup=False,
        )
    scored = sum(result.images.values()) if result.images is not None else 0
    console.print(
        f"{out}: {metric} of {len(cat)} concepts on {scored} images {'is current' if check else 'written'}; "
        f"{result.encoded} images encoded, {result.cached} from the cache, {len(result.skipped)} unreadable skipped",
        markup=False,
    )
