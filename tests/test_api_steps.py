"""Every step from Python, as a notebook user drives them, with only the names `fomo_order` exports:
catalog, fetch-frequencies (against a loopback Elasticsearch stand-in), embed and score (a tiny open_clip
model saved to disk), proxy-scores, every ordering, split, reverse, export, report and fif-overrides.
Each step's result carries its meta and writes itself; the next step reads what the previous one wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import fomo_order as fo
from tests.conftest import write_json
from tests.scores.fixtures import DATASETS, make_tiny_clip, write_catalog, write_image_sets
from tests.servers import ElasticsearchStandIn, es_count

pytest.importorskip("open_clip")
pytest.importorskip("numba")
pytest.importorskip("matplotlib")

# The score fixtures' three datasets under FoMo-in-Flux names, so that fif-overrides knows their handles.
NAMES = {"ANIMALS": "CIFAR100", "SHAPES": "DTD", "Colours": "FLOWERS102"}
DATASETS_HERE = [{**dataset, "name": NAMES[dataset["name"]]} for dataset in DATASETS]
YEARS = {"CIFAR100": 2014, "DTD": 2009, "FLOWERS102": 2019}


def test_every_step_through_the_public_api(tmp_path: Path, offline_hub) -> None:
    # catalog
    catalog_file = write_catalog(tmp_path / "catalog.json", DATASETS_HERE)
    catalog = fo.load_catalog(catalog_file, years=write_json(tmp_path / "y.json", YEARS))
    assert isinstance(catalog, fo.Catalog) and all(isinstance(d, fo.Dataset) for d in catalog.datasets)
    ids = catalog.concept_ids
    assert ids[0] == fo.concept_id("CIFAR100", "cat") and len(ids) == sum(len(d["classes"]) for d in DATASETS_HERE)

    # fetch-frequencies: counts as the server gives them, written with their meta
    with ElasticsearchStandIn() as server:
        frequencies = fo.fetch_frequencies(catalog, fo.FetchOptions(es_url=server.url, cache_dir=tmp_path / "c"))
    assert isinstance(frequencies, fo.Frequencies)
    freqs_file = tmp_path / "freqs.json"
    frequencies.write(freqs_file)
    counts = fo.read_frequencies(freqs_file, ids)
    assert counts[ids.index("CIFAR100+++red fox")] == es_count("red fox")

    # embed and score with one tiny CLIP
    config, checkpoint = make_tiny_clip(tmp_path / "model", "fomo-api-steps")
    settings = fo.EmbedSettings(model_config=config, pretrained=str(checkpoint), device="cpu")
    embedded = fo.embed(catalog, settings, cache_root=tmp_path / "cache")
    assert isinstance(embedded, fo.EmbedResult) and embedded.matrix.shape[0] == len(ids)
    embeddings_file = tmp_path / "e.npy"
    embedded.write(embeddings_file)
    assert (fo.embeddings_for(embeddings_file, ids) == embedded.matrix).all()

    write_image_sets(tmp_path / "images", DATASETS_HERE)
    scored = fo.score(catalog, fo.ImageSource(tmp_path / "images" / "folder"), settings, workers=0,
                      cache_root=tmp_path / "cache")
    assert isinstance(scored, fo.ScoreResult) and set(scored.scores) == set(ids)
    scores_file = tmp_path / "scores.json"
    scored.write(scores_file)

    proxy = fo.proxy_scores(catalog, embeddings_file)
    assert isinstance(proxy, fo.ScoreResult) and set(proxy.scores) == set(ids)
    assert all(0.0 <= value <= 1.0 for value in proxy.scores.values())

    # every ordering, each a permutation of the catalog, written beside its meta
    inputs = {"performance": {"scores": scores_file}, "frequency": {"frequencies": freqs_file},
              "similarity": {"embeddings": embeddings_file, "device": fo.Device.CPU}}
    streams: dict[str, Path] = {}
    for strategy in fo.ORDERINGS:
        stream = fo.order(catalog, strategy, seed=3, **inputs.get(strategy, {}))
        assert isinstance(stream, fo.Stream) and sorted(stream.concept_ids) == sorted(ids), strategy
        assert stream.meta["strategy"] == strategy
        streams[strategy] = tmp_path / f"{strategy}.json"
        stream.write(streams[strategy])
        assert fo.read_stream(streams[strategy]) == stream.concept_ids
    frequency_order = fo.read_stream(streams["frequency"])
    assert [counts[ids.index(c)] for c in frequency_order] == sorted(counts)  # least frequent first
    assert fo.read_stream(streams["time"])[0].startswith("DTD+++")  # the oldest dataset first

    # reverse and split
    reversed_stream = fo.reverse_stream(streams["similarity"])
    assert reversed_stream.concept_ids == fo.read_stream(streams["similarity"])[::-1]
    tasks = fo.split_stream(streams["random"], tasks=3)
    assert isinstance(tasks, fo.Tasks) and len(tasks.tasks) == 3
    assert [c for task in tasks.tasks for c in task] == fo.read_stream(streams["random"])
    tasks_file = tmp_path / "tasks.json"
    tasks.write(tasks_file)
    assert fo.read_tasks(tasks_file) == tasks.tasks

    # export for Continuum: one label per concept, the tasks' classes in order
    exported = fo.export_tasks(tasks_file, "continuum", catalog=catalog)
    labels = fo.label_map(catalog)
    assert isinstance(exported, fo.Export) and exported.labels == labels
    assert sorted(labels.values()) == list(range(len(ids)))
    assert exported.kwargs["class_order"] == [labels[c] for task in tasks.tasks for c in task]
    assert exported.kwargs == fo.to_continuum(tasks, labels)

    # report over two streams
    comparison = fo.compare_streams([streams["random"], streams["similarity"]], tasks=3, frequencies=freqs_file,
                                    embeddings=embeddings_file)
    assert isinstance(comparison, fo.Comparison)
    report = fo.render_report(comparison, out=tmp_path / "report.png", summary_json=tmp_path / "summary.json")
    assert isinstance(report, fo.Report) and report.figure_bytes.startswith(b"\x89PNG")
    report.write(tmp_path / "report.png")
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert sorted(summary) == ["random.json", "similarity.json"]
    # the similarity path is the shortest walk the search found: never longer than the random stream's
    assert summary["similarity.json"]["path_weight"] <= summary["random.json"]["path_weight"]

    # the FoMo-in-Flux overrides that train on the similarity stream
    overrides = fo.fif_overrides(fo.read_stream(streams["similarity"]), streams["similarity"], tasks=3)
    assert overrides == [f"experiment.dataset.sequence={streams['similarity']}", "experiment.task.num=3"]
    by_dataset = fo.fif_overrides(fo.read_stream(streams["dataset"]), None, by_dataset=True)
    named = next(line for line in by_dataset if line.startswith("experiment.dataset.name="))
    assert sorted(named.partition("=")[2].strip("[]").split(",")) == ["cifar100", "dtd", "flowers102"]
