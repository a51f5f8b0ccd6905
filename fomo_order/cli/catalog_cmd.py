"""``fomo-order catalog``: validate a catalog and show what each ordering has to work with."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

from fomo_order.cli.app import app
from fomo_order.cli.options import CatalogArgument, Datasets, Templates, Years, dataset_names, flag

if TYPE_CHECKING:
    from rich.console import JustifyMethod


@app.command("catalog", short_help="Validate a catalog; show its datasets and what each ordering lacks.")
def catalog_command(
    catalog: CatalogArgument,
    years: Years = None,
    templates: Templates = None,
    datasets: Datasets = None,
    as_json: Annotated[bool, flag("--json", help="Print the summary as JSON instead of a table.")] = False,
) -> None:
    """Validate CATALOG and print each dataset: concepts, year, caption template(s), query template,
    and what is missing for which ordering. Exit 2 on an invalid catalog."""
    from fomo_order.catalog import load_catalog, summarize

    selected = dataset_names(datasets)
    summary = summarize(load_catalog(catalog, years=years, templates=templates, datasets=selected))
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=4))
        return
    _print_table(summary)


def _print_table(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    title = f"{summary['source']}: {summary['concepts']} concepts in {len(summary['datasets'])} datasets"
    table = Table(title=Text(title))
    columns: list[tuple[str, JustifyMethod]] = [
        ("dataset", "left"), ("concepts", "right"), ("year", "right"), ("template", "left"), ("query", "left"),
    ]
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for row in summary["datasets"]:
        table.add_row(  # user text is never read as rich markup
            Text(row["name"]),
            str(row["concepts"]),
            "-" if row["year"] is None else str(row["year"]),
            Text(" | ".join(row["templates"]) + (" (default)" if row["default_template"] else "")),
            Text(row["query"]),
        )
    console = Console(highlight=False, soft_wrap=False)
    console.print(table)
    if not summary["missing"]:
        console.print("Every ordering has what it needs from the catalog.")
    for ordering, names in summary["missing"].items():
        console.print(f"{ordering}: {len(names)} dataset(s) without a year: {', '.join(names)}", markup=False)
    for note in summary["notes"]:
        console.print(note, markup=False)
