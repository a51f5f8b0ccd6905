"""The Python API: the README's example runs and gives the CLI's bytes; the library speaks in parameters
(no flags, no Typer or rich below the CLI); errors name the parameter and the CLI shows its flag."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest

import fomo_order as fo
from tests.conftest import REPO, run_python_example

LIBRARY = [p for p in (REPO / "fomo_order").rglob("*.py") if "cli" not in p.relative_to(REPO / "fomo_order").parts]


def test_the_readme_example_runs_and_writes_the_cli_bytes(tmp_path: Path, monkeypatch, capsys) -> None:
    namespace = run_python_example(REPO / "README.md", tmp_path, monkeypatch, after="## Python API")
    written = tmp_path / "out" / "time-by-dataset_seed1.json"
    assert written.read_bytes() == (REPO / "streams" / "time-by-dataset_seed1.json").read_bytes()
    committed = fo.read_stream(REPO / "streams" / "similarity_start1.json")
    assert namespace["similar"].concept_ids == committed
    assert len(namespace["tasks"]) == 20
    assert "experiment.task.num=20" in capsys.readouterr().out


def test_every_public_name_resolves() -> None:
    for name in fo.__all__:
        assert getattr(fo, name) is not None


def test_the_library_speaks_in_parameters_not_flags() -> None:
    flag = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
    offenders = []
    for path in LIBRARY:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            literal = isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            if literal and flag.search(node.value):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value[:60]!r}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(n.split(".")[0] in ("typer", "rich", "click") for n in names):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: imports {names}")
    assert offenders == []


def test_library_errors_name_the_parameter_and_the_cli_shows_the_flag(run_cli, tmp_path: Path) -> None:
    catalog = fo.load_catalog(REPO / "configs" / "demo" / "catalog.yaml")
    with pytest.raises(fo.ParameterError) as caught:
        fo.order(catalog, "similarity", embeddings=np.eye(len(catalog), 8, dtype=np.float32) + 0.1, start_rank=0)
    assert caught.value.parameter == "start_rank" and "--" not in caught.value.problem
    with pytest.raises(fo.ParameterError) as caught:
        fo.order(catalog, "random", within_year="shuffle")
    assert caught.value.parameter == "within_year" and "not used by the random ordering" in caught.value.problem
    with pytest.raises(fo.ParameterError) as caught:
        fo.order(catalog, "frequency")
    assert caught.value.parameter == "frequencies"
    result = run_cli("order", "frequency", REPO / "configs" / "demo" / "catalog.yaml", "-o", tmp_path / "f.json")
    assert result.exit_code == 2 and "--frequencies: the frequency ordering needs frequency counts" in result.stderr
    result = run_cli("order", "random", REPO / "configs" / "demo" / "catalog.yaml", "-o", tmp_path / "r.json",
                     "--within-year", "shuffle")
    assert result.exit_code == 2 and "--within-year: is not used by the random ordering" in result.stderr


def test_inputs_as_arrays_maps_or_files_give_the_same_stream(tmp_path: Path) -> None:
    catalog = fo.load_catalog(REPO / "configs" / "demo" / "catalog.yaml")
    scores = np.random.default_rng(0).random(len(catalog))
    as_map = dict(zip(catalog.concept_ids, scores.tolist(), strict=True))
    path = tmp_path / "scores.json"
    fo.write_scores(path, as_map, {"command": "test"})
    from_array = fo.order(catalog, "performance", scores=np.round(scores, 6))
    from_map = fo.order(catalog, "performance", scores={k: round(v, 6) for k, v in as_map.items()})
    from_file = fo.order(catalog, "performance", scores=path)
    assert from_array.concept_ids == from_map.concept_ids == from_file.concept_ids
    assert from_file.meta["inputs"]["scores"]["path"] == str(path)
    with pytest.raises(fo.ParameterError, match="expected 821 values"):
        fo.order(catalog, "performance", scores=scores[:5])


def test_cli_conventions(run_cli, tmp_path: Path) -> None:
    catalog = REPO / "configs" / "demo" / "catalog.yaml"
    result = run_cli("order", "random", catalog, "--seed", 1, "-o", "-")
    assert result.exit_code == 0
    assert result.stdout.encode("utf-8") == (REPO / "streams" / "random_seed1.json").read_bytes()
    assert "its meta was not written" in result.stderr and not Path("-").exists()
    assert run_cli("-h").exit_code == 0 and "Usage" in run_cli("order", "-h").stdout
    help_text = run_cli("order", "--help").stdout
    for option in ("--reverse", "--check"):
        line = next(line for line in help_text.splitlines() if option in line)
        assert "<bool>" not in line  # shown as a flag: `--reverse true` is not how it is used
    assert "--install-completion" in run_cli("--help").stdout
    bad = run_cli("order", "random", catalog, "-o", tmp_path / "x.json", "--seed", "-1")
    assert bad.exit_code == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--seed" in bad.stderr


def test_the_library_speaks_frequencies_and_refuses_start_with_start_rank(tmp_path: Path) -> None:
    catalog = fo.load_catalog(REPO / "configs" / "demo" / "catalog.yaml")
    counts = {concept: float(i % 7) for i, concept in enumerate(catalog.concept_ids)}
    path = tmp_path / "counts.json"
    path.write_text(json.dumps(counts), encoding="utf-8")
    by_map = fo.order(catalog, "frequency", frequencies=counts)
    by_file = fo.order(catalog, "frequency", frequencies=path)
    assert by_map.concept_ids == by_file.concept_ids and by_file.meta["inputs"]["frequencies"]["path"] == str(path)
    embeddings = np.random.default_rng(0).normal(size=(len(catalog), 8)).astype(np.float32)
    with pytest.raises(fo.ParameterError) as caught:
        fo.order(catalog, "similarity", embeddings=embeddings, start=catalog.concept_ids[0], start_rank=2)
    assert caught.value.parameter == "start" and caught.value.problem == "give start or start_rank, not both"
    with pytest.raises(fo.ParameterError, match="proxy-scores") as caught:
        fo.order(catalog, "performance")
    assert caught.value.parameter == "scores"


def test_each_strategys_options_are_keyword_parameters_of_order() -> None:
    import inspect

    parameters = inspect.signature(fo.order).parameters
    from fomo_order.orderings import ORDERINGS

    for ordering in ORDERINGS.values():
        for name in (*ordering.requires, *ordering.options):
            if name != "reporter":
                assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def test_type_checkers_see_every_lazy_name() -> None:
    init = REPO / "fomo_order" / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    guarded = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    imported = {alias.name: node.module for node in guarded.body for alias in node.names}
    assert imported == fo._EXPORTS
    assert (REPO / "fomo_order" / "py.typed").is_file()
    assert '"py.typed"' in (REPO / "pyproject.toml").read_text(encoding="utf-8")  # shipped as package data


def test_notebook_sized_reprs() -> None:
    catalog = fo.load_catalog(REPO / "configs" / "fif" / "catalog.yaml")
    assert repr(catalog) == "Catalog('" + str(REPO / "configs" / "fif" / "catalog.yaml") + \
        "': 41 datasets, 18,381 concepts, years 2004-2023)" or len(repr(catalog)) < 200
    assert "41 datasets, 18,381 concepts" in repr(catalog) and len(repr(catalog)) < 200
    assert repr(catalog.datasets[1]) == "Dataset('CIFAR100': 100 classes, 2009)"
    table = catalog._repr_html_()
    assert table.count("<tr>") == 42 and "CIFAR100" in table
    stream = fo.order(catalog, "random", seed=1)
    text = repr(stream)
    assert text.startswith("Stream(random, seed 1, 18,381 concepts: ") and text.endswith(", ...)")
    assert text.count("+++") == 3 and len(text) < 300
    assert fo.reverse_stream(stream).__repr__().startswith("Stream(random, seed 1, reversed, 18,381 concepts")
    assert stream._repr_html_().count("<tr>") == 12  # header, 10 concepts, "... more"


@pytest.mark.parametrize(
    ("args", "modules", "line"),
    [
        (["order", "similarity", "CATALOG", "--embeddings", "streams/embeddings.npy", "--refine", "2opt", "-o", "OUT"],
         ("numba",),
         "error: order similarity needs the similarity extra: pip install 'fomo-order[similarity]'"),
        (["embed", "CATALOG", "-o", "OUT"], ("torch", "sentence_transformers", "open_clip"),
         "error: embed needs the embed extra: pip install 'fomo-order[embed]'"),
        (["report", "streams/random_seed1.json", "-o", "OUT.png"], ("matplotlib", "scipy"),
         "error: report needs the report extra: pip install 'fomo-order[report]'"),
        (["fetch-frequencies", "CATALOG", "--source", "wordfreq", "-o", "OUT"], ("wordfreq",),
         "error: fetch-frequencies needs the frequencies extra: pip install 'fomo-order[frequencies]'"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(tmp_path: Path, args: list[str], modules: tuple, line: str) -> None:
    from tests.conftest import run_subprocess

    catalog, out = str(REPO / "configs" / "demo" / "catalog.yaml"), str(tmp_path / "out.json")
    argv = [catalog if a == "CATALOG" else out if a == "OUT" else a for a in args]
    done = run_subprocess(*argv, unimportable=modules, env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == line and done.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_version_names_the_key_dependencies(run_cli) -> None:
    from importlib.metadata import version

    result = run_cli("--version")
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and lines[0] == f"fomo-order {fo.__version__}"
    for name in ("numpy", "typer", "rich"):
        assert f"{name} {version(name)}" in lines
    assert len(lines) <= 6


def test_the_core_commands_need_no_extra(tmp_path: Path) -> None:
    from fomo_order.cli.extras import EXTRA_MODULES
    from tests.conftest import run_subprocess

    heavy = tuple(sorted({module for modules in EXTRA_MODULES.values() for module in modules}))
    catalog, stream, tasks = REPO / "configs" / "demo" / "catalog.yaml", tmp_path / "s.json", tmp_path / "t.json"
    for args in (["--help"], ["catalog", catalog], ["order", "time", catalog, "-o", stream],
                 ["split", stream, "--tasks", 4, "-o", tasks], ["reverse", stream, "-o", tmp_path / "r.json"],
                 ["fif-overrides", stream, "--tasks", 4]):
        done = run_subprocess(*args, unimportable=heavy)
        assert done.returncode == 0, (args, done.stderr)
