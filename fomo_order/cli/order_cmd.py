"""``fomo-order order``: write a stream file (and its ``.meta.json``) for one ordering."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from fomo_order.cli.app import app, command_line, console
from fomo_order.cli.options import (
    CatalogArgument,
    Check,
    Datasets,
    DeviceOption,
    Quiet,
    Seed,
    Templates,
    Years,
    flag,
    output,
)
from fomo_order.orderings import ORDERINGS
from fomo_order.orderings.basic import WithinYear
from fomo_order.similarity.search import Refine

# Every registered ordering is a strategy: adding one needs no change here.
if TYPE_CHECKING:  # a type checker cannot see members made at run time: to it, a str enum of unknown members

    class Strategy(str, Enum):
        pass

else:
    Strategy = Enum("Strategy", {name: name for name in ORDERINGS}, type=str)


@app.command("order")
def order_command(
    ctx: typer.Context,
    strategy: Annotated[
        Strategy, typer.Argument(help="Ordering: " + ", ".join(ORDERINGS) + ".", show_default=False)
    ],
    catalog: CatalogArgument,
    out: Annotated[Path, output("Stream file to write (JSON list of concept ids); `-` for standard output.")],
    seed: Seed = 0,
    reverse: Annotated[bool, flag("--reverse", help="Write the exact reversal of the ordering.")] = False,
    check: Check = False,
    years: Years = None,
    templates: Templates = None,
    datasets: Datasets = None,
    within_year: Annotated[
        WithinYear | None,
        typer.Option(
            "--within-year",
            help="time: `shuffle` concepts within a year (default; FoMo-in-Flux's rsagg streams), `by-dataset`: "
            "datasets contiguous in catalog order, concepts shuffled inside each (its dschunked streams), "
            "`by-dataset-shuffled`: datasets contiguous in seeded order, concepts in catalog order.",
        ),
    ] = None,
    frequencies: Annotated[
        Path | None,
        typer.Option(help="frequency: fetch-frequencies output, or a JSON/YAML map concept id -> count."),
    ] = None,
    scores: Annotated[
        Path | None, typer.Option(help="performance: JSON/YAML map concept id -> score (higher = easier).")
    ] = None,
    embeddings: Annotated[
        Path | None, typer.Option(help="similarity: embeddings .npy from `fomo-order embed` (with its .json sidecar).")
    ] = None,
    device: DeviceOption = None,
    start: Annotated[str | None, typer.Option(help="similarity: start the path at this concept id.")] = None,
    start_rank: Annotated[
        int | None,
        typer.Option("--start-rank", min=1, help="similarity: use the K-th best start (default 1, the paper's path)."),
    ] = None,
    refine: Annotated[
        Refine | None,
        typer.Option(help="similarity: improve the greedy path by 2-opt/Or-opt local search (default none)."),
    ] = None,
    starts: Annotated[
        str | None,
        typer.Option(
            help="similarity: `all` (default, the exact search) or K: the best path from K spread-out starts "
            "chosen from the seed; the meta records the gap to the spanning-tree bound.",
            show_default=False,
        ),
    ] = None,
    quiet: Quiet = False,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address", help="similarity: run the walks on the Ray cluster at ADDRESS, or `local` (same path)."
        ),
    ] = None,
) -> None:
    """Order the concepts of CATALOG and write a FoMo-in-Flux stream file.

    Writes OUT (a JSON list of `"<dataset>+++<class name>"`) and OUT's .meta.json (strategy, parameters,
    seed, input sha256s, tool version). Exit codes: 0 done, 1 --check found a difference, 2 bad input.
    """
    from fomo_order.catalog import load_catalog
    from fomo_order.cli.options import dataset_names
    from fomo_order.cli.progress import reporter
    from fomo_order.orderings.api import order

    to_stdout = str(out) == "-"
    cat = load_catalog(catalog, years=years, templates=templates, datasets=dataset_names(datasets))
    stream = order(
        cat,
        strategy.value,
        seed=seed,
        reverse=reverse,
        frequencies=frequencies,
        scores=scores,
        embeddings=embeddings,
        within_year=within_year,
        start=start,
        start_rank=start_rank,
        refine=refine,
        starts=_starts_option(starts),
        device=device,
        ray_address=ray_address,
        argv=command_line(ctx, leave_out=("check", "quiet")),
        reporter=reporter(quiet),
    )
    stream.write(out, check=check)
    ties = stream.details.get("ties")
    if ties:
        what = "score" if strategy.value == "performance" else "count"
        console.print(
            Text(
                f"warning: {ties['fraction']:.1%} of the concepts ({ties['concepts']} of {len(stream.concept_ids)}) "
                f"share the {what} {ties['value']}; their order is the seeded tie-break, not the input"
            )
        )
    if quiet:
        return
    if to_stdout:
        console.print("note: the stream went to standard output; its meta was not written", markup=False)
    else:
        verb = "is current" if check else "written"
        console.print(
            Text(f"{out}: {strategy.value} stream of {len(stream.concept_ids)} concepts "
                 f"from {len(stream.meta['datasets'])} datasets {verb}")
        )


def _starts_option(value: str | None) -> int | None:
    """``--starts all`` (the exact search) -> None; ``--starts K`` -> K."""
    from fomo_order.errors import InputError

    if value is None or value == "all":
        return None
    if not value.isdigit() or int(value) < 1:
        raise InputError("--starts", f"expected 'all' or a positive number of starts, got {value!r}")
    return int(value)
