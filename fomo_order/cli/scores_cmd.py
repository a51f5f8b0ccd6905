"""``fomo-order proxy-scores``: text-margin scores for the performance ordering, from embeddings."""

from __future__ import annotations

from pathlib import Path

import typer

from fomo_order.cli import CATALOG_HELP, app, command_line, console, dataset_names


@app.command(
    "proxy-scores", short_help="Text-margin per-concept scores for the performance ordering, from embeddings."
)
def proxy_scores_command(
    ctx: typer.Context,
    catalog: Path = typer.Argument(
        ..., help=CATALOG_HELP, show_default=False
    ),
    embeddings: Path = typer.Option(..., help="Embeddings .npy from `fomo-order embed` (with its sidecar)."),
    out: Path = typer.Option(
        ..., "-o", "--output", help="Scores file to write: {\"scores\": {concept id: score}} (and its .meta.json)."
    ),
    datasets: str | None = typer.Option(None, help="Comma-separated datasets to keep (default: all)."),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 0 if OUT (and its meta) are current, 1 if not."
    ),
) -> None:
    """Write a stand-in for per-concept accuracy: each concept's text margin, 1 - the cosine similarity
    to the nearest other class of its dataset (higher = easier to tell apart). Feed it to
    `order performance --scores` when you have no reference model's per-concept scores."""
    from fomo_order.catalog import load_catalog
    from fomo_order.embeddings import embeddings_for, sidecar_path
    from fomo_order.scores import text_margin_scores
    from fomo_order.streams import base_meta, emit, input_record

    selected = dataset_names(datasets)
    cat = load_catalog(catalog, datasets=selected)
    vectors = embeddings_for(embeddings, cat.concept_ids)
    scores = text_margin_scores(cat, vectors)
    meta = base_meta(
        "proxy-scores",
        argv=command_line(ctx),
        score="text margin: 1 - max cosine similarity to another class of the same dataset (higher = easier)",
        concepts=len(cat),
        inputs={
            "catalog": {"path": str(catalog), "sha256": cat.sha256()},
            "embeddings": input_record(embeddings),
            "embeddings_sidecar": input_record(sidecar_path(embeddings)),
        },
    )
    payload = {"scores": {cid: round(float(s), 6) for cid, s in zip(cat.concept_ids, scores, strict=True)}}
    emit(out, payload, meta, check)
    console.print(f"{out}: text-margin scores of {len(cat)} concepts {'are current' if check else 'written'}")
