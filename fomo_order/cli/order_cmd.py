"""``fomo-order order``: write a stream file (and its ``.meta.json``) for one ordering."""

from __future__ import annotations

import inspect
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from fomo_order.cli import CATALOG_HELP, app, command_line, console, dataset_names
from fomo_order.errors import InputError
from fomo_order.orderings import ORDERINGS

# Every registered ordering is a strategy: adding one needs no change here.
STRATEGIES = tuple(ORDERINGS)
Strategy = Enum("Strategy", {name: name for name in STRATEGIES}, type=str)
WithinYear = Enum("WithinYear", {"shuffle": "shuffle", "by_dataset": "by-dataset"}, type=str)
Device = Enum("Device", {name: name for name in ("auto", "cpu", "cuda")}, type=str)
Refine = Enum("Refine", {"none": "none", "two_opt": "2opt"}, type=str)


@app.command("order")
def order_command(
    ctx: typer.Context,
    strategy: Strategy = typer.Argument(
        ..., help="Ordering: " + ", ".join(STRATEGIES) + ".", show_default=False
    ),
    catalog: Path = typer.Argument(
        ..., help=CATALOG_HELP, show_default=False
    ),
    out: Path = typer.Option(..., "-o", "--output", help="Stream file to write (JSON list of concept ids)."),
    seed: int = typer.Option(0, help="Seed for shuffles and tie-breaking."),
    reverse: bool = typer.Option(False, "--reverse", help="Write the exact reversal of the ordering."),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 0 if OUT (and its meta) are current, 1 if not."
    ),
    years: Path | None = typer.Option(None, help="JSON/YAML map dataset -> release year (adds to / overrides)."),
    templates: Path | None = typer.Option(
        None, help="JSON/YAML map dataset -> caption template or list of templates (adds to / overrides)."
    ),
    datasets: str | None = typer.Option(None, help="Comma-separated datasets to keep (default: all)."),
    within_year: WithinYear | None = typer.Option(
        None,
        "--within-year",
        help="time: shuffle concepts within a year (default), or keep datasets contiguous in seeded order.",
    ),
    frequencies: Path | None = typer.Option(
        None, help="frequency: fetch-frequencies output, or a JSON/YAML map concept id -> count."
    ),
    scores: Path | None = typer.Option(None, help="performance: JSON/YAML map concept id -> score (higher = easier)."),
    embeddings: Path | None = typer.Option(
        None, help="similarity: embeddings .npy from `fomo-order embed` (with its .json sidecar)."
    ),
    device: Device | None = typer.Option(
        None, help="similarity: where to search (default auto)."
    ),
    start: str | None = typer.Option(None, help="similarity: start the path at this concept id."),
    start_rank: int | None = typer.Option(
        None, "--start-rank", min=1, help="similarity: use the K-th best start (default 1, the paper's path)."
    ),
    refine: Refine | None = typer.Option(
        None,
        help="similarity: improve the greedy path by 2-opt/Or-opt local search (default none).",
    ),
    starts: str | None = typer.Option(
        None,
        help="similarity: `all` (default, the exact search) or K: the best path from K spread-out starts "
        "drawn from the seed; the meta records the spanning-tree bound and the gap.",
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="similarity: run the walks on the Ray cluster at ADDRESS, or `local` (same path)."
    ),
) -> None:
    """Order the concepts of CATALOG and write a FoMo-in-Flux stream file.

    Writes OUT (a JSON list of `"<dataset>+++<class name>"`) and OUT's .meta.json (strategy, parameters,
    seed, input sha256s, tool version). Exit codes: 0 done, 1 --check found a difference, 2 bad input.
    """
    from fomo_order.catalog import load_catalog
    from fomo_order.orderings import make_order
    from fomo_order.streams import base_meta, emit

    strategy = strategy.value
    given: dict[str, Any] = {
        "within_year": within_year and within_year.value,
        "frequencies": frequencies,
        "scores": scores,
        "embeddings": embeddings,
        "device": device and device.value,
        "start": start,
        "start_rank": start_rank,
        "refine": refine and refine.value,
        "starts": _starts_option(starts),
        "ray_address": ray_address,
    }
    flag_of = {"frequencies": "counts", "scores": "scores", "embeddings": "embeddings"}
    ordering = ORDERINGS[strategy]
    accepted = {flag for flag, name in flag_of.items() if name in ordering.requires} | set(ordering.options)
    for name, value in given.items():
        if value is not None and name not in accepted:
            raise InputError(f"--{name.replace('_', '-')}", f"is not used by the {strategy} ordering")
    for flag, name in flag_of.items():
        if name in ordering.requires and given[flag] is None:
            raise InputError(f"--{flag}", f"the {strategy} ordering needs --{flag} FILE")
    if start is not None and start_rank is not None:
        raise InputError("--start", "give --start or --start-rank, not both")

    selected = dataset_names(datasets)
    cat = load_catalog(catalog, years=years, templates=templates, datasets=selected)
    inputs, input_files = _load_inputs(strategy, cat, given)
    defaults = inspect.signature(ordering.func).parameters
    parameters = {
        name: given[name] if given[name] is not None else defaults[name].default for name in ordering.options
    }
    options = {name: value for name, value in parameters.items() if value is not None}
    if start is not None:
        if start not in cat.index_of:
            raise InputError("--start", f"{start!r} is not a concept of the catalog")
        options["start"] = cat.index_of[start]
    result = make_order(strategy, cat, seed=seed, reverse=reverse, **inputs, **options)

    concept_ids = cat.concept_ids
    stream = [concept_ids[i] for i in result.order]
    meta = base_meta(
        "order",
        argv=command_line(ctx),
        strategy=strategy,
        seed=seed,
        reverse=reverse,
        # The device and the Ray address are left out: they give the same path, so the meta must not differ
        # either; `starts` only when sampled, so that exact streams keep their meta.
        parameters={"datasets": selected, **{k: v for k, v in parameters.items()
                                             if k not in ("device", "ray_address") and (k, v) != ("starts", None)}},
        concepts=len(stream),
        datasets=cat.dataset_names,
        inputs={
            "catalog": {"path": str(catalog), "sha256": cat.sha256()},
            "files": {path: digest for path, digest in cat.files},
            **input_files,
        },
        details=result.details,
    )
    emit(out, stream, meta, check)
    verb = "is current" if check else "written"
    console.print(f"{out}: {strategy} stream of {len(stream)} concepts from {len(cat.datasets)} datasets {verb}")


def _starts_option(value: str | None) -> int | None:
    """``--starts all`` (the exact search) -> None; ``--starts K`` -> K."""
    if value is None or value == "all":
        return None
    if not value.isdigit() or int(value) < 1:
        raise InputError("--starts", f"expected 'all' or a positive number of starts, got {value!r}")
    return int(value)


def _load_inputs(strategy: str, catalog: Any, given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read the files an ordering needs, matched to the catalog by concept id."""
    from fomo_order.streams import input_record

    concept_ids = catalog.concept_ids
    inputs: dict[str, Any] = {}
    files: dict[str, Any] = {}
    if given["frequencies"] is not None:
        from fomo_order.values import read_counts

        inputs["counts"] = read_counts(given["frequencies"], concept_ids)
        files["frequencies"] = input_record(given["frequencies"])
    if given["scores"] is not None:
        from fomo_order.values import read_scores

        inputs["scores"] = read_scores(given["scores"], concept_ids)
        files["scores"] = input_record(given["scores"])
    if given["embeddings"] is not None:
        from fomo_order.embeddings import embeddings_for, sidecar_path

        inputs["embeddings"] = embeddings_for(given["embeddings"], concept_ids)
        files["embeddings"] = input_record(given["embeddings"])
        files["embeddings_sidecar"] = input_record(sidecar_path(given["embeddings"]))
    return inputs, files
