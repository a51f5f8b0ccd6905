"""`fomo-order export` handed to the real libraries: Continuum's ClassIncremental and Avalanche's nc_benchmark,
on synthetic datasets whose targets are the exported labels (one tiny sample per class). Every task /
experience must hold exactly the concepts of fomo-order's task."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

import fomo_order as fo
from tests.conftest import DEMO_CATALOG, REPO, write_json

FIF_CATALOG = REPO / "configs" / "fif" / "catalog.yaml"


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def make_tasks(run_cli, tmp_path: Path, catalog: Path, strategy: str, *split: object) -> Path:
    """A stream of ``catalog`` (written through the library) cut by `fomo-order split` with ``split``'s flags."""
    stream_file = tmp_path / f"{strategy}.json"
    fo.order(catalog, strategy, seed=3).write(stream_file)
    tasks_file = tmp_path / f"{strategy}_tasks.json"
    done = run_cli("split", stream_file, "-o", tasks_file, *split)
    assert done.exit_code == 0, done.output
    return tasks_file


def export(run_cli, tasks_file: Path, to: str, *flags: object) -> dict:
    out = tasks_file.with_name(f"{tasks_file.stem}_{to}.json")
    done = run_cli("export", tasks_file, "--to", to, "-o", out, *flags)
    assert done.exit_code == 0, done.output
    assert out.with_name(f"{out.stem}.meta.json").is_file()
    return read(out)


def continuum_tasks(document: dict) -> list[set[str]]:
    """The concepts of every Continuum task, built from the export file alone."""
    from continuum import ClassIncremental
    from continuum.datasets import InMemoryDataset

    concept_of = {label: concept for concept, label in document["labels"].items()}
    targets = np.array(sorted(concept_of), dtype=np.int64)
    x = np.zeros((len(targets), 1, 1, 3), dtype=np.uint8)
    kwargs = {key: value for key, value in document.items() if key != "labels"}
    scenario = ClassIncremental(InMemoryDataset(x, targets), **kwargs)
    # Continuum relabels the targets to their position in class_order; get_original_targets maps them back
    return [
        {concept_of[int(label)] for label in scenario.get_original_targets(task.get_classes())} for task in scenario
    ]


def avalanche_experiences(document: dict) -> list[set[str]]:
    """The concepts of every Avalanche experience, built from the export file alone."""
    import torch
    from avalanche.benchmarks import nc_benchmark
    from torch.utils.data import TensorDataset

    class Labelled(TensorDataset):
        def __init__(self, targets: torch.Tensor) -> None:
            super().__init__(torch.zeros(len(targets), 1), targets)
            self.targets = targets

    concept_of = {label: concept for concept, label in document["labels"].items()}
    dataset = Labelled(torch.tensor(sorted(concept_of), dtype=torch.long))
    kwargs = {key: value for key, value in document.items() if key != "labels"}
    kwargs["per_exp_classes"] = {int(key): size for key, size in kwargs["per_exp_classes"].items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        benchmark = nc_benchmark(dataset, dataset, task_labels=False, **kwargs)
    return [{concept_of[label] for label in exp.classes_in_this_experience} for exp in benchmark.train_stream]


@pytest.fixture(scope="module", autouse=True)
def libraries() -> None:
    pytest.importorskip("continuum", reason="the test extra installs continuum")
    pytest.importorskip("avalanche", reason="the test extra installs avalanche-lib")


def check_both(run_cli, tasks_file: Path, *flags: object) -> list[list[str]]:
    tasks = fo.read_tasks(tasks_file)
    wanted = [set(task) for task in tasks]
    assert continuum_tasks(export(run_cli, tasks_file, "continuum", *flags)) == wanted
    assert avalanche_experiences(export(run_cli, tasks_file, "avalanche", *flags)) == wanted
    return tasks


@pytest.mark.parametrize(
    ("strategy", "split", "sizes"),
    [
        ("random", ["--tasks", 20], [42] + [41] * 19),  # 821 = 20 * 41 + 1: a remainder
        ("time", ["--by-dataset"], None),
        ("random", ["--increment", 80, "--initial-increment", 21], [21] + [80] * 10),
    ],
    ids=["tasks-20", "by-dataset", "increment-80-initial-21"],
)
def test_demo_tasks_reach_both_libraries_whole(run_cli, tmp_path: Path, strategy, split, sizes) -> None:
    tasks_file = make_tasks(run_cli, tmp_path, DEMO_CATALOG, strategy, *split)
    tasks = check_both(run_cli, tasks_file)
    if sizes is not None:
        assert [len(task) for task in tasks] == sizes
    else:  # one task per dataset in the time order
        assert len(tasks) == len(fo.load_catalog(DEMO_CATALOG).datasets)


def test_labels_follow_the_catalog_order_and_the_python_api_gives_the_same_kwargs(run_cli, tmp_path: Path) -> None:
    tasks_file = make_tasks(run_cli, tmp_path, DEMO_CATALOG, "random", "--tasks", 20)
    catalog = fo.load_catalog(DEMO_CATALOG)
    labels = fo.label_map(catalog)
    assert labels == {concept: index for index, concept in enumerate(catalog.concept_ids)}
    first = catalog.datasets[0]
    assert labels[fo.concept_id(first.name, first.classes[-1])] == len(first.classes) - 1
    second = catalog.datasets[1]
    assert labels[fo.concept_id(second.name, second.classes[0])] == len(first.classes)

    tasks = fo.read_tasks(tasks_file)
    continuum_file = export(run_cli, tasks_file, "continuum")
    assert continuum_file == {**fo.to_continuum(tasks, labels), "labels": labels}
    kwargs = fo.to_avalanche(tasks, labels)
    assert set(kwargs) == {"fixed_class_order", "n_experiences", "per_exp_classes"}
    assert list(kwargs["per_exp_classes"]) == list(range(20))  # int keys in Python
    avalanche_file = export(run_cli, tasks_file, "avalanche")
    assert avalanche_file["per_exp_classes"] == {str(k): v for k, v in kwargs["per_exp_classes"].items()}
    assert avalanche_file["fixed_class_order"] == kwargs["fixed_class_order"] == continuum_file["class_order"]
    # the library result writes the same bytes as the command
    result = fo.export_tasks(tasks_file, "avalanche", argv=read(tmp_path / "random_tasks_avalanche.meta.json")["argv"])
    out = tmp_path / "api.json"
    result.write(out)
    assert out.read_bytes() == (tmp_path / "random_tasks_avalanche.json").read_bytes()


def test_a_users_shuffled_labels_file(run_cli, tmp_path: Path) -> None:
    tasks_file = make_tasks(run_cli, tmp_path, DEMO_CATALOG, "random", "--tasks", 20)
    own_order = list(fo.load_catalog(DEMO_CATALOG).concept_ids)
    random.Random(7).shuffle(own_order)
    labels_file = write_json(tmp_path / "my_labels.json", own_order)
    check_both(run_cli, tasks_file, "--labels", labels_file)
    document = read(tmp_path / "random_tasks_avalanche.json")
    assert document["labels"] == {concept: own_order.index(concept) for concept in document["labels"]}
    meta = read(tmp_path / "random_tasks_avalanche.meta.json")
    assert set(meta["inputs"]) == {"tasks", "labels"} and meta["inputs"]["labels"]["path"] == str(labels_file)


def test_fomo_in_flux_catalog_in_20_tasks(run_cli, tmp_path: Path) -> None:
    tasks_file = make_tasks(run_cli, tmp_path, FIF_CATALOG, "random", "--tasks", 20)
    tasks = check_both(run_cli, tasks_file)
    assert sum(map(len, tasks)) == len(fo.load_catalog(FIF_CATALOG)) and len(tasks) == 20
