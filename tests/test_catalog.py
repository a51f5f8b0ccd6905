from __future__ import annotations

import json
from pathlib import Path

import pytest

from fomo_order.catalog import DEFAULT_QUERY, DEFAULT_TEMPLATE, load_catalog
from fomo_order.errors import InputError
from tests.conftest import DEMO_CATALOG, shared_path, write_json


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_directory_catalog_keeps_file_order_and_codepoint_dataset_order(small_catalog: Path) -> None:
    catalog = load_catalog(small_catalog)
    assert catalog.dataset_names == ["ALPHA", "BETA", "gamma"]
    assert catalog.concept_ids[:2] == ["ALPHA+++a0", "ALPHA+++a1"]
    assert len(catalog) == 10
    assert catalog.datasets[0].templates == (DEFAULT_TEMPLATE,)
    assert catalog.datasets[0].query == DEFAULT_QUERY


def test_years_and_templates_files_add_and_override(small_catalog: Path, tmp_path: Path) -> None:
    years = write(tmp_path / "years.yaml", "ALPHA: 2001\nBETA: 2002\nUNUSED: 1999\n")
    templates = write_json(tmp_path / "t.json", {"BETA": ["a {} photo", "the {}"]})
    catalog = load_catalog(small_catalog, years=years, templates=templates)
    assert [d.year for d in catalog.datasets] == [2001, 2002, None]
    assert catalog.datasets[1].captions("b0") == ["a b0 photo", "the b0"]
    assert str(years) in dict(catalog.files)


def test_demo_catalog_is_real_sized() -> None:
    catalog = load_catalog(DEMO_CATALOG)
    assert len(catalog.datasets) >= 5 and len(catalog) >= 500
    assert all(d.year is not None for d in catalog.datasets)
    cifar = next(d for d in catalog.datasets if d.name == "CIFAR100")
    assert "CIFAR100+++aquarium_fish" in catalog.concept_ids  # FoMo-in-Flux's spelling
    assert cifar.templates == ("A photo of a {}.",)


def test_catalog_file_with_inline_json_list_and_text_classes(tmp_path: Path) -> None:
    write_json(tmp_path / "lists" / "B.json", ["B+++x (y)", "B+++ünïcode, \"quoted\""])
    write(tmp_path / "lists" / "c.txt", "one\n\ntwo words\n")
    catalog_file = write(
        tmp_path / "catalog.yaml",
        "datasets:\n"
        "  - {name: A, year: 2000, classes: [cat, dog]}\n"
        "  - {name: B, classes_file: lists/B.json, template: 'a {} thing', query: '{} x'}\n"
        "  - {name: C, classes_file: lists/c.txt}\n",
    )
    catalog = load_catalog(catalog_file)
    assert catalog.concept_ids == [
        "A+++cat", "A+++dog", "B+++x (y)", 'B+++ünïcode, "quoted"', "C+++one", "C+++two words"
    ]
    assert catalog.datasets[1].query == "{} x"


def test_query_templates_may_slice_the_class_name_words(tmp_path: Path) -> None:
    entry = "{name: A, query: '{words[-2:]}', classes: [Animalia Lumbricus terrestris]}"
    path = write(tmp_path / "c.yaml", f"datasets:\n  - {entry}\n")
    assert load_catalog(path).datasets[0].query == "{words[-2:]}"
    bad = write(tmp_path / "bad.yaml", "datasets:\n  - {name: A, query: 'no slot', classes: [a]}\n")
    with pytest.raises(InputError, match="'query' must be a string with"):
        load_catalog(bad)


def test_datasets_selection_keeps_catalog_order(small_catalog: Path) -> None:
    catalog = load_catalog(small_catalog, datasets=["gamma", "ALPHA"])
    assert catalog.dataset_names == ["ALPHA", "gamma"]
    with pytest.raises(InputError, match="unknown dataset"):
        load_catalog(small_catalog, datasets=["NOPE"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("datasets: [", "malformed YAML at line"),
        ("datasets: []", "non-empty list"),
        ("datasets:\n  - {name: A, classes: [a], colour: red}", "unknown key 'colour'"),
        ("datasets:\n  - {classes: [a]}", "'name' must be"),
        ("datasets:\n  - {name: A}", "exactly one of 'classes' or 'classes_file'"),
        ("datasets:\n  - {name: A, classes: []}", "dataset is empty"),
        ("datasets:\n  - {name: A, classes: [a, 3]}", "list of strings"),
        ("datasets:\n  - {name: A, classes: ['x+++y']}", "contains '+++'"),
        ("datasets:\n  - {name: A, year: soon, classes: [a]}", "integer year"),
        ("datasets:\n  - {name: A, template: 'no slot', classes: [a]}", "has no '{}'"),
        ("datasets:\n  - {name: A, classes: [a, a]}", "duplicate concept"),
        ("datasets:\n  - {name: A, classes: [a]}\n  - {name: A, classes: [b]}", "appears more than once"),
        ("datasets:\n  - {name: A, classes_file: missing.txt}", "not found"),
        ("extra: 1\ndatasets:\n  - {name: A, classes: [a]}", "unknown top-level key"),
    ],
)
def test_bad_catalog_file_names_file_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "catalog.yaml", text)
    with pytest.raises(InputError) as error:
        load_catalog(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('["A+++a", ', "malformed JSON at line 1"),
        ('{"A": 1}', "list of strings"),
        ('["A+++a", 7]', "list of strings"),
        ("[]", "is empty"),
        ('["A+++a+++b"]', "does not split into one dataset and one class name"),
        ('["OTHER+++a"]', "names dataset 'OTHER'"),
        ('["A+++a", "A+++a"]', "duplicate concept"),
    ],
)
def test_bad_directory_list(tmp_path: Path, content: str, message: str) -> None:
    list_file = write(tmp_path / "lists" / "A.json", content)
    with pytest.raises(InputError) as error:
        load_catalog(tmp_path / "lists")
    assert message in str(error.value)
    assert str(error.value).startswith(str(tmp_path / "lists")) or str(list_file) in str(error.value)


def test_missing_catalog_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="catalog not found"):
        load_catalog(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no <DATASET>\.json"):
        load_catalog(tmp_path / "empty")


def test_real_fomo_in_flux_catalog_loads() -> None:
    datasets = shared_path("fif", "datasets")
    catalog = load_catalog(
        datasets, years=shared_path("fif", "years.json"), templates=shared_path("fif", "primers.json")
    )
    assert len(catalog.datasets) == 41 and len(catalog) == 18381
    assert not catalog.datasets_without_year()
    assert catalog.dataset_names[-1] == "iNATURALIST2021"


def test_catalog_marks_only_an_unwritten_template_as_the_default(run_cli, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "datasets:\n"
        "  - {name: WRITTEN, template: 'A photo of a {}.', classes: [a, b]}\n"
        "  - {name: LEFT, classes: [c]}\n",
        encoding="utf-8",
    )
    rows = {row["name"]: row for row in json.loads(run_cli("catalog", catalog, "--json").stdout)["datasets"]}
    assert rows["WRITTEN"]["default_template"] is False and rows["LEFT"]["default_template"] is True
    table = run_cli("catalog", catalog).stdout
    written = next(line for line in table.splitlines() if "WRITTEN" in line)
    left = next(line for line in table.splitlines() if "LEFT" in line)
    assert "(default)" not in written and "(default)" in left
    # a templates file writes them too
    templates = tmp_path / "templates.json"
    templates.write_text(json.dumps({"LEFT": "A photo of a {}."}), encoding="utf-8")
    rows = json.loads(run_cli("catalog", catalog, "--templates", templates, "--json").stdout)["datasets"]
    assert not any(row["default_template"] for row in rows)
