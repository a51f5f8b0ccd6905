"""FoMo-in-Flux is the client: its catalog ships in configs/fif, every committed stream loads in its loader
(every id is one of its concept ids), the dataset-chunked time order is the released one, reversals are
made from the forward stream, and `fif-overrides` prints the overrides that reproduce `split`'s tasks."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from fomo_order.catalog import load_catalog
from fomo_order.fif import FIF_HANDLES
from fomo_order.orderings import make_order
from fomo_order.split import by_dataset_sizes, cut, tasks_sizes
from tests.conftest import REPO, run_subprocess, shared_path, write_json

FIF_CATALOG = REPO / "configs" / "fif" / "catalog.yaml"
STREAMS = REPO / "streams"


@pytest.fixture(scope="module")
def fif():
    return load_catalog(FIF_CATALOG)


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def committed_streams() -> list[Path]:
    """Stream files: those whose meta says `order` or `reverse` made them."""
    found = []
    for meta_file in sorted(STREAMS.glob("*.meta.json")):
        if read(meta_file).get("command") in ("order", "reverse"):
            found.append(meta_file.with_name(meta_file.name.removesuffix(".meta.json") + ".json"))
    return found


def test_the_fif_catalog_has_the_41_adaptation_datasets(fif) -> None:
    assert len(fif.datasets) == 41 and len(fif) == 18_381
    assert fif.dataset_names[:3] == ["FLOWERS102", "CIFAR100", "SUN397"]
    assert all(d.year is not None for d in fif.datasets)
    years = [d.year for d in fif.datasets]
    assert years == sorted(years)  # FoMo-in-Flux's order is by year group
    assert set(fif.dataset_names) == set(FIF_HANDLES)
    # evaluation-only datasets never appear in FoMo-in-Flux's streams
    assert not {"CALTECH101", "GTSRB", "SVHN", "OXFORDPETS"} & set(fif.dataset_names)


def test_the_fif_catalog_equals_the_reference_data(fif) -> None:
    root = shared_path("fif")
    reference = json.loads((root / "fif-datasets.json").read_text(encoding="utf-8"))
    assert fif.dataset_names == [d["name"] for d in reference]
    assert {d.name: d.year for d in fif.datasets} == {d["name"]: d["year"] for d in reference}
    assert {d.name: d.templates for d in fif.datasets} == {d["name"]: (d["template"],) for d in reference}
    assert {d["name"]: d["handle"] for d in reference} == FIF_HANDLES
    ids = [i for d in reference for i in json.loads((root / "datasets" / f"{d['name']}.json").read_text("utf-8"))]
    assert fif.concept_ids == ids


def test_no_product_file_refers_to_shared() -> None:
    product = [REPO / "README.md", REPO / "Makefile", REPO / "pyproject.toml"]
    product += list((REPO / "fomo_order").rglob("*.py")) + list((REPO / "configs").rglob("*.*"))
    offenders = [p for p in product if "../shared" in p.read_text(encoding="utf-8", errors="replace")]
    assert offenders == []


def test_every_committed_stream_loads_in_fomo_in_flux(fif) -> None:
    known = set(fif.concept_ids)
    streams = committed_streams()
    assert len(streams) >= 50
    for path in streams:
        unknown = [c for c in read(path) if c not in known]
        assert unknown == [], f"{path.name}: {len(unknown)} ids FoMo-in-Flux does not know, e.g. {unknown[:3]}"


def test_the_demo_catalog_is_a_subset_of_the_fif_catalog(fif) -> None:
    demo = load_catalog(REPO / "configs" / "demo" / "catalog.yaml")
    assert set(demo.concept_ids) <= set(fif.concept_ids)
    by_name = {d.name: d for d in fif.datasets}
    for dataset in demo.datasets:
        assert dataset == by_name[dataset.name]


@pytest.mark.parametrize("name", ["performance", "frequency", "time", "dataset", "random"])
def test_every_ordering_of_the_fif_catalog_gives_fif_ids(fif, name: str) -> None:
    values = np.random.default_rng(0).random(len(fif))
    inputs = {"performance": {"scores": values}, "frequency": {"frequencies": values}}.get(name, {})
    stream = [fif.concept_ids[i] for i in make_order(name, fif, seed=1, **inputs).order]
    assert sorted(stream) == sorted(fif.concept_ids)


def dataset_sequence(stream: list[str]) -> list[str]:
    sequence: list[str] = []
    for concept in stream:
        dataset = concept.split("+++")[0]
        if not sequence or sequence[-1] != dataset:
            sequence.append(dataset)
    return sequence


def test_dataset_chunked_time_order_is_the_released_one(fif) -> None:
    """FoMo-in-Flux's time_incremental_dschunked_1..5: one dataset sequence (years ascending, datasets of
    a year in FoMo-in-Flux's order) for every seed, the concepts shuffled inside each dataset."""
    inside = {}
    for seed in range(1, 6):
        stream = [fif.concept_ids[i] for i in make_order("time", fif, seed=seed, within_year="by-dataset").order]
        assert dataset_sequence(stream) == fif.dataset_names
        for dataset in fif.datasets:
            block = [c for c in stream if c.startswith(dataset.name + "+++")]
            assert sorted(block) == sorted(f"{dataset.name}+++{c}" for c in dataset.classes)
            inside.setdefault(dataset.name, set()).add(tuple(block))
    # shuffled, and differently per seed (a dataset of 7 concepts too: 7! orders)
    assert all(len(orders) == 5 for orders in inside.values())


def test_rsagg_time_order_shuffles_concepts_of_a_year_together(fif) -> None:
    stream = [fif.concept_ids[i] for i in make_order("time", fif, seed=1).order]
    years = {d.name: d.year for d in fif.datasets}
    in_order = [years[c.split("+++")[0]] for c in stream]
    assert in_order == sorted(in_order)
    assert len(dataset_sequence(stream)) > 1000  # datasets of one year interleave


def test_the_old_by_dataset_variant_has_its_own_name(fif) -> None:
    sequences = set()
    for seed in range(1, 4):
        order = make_order("time", fif, seed=seed, within_year="by-dataset-shuffled").order
        stream = [fif.concept_ids[i] for i in order]
        sequence = dataset_sequence(stream)
        assert len(sequence) == 41
        sequences.add(tuple(sequence))
        cifar = [c for c in stream if c.startswith("CIFAR100+++")]
        assert cifar == [f"CIFAR100+++{c}" for c in fif.datasets[1].classes]  # catalog order inside
    assert len(sequences) == 3


# -- reversals from the forward stream ----------------------------------------------------------------


def test_reverse_gives_the_bytes_of_order_reverse(run_cli, tmp_path: Path) -> None:
    catalog = REPO / "configs" / "demo" / "catalog.yaml"
    forward, by_order, by_reverse = tmp_path / "f.json", tmp_path / "o.json", tmp_path / "r.json"
    assert run_cli("order", "random", catalog, "--seed", 3, "-o", forward).exit_code == 0
    assert run_cli("order", "random", catalog, "--seed", 3, "--reverse", "-o", by_order).exit_code == 0
    result = run_cli("reverse", forward, "-o", by_reverse)
    assert result.exit_code == 0, result.stderr
    assert by_reverse.read_bytes() == by_order.read_bytes()
    meta = read(tmp_path / "r.meta.json")
    assert meta["command"] == "reverse" and meta["strategy"] == "random" and meta["seed"] == 3
    assert meta["reverse"] is True and meta["inputs"]["stream"]["path"] == str(forward)
    assert run_cli("reverse", forward, "-o", by_reverse, "--check").exit_code == 0
    # reversing a reversal gives the forward stream back
    again = tmp_path / "again.json"
    assert run_cli("reverse", by_reverse, "-o", again).exit_code == 0
    assert again.read_bytes() == forward.read_bytes() and read(tmp_path / "again.meta.json")["reverse"] is False
    # the forward stream changes: --check says the reversal is out of date
    run_cli("order", "random", catalog, "--seed", 4, "-o", forward)
    assert run_cli("reverse", forward, "-o", by_reverse, "--check").exit_code == 1


def test_reverse_of_a_bad_stream_is_one_line(run_cli, tmp_path: Path) -> None:
    bad = write_json(tmp_path / "bad.json", {"not": "a list"})
    out = tmp_path / "out.json"
    result = run_cli("reverse", bad, "-o", out)
    assert result.exit_code == 2 and str(bad) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


# -- fif-overrides -------------------------------------------------------------------------------------


def test_fif_overrides_for_tasks(run_cli, tmp_path: Path) -> None:
    stream = write_json(tmp_path / "s.json", [f"CIFAR100+++c{i}" for i in range(10)] + ["DTD+++banded"])
    result = run_cli("fif-overrides", stream, "--tasks", 4)
    assert result.exit_code == 0, result.stderr
    assert shlex.split(result.stdout) == [f"experiment.dataset.sequence={stream.resolve()}", "experiment.task.num=4"]
    assert len(result.stdout.strip().splitlines()) == 1
    # FoMo-in-Flux cuts N concepts into T tasks as split does
    assert tasks_sizes(11, 4) == [3, 3, 3, 2]
    result = run_cli("fif-overrides", stream, "--tasks", 12)
    assert result.exit_code == 2 and "between 1 and the stream's 11 concepts" in result.stderr


def test_fif_overrides_by_dataset_lists_handles_in_stream_order(run_cli, tmp_path: Path) -> None:
    ids = ["SNAKECLEF+++a", "SNAKECLEF+++b", "CIFAR100+++apple", "DOMAINNET_CLIPART+++x"]
    stream = write_json(tmp_path / "with space.json", ids)
    result = run_cli("fif-overrides", stream, "--by-dataset")
    assert result.exit_code == 0, result.stderr
    assert shlex.split(result.stdout) == [
        "experiment.dataset.sequence=null",
        "experiment.dataset.name=[snake_clef,cifar100,domainnet_clipart]",
        "experiment.task.dataset_incremental=True",
    ]
    # as many FoMo-in-Flux tasks as split --by-dataset makes
    assert len(cut(ids, by_dataset_sizes(ids))) == 3


@pytest.mark.parametrize(
    ("ids", "args", "message"),
    [
        (["CIFAR100+++a", "DTD+++b", "CIFAR100+++c"], ["--by-dataset"], "3 separate blocks"),
        (["CIFAR100+++a", "MYDATA+++b"], ["--by-dataset"], "without a FoMo-in-Flux handle: MYDATA"),
        (["CIFAR100+++a", "MYDATA+++b"], ["--tasks", "2"], "without a FoMo-in-Flux handle: MYDATA"),
        (["CIFAR100+++a", "CIFAR100+++b"], ["--increments", "1,1"], "cannot be expressed"),
        (["CIFAR100+++a", "CIFAR100+++b"], ["--increment", "1"], "cannot be expressed"),
        (["CIFAR100+++a", "CIFAR100+++b"], [], "exactly one of --tasks T or --by-dataset"),
        (["CIFAR100+++a", "CIFAR100+++b"], ["--tasks", "2", "--by-dataset"], "exactly one of"),
    ],
)
def test_fif_overrides_refuses_what_fomo_in_flux_cannot_express(run_cli, tmp_path, ids, args, message) -> None:
    stream = write_json(tmp_path / "s.json", ids)
    result = run_cli("fif-overrides", stream, *args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


# -- inputs too weak to order by ----------------------------------------------------------------------


def test_order_warns_when_many_concepts_tie(run_cli, small_catalog: Path, tmp_path: Path) -> None:
    catalog = load_catalog(small_catalog)
    out = tmp_path / "f.json"
    mostly_zero = {cid: (5 if i == 0 else 0) for i, cid in enumerate(catalog.concept_ids)}
    freqs = write_json(tmp_path / "zero.json", mostly_zero)
    result = run_cli("order", "frequency", small_catalog, "--frequencies", freqs, "-o", out)
    assert result.exit_code == 0
    assert "warning: 90.0% of the concepts (9 of 10) share the count 0" in result.stderr
    assert read(tmp_path / "f.meta.json")["details"]["ties"] == {"value": 0, "concepts": 9, "fraction": 0.9}
    distinct = write_json(tmp_path / "distinct.json", {cid: i for i, cid in enumerate(catalog.concept_ids)})
    result = run_cli("order", "frequency", small_catalog, "--frequencies", distinct, "-o", out)
    assert "warning" not in result.stderr and "ties" not in read(tmp_path / "f.meta.json").get("details", {})
    scores = write_json(tmp_path / "s.json", {cid: 0.5 for cid in catalog.concept_ids})
    result = run_cli("order", "performance", small_catalog, "--scores", scores, "-o", out)
    assert "share the score 0.5" in result.stderr


@pytest.mark.parametrize(("naming", "forward", "reversed_"), [("demo", 5, 5), ("fif", 5, 1)])
def test_make_runs_one_similarity_search_per_start_rank(tmp_path: Path, naming, forward, reversed_) -> None:
    """Reversals come from the forward streams (`fomo-order reverse`), never from a second search."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    catalog = "configs/fif/catalog.yaml" if naming == "fif" else "configs/demo/catalog.yaml"
    plan = subprocess.run(
        ["make", "-n", "-B", "streams", f"NAMING={naming}", f"CATALOG={catalog}", f"OUT={tmp_path}"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    searches = [line for line in plan if re.search(r"fomo-order order\s+similarity ", line)]
    assert len(searches) == forward and all("--reverse" not in line for line in searches)
    reversals = [line for line in plan if re.search(r"fomo-order reverse \S*/similarity_", line)]
    assert len(reversals) == reversed_


def test_reverse_stream_takes_a_stream_or_a_file_and_gives_the_cli_bytes(run_cli, tmp_path: Path) -> None:
    import fomo_order as fo

    catalog = REPO / "configs" / "demo" / "catalog.yaml"
    forward, by_cli = tmp_path / "f.json", tmp_path / "r.json"
    assert run_cli("order", "random", catalog, "--seed", 3, "-o", forward).exit_code == 0
    assert run_cli("reverse", forward, "-o", by_cli).exit_code == 0
    cli_meta = read(tmp_path / "r.meta.json")
    from_file = fo.reverse_stream(forward, argv=cli_meta["argv"])
    from_file.write(tmp_path / "api.json")
    assert (tmp_path / "api.json").read_bytes() == by_cli.read_bytes()
    assert (tmp_path / "api.meta.json").read_bytes() == (tmp_path / "r.meta.json").read_bytes()
    stream = fo.order(fo.load_catalog(catalog), "random", seed=3)
    from_stream = fo.reverse_stream(stream)
    by_order = fo.order(catalog, "random", seed=3, reverse=True)
    assert from_stream.concept_ids == from_file.concept_ids == by_order.concept_ids
    assert from_stream.meta["reverse"] is True and from_stream.meta["strategy"] == "random"
    assert from_stream.meta["inputs"]["stream"] == {"path": None, "sha256": cli_meta["inputs"]["stream"]["sha256"]}


def test_reverse_reads_standard_input_and_writes_standard_output(tmp_path: Path) -> None:
    forward = (REPO / "streams" / "random_seed1.json").read_text("utf-8")
    done = run_subprocess("reverse", "-", "-o", "-", stdin=forward, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(forward)[::-1] and list(tmp_path.iterdir()) == []
    done = run_subprocess("reverse", "-", "-o", tmp_path / "r.json", "-q", stdin=forward)
    assert done.returncode == 0 and done.stderr == ""
    meta = read(tmp_path / "r.meta.json")
    assert meta["inputs"]["stream"]["path"] == "-" and "strategy" not in meta  # standard input has no meta beside it


def test_fif_overrides_from_standard_input_only_by_dataset(tmp_path: Path) -> None:
    ids = json.dumps(["CIFAR100+++apple", "CIFAR100+++bee", "DTD+++banded"])
    refused = run_subprocess("fif-overrides", "-", "--tasks", 2, stdin=ids, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == "" and len(refused.stderr.strip().splitlines()) == 1
    assert "standard input has no file" in refused.stderr
    done = run_subprocess("fif-overrides", "-", "--by-dataset", stdin=ids, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "experiment.dataset.name=[cifar100,dtd]" in done.stdout and list(tmp_path.iterdir()) == []


def test_fif_overrides_rules_are_the_librarys(tmp_path: Path) -> None:
    import fomo_order as fo

    stream = ["CIFAR100+++a", "CIFAR100+++b"]
    for rule, parameter in (({"increments": [1, 1]}, "increments"), ({"increment": 1}, "increment"),
                            ({}, "tasks"), ({"tasks": 2, "by_dataset": True}, "tasks")):
        with pytest.raises(fo.ParameterError) as caught:
            fo.fif_overrides(stream, tmp_path / "s.json", **rule)
        assert caught.value.parameter == parameter and "--" not in caught.value.problem
    with pytest.raises(fo.InputError, match="standard input"):
        fo.fif_overrides(stream, None, tasks=2)


def test_fif_overrides_by_dataset_warns_where_fomo_in_flux_trains_other_classes(run_cli, tmp_path: Path) -> None:
    import fomo_order as fo

    dtd = [f"DTD+++{c}" for c in fo.load_catalog(FIF_CATALOG).select(["DTD"]).datasets[0].classes]
    partial = ["CIFAR100+++apple", "CIFAR100+++bee", *dtd]  # all of DTD, two of CIFAR100's 100 classes
    differences = fo.class_list_differences(partial, REPO / "configs" / "fif" / "datasets")
    assert [d.dataset for d in differences] == ["CIFAR100"]
    difference = differences[0]
    assert (difference.stream_concepts, difference.fif_concepts) == (2, 100)
    # compared in FoMo-in-Flux's order: its list starts apple, aquarium_fish, ...
    assert read(REPO / "configs" / "fif" / "datasets" / "CIFAR100.json")[:2] == ["CIFAR100+++apple",
                                                                                 "CIFAR100+++aquarium_fish"]
    assert (difference.first_difference, difference.stream_class, difference.fif_class) == (1, "bee", "aquarium_fish")
    stream = write_json(tmp_path / "s.json", partial)
    result = run_cli("fif-overrides", stream, "--by-dataset")
    assert result.exit_code == 0 and "experiment.dataset.name=[cifar100,dtd]" in result.stdout
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("warning: CIFAR100: FoMo-in-Flux trains its own 100 classes")
    assert "the stream has 2; first difference at class 2: stream 'bee', FoMo-in-Flux 'aquarium_fish'" in warnings[0]
    assert run_cli("fif-overrides", stream, "--by-dataset", "-q").stderr == ""
    # a stream of whole FoMo-in-Flux datasets: no warning
    whole = write_json(tmp_path / "whole.json", dtd)
    assert run_cli("fif-overrides", whole, "--by-dataset").stderr == ""


def test_fif_overrides_compares_with_a_fomo_in_flux_checkouts_own_class_names(run_cli, tmp_path: Path) -> None:
    """With --fif-root the warning reads what FoMo-in-Flux trains on: its data_lib/00_info/<NAME>_classnames.json
    (here a checkout whose CLEVR list has one class more than the released streams')."""
    import fomo_order as fo

    clevr = list(fo.load_catalog(FIF_CATALOG).select(["CLEVR"]).datasets[0].classes)
    info = tmp_path / "fomo_in_flux" / "data_lib" / "00_info"
    write_json(info / "CLEVR_classnames.json", [*clevr, "two cubes, one sphere"])
    stream = write_json(tmp_path / "s.json", [f"CLEVR+++{c}" for c in clevr])
    assert run_cli("fif-overrides", stream, "--by-dataset").stderr == ""  # configs/fif: the stream's own lists
    result = run_cli("fif-overrides", stream, "--by-dataset", "--fif-root", tmp_path / "fomo_in_flux")
    assert result.exit_code == 0
    assert result.stderr.strip() == (
        f"warning: CLEVR: FoMo-in-Flux trains its own {len(clevr) + 1} classes, the stream has {len(clevr)}; "
        f"first difference at class {len(clevr) + 1}: stream nothing, FoMo-in-Flux 'two cubes, one sphere'"
    )
    not_a_checkout = run_cli("fif-overrides", stream, "--by-dataset", "--fif-root", tmp_path)
    assert not_a_checkout.exit_code == 2
    assert not_a_checkout.stderr.startswith("error: --fif-root: ") and "not a FoMo-in-Flux checkout" in \
        not_a_checkout.stderr
