"""`fomo-order score`: a synthetic image set in both layouts and a tiny open_clip model saved to disk,
loaded through `--model-config` and `--pretrained PATH`; the scores against an independent zero-shot
computation with open_clip's own transform, `encode_image` and `encode_text`; the feature cache;
sampling; unreadable images; bad input."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import RecordingReporter
from tests.scores.fixtures import DATASETS, make_tiny_clip, reference_scores, write_catalog, write_image_sets

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")

pytestmark = pytest.mark.usefixtures("offline_hub")
NAME = "fomo-score-tiny"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("score")
    config, checkpoint = make_tiny_clip(root / "model", NAME)
    listed = write_image_sets(root / "images")
    catalog = write_catalog(root / "catalog.json")
    return {"root": root, "config": config, "checkpoint": checkpoint, "listed": listed, "catalog": catalog}


def folder(setup) -> Path:
    return setup["root"] / "images" / "folder"


def fif(setup) -> tuple[Path, Path]:
    return setup["root"] / "images" / "fif", setup["root"] / "images" / "fif" / "info"


def folder_images(root: Path) -> dict[str, list[tuple[str, Path]]]:
    """Every image of the folder layout, per dataset, as (class name, path)."""
    return {
        d["name"]: [(c, p) for c in d["classes"] for p in sorted((root / d["name"] / c).iterdir())] for d in DATASETS
    }


def score_args(setup, out: Path, *extra: object) -> list[object]:
    return [
        "score",
        setup["catalog"],
        "-o",
        out,
        "--model-config",
        setup["config"],
        "--pretrained",
        setup["checkpoint"],
        "--device",
        "cpu",
        *extra,
    ]


def read_scores(out: Path) -> dict[str, float]:
    return json.loads(out.read_text(encoding="utf-8"))["scores"]


def assert_close(got: dict[str, float], expected: dict[str, float]) -> None:
    assert list(got) == list(expected)
    worst = max(abs(got[k] - expected[k]) for k in expected)
    assert worst <= 1e-6, (worst, got, expected)


@pytest.mark.parametrize("metric", ["accuracy", "probability"])
def test_folder_layout_equals_independent_zero_shot(run_cli, tmp_path: Path, setup, metric: str) -> None:
    out = tmp_path / "scores.json"
    args = ["--images", folder(setup), "--metric", metric, "--no-cache", "--workers", 0]
    result = run_cli(*score_args(setup, out, *args))
    assert result.exit_code == 0, result.output
    expected = reference_scores(NAME, setup["checkpoint"], DATASETS, folder_images(folder(setup)), metric)
    assert_close(read_scores(out), expected)
    if metric == "probability":  # not a degenerate set: the scores spread
        assert max(expected.values()) - min(expected.values()) > 0.3
    else:
        assert set(expected.values()) - {0.0, 1.0}  # some classes partly right

    payload = json.loads(out.read_text(encoding="utf-8"))
    images = folder_images(folder(setup))
    counts = Counter(f"{d}+++{c}" for d, pairs in images.items() for c, _ in pairs)
    assert payload["images"] == dict(counts)
    meta = json.loads((tmp_path / "scores.meta.json").read_text(encoding="utf-8"))
    assert meta["command"] == "score" and meta["metric"] == metric and meta["model"] == NAME
    assert meta["images"]["layout"] == "folder" and meta["images"]["unreadable"]["count"] == 0
    assert meta["images"]["scored"] == sum(len(v) for v in images.values())
    assert meta["pretrained"]["file"] == setup["checkpoint"].name
    assert meta["logit_scale"] == pytest.approx(30.0, rel=1e-6)
    assert any("Normalize" in step for step in meta["image_transform"])
    assert "timestamp" not in json.dumps(meta).lower()
    got = list(read_scores(out).values())
    tied = sum(1 for v in got if got.count(v) > 1)
    assert meta["tied_concepts"] == tied and (tied > 0) == (metric == "accuracy")
    assert ("share their score with another" in result.stderr) == (tied > 0)

    # What the performance ordering reads: easiest concept first.
    stream = tmp_path / "performance.json"
    ordered = run_cli("order", "performance", setup["catalog"], "--scores", out, "-o", stream)
    assert ordered.exit_code == 0, ordered.output
    order = json.loads(stream.read_text(encoding="utf-8"))
    values = [expected[c] for c in order]
    assert values == sorted(values, reverse=True)


def test_fif_layout_with_worker_processes(run_cli, tmp_path: Path, setup) -> None:
    root, info = fif(setup)
    out = tmp_path / "fif.json"
    args = ["--images", root, "--fif-info", info, "--metric", "probability", "--no-cache"]
    result = run_cli(*score_args(setup, out, *args, "--workers", 2))
    assert result.exit_code == 0, result.output
    # The test split lists the first three images of each class, the same files as in the folder layout.
    test_images = {
        d: [(c, folder(setup) / d / c / f) for c, f in pairs] for d, pairs in setup["listed"].items()
    }
    assert_close(read_scores(out), reference_scores(NAME, setup["checkpoint"], DATASETS, test_images, "probability"))
    meta = json.loads((tmp_path / "fif.meta.json").read_text(encoding="utf-8"))
    assert meta["images"]["layout"] == "fif-info" and meta["images"]["split"] == "test"
    assert sorted(meta["images"]["info_files"]) == sorted(f"{d['name']}_test.json" for d in DATASETS)

    # Decoding in this process gives the same bytes.
    again = tmp_path / "fif0.json"
    assert run_cli(*score_args(setup, again, *args, "--workers", 0)).exit_code == 0
    assert again.read_bytes() == out.read_bytes()

    train = tmp_path / "train.json"
    assert run_cli(*score_args(setup, train, *args, "--split", "train", "--workers", 0)).exit_code == 0
    train_meta = json.loads((tmp_path / "train.meta.json").read_text(encoding="utf-8"))
    assert train_meta["images"]["split"] == "train"
    all_images = folder_images(folder(setup))
    assert train_meta["images"]["sampled"] == sum(len(v) for v in all_images.values()) - 8  # all but one per class


def test_cache_gives_the_same_bytes_and_skips_the_model(run_cli, tmp_path: Path, setup) -> None:
    cache = tmp_path / "cache"
    fresh = tmp_path / "fresh.json"
    common = ["--images", folder(setup), "--metric", "probability", "--workers", 0]
    assert run_cli(*score_args(setup, fresh, *common, "--no-cache")).exit_code == 0

    # Part of the images first (another batch make-up), then all: cached and fresh features are identical.
    part = tmp_path / "part.json"
    first = run_cli(*score_args(setup, part, *common, "--datasets", "SHAPES", "--cache-dir", cache))
    assert first.exit_code == 0, first.output
    full = tmp_path / "full.json"
    second = run_cli(*score_args(setup, full, *common, "--cache-dir", cache, "--batch-size", 4))
    assert second.exit_code == 0, second.output
    shapes = sum(1 for d in folder_images(folder(setup))["SHAPES"])
    assert f", {shapes} from the cache" in second.stderr
    assert full.read_bytes() == fresh.read_bytes()
    full_meta, fresh_meta = (json.loads((tmp_path / f"{n}.meta.json").read_text("utf-8")) for n in ("full", "fresh"))
    assert full_meta.pop("argv") != fresh_meta.pop("argv")  # --batch-size 4 is recorded
    assert full_meta == fresh_meta

    # Everything cached: no model is loaded, same bytes.
    third = run_cli(*score_args(setup, tmp_path / "again.json", *common, "--cache-dir", cache))
    assert third.exit_code == 0, third.output
    assert "loading" not in third.stderr and " 0 images encoded" in third.stderr
    assert (tmp_path / "again.json").read_bytes() == fresh.read_bytes()

    # --check: current, then stale.
    assert run_cli(*score_args(setup, fresh, *common, "--cache-dir", cache, "--check")).exit_code == 0
    stale = run_cli(*score_args(setup, fresh, *common, "--cache-dir", cache, "--metric", "accuracy", "--check"))
    assert stale.exit_code == 1, stale.output


def test_max_per_class_is_a_seeded_sample(run_cli, tmp_path: Path, setup) -> None:
    common = ["--images", folder(setup), "--metric", "probability", "--workers", 0, "--max-per-class", 2]
    cache = tmp_path / "cache"
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        out = tmp_path / f"{name}.json"
        assert run_cli(*score_args(setup, out, *common, "--seed", seed, "--cache-dir", cache)).exit_code == 0
        runs[name] = out
    payload = json.loads(runs["a"].read_text(encoding="utf-8"))
    assert set(payload["images"].values()) == {2}
    assert runs["a"].read_bytes() == runs["b"].read_bytes()
    assert read_scores(runs["a"]) != read_scores(runs["c"])  # another seed, another sample
    meta = json.loads((tmp_path / "a.meta.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 3 and meta["images"]["max_per_class"] == 2
    assert "--max-per-class" in meta["argv"] and "--workers" not in meta["argv"]

    # The sample is what the library draws from a generator made from the seed.
    from fomo_order.catalog import load_catalog
    from fomo_order.scores import ImageSource, list_images, sample_images

    catalog = load_catalog(setup["catalog"])
    listing = list_images(catalog, ImageSource(folder(setup)))
    chosen = sample_images(listing.relative, 2, np.random.default_rng(3))
    images = {d["name"]: [] for d in DATASETS}
    for cid, paths in zip(catalog.concept_ids, chosen, strict=True):
        dataset, class_name = cid.split("+++")
        images[dataset] += [(class_name, folder(setup) / p) for p in paths]
    assert_close(read_scores(runs["a"]), reference_scores(NAME, setup["checkpoint"], DATASETS, images, "probability"))


def test_unreadable_images_are_skipped_and_counted(run_cli, tmp_path: Path, setup) -> None:
    images = tmp_path / "images"
    shutil.copytree(folder(setup), images)
    cat_dir = images / "ANIMALS" / "cat"
    jpeg = next(p for p in sorted(cat_dir.iterdir()) if p.suffix == ".jpg")
    data = jpeg.read_bytes()
    (cat_dir / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (cat_dir / "garbage.png").write_bytes(b"not an image at all")
    (cat_dir / "notes.txt").write_text("not an image, ignored", encoding="utf-8")
    out = tmp_path / "scores.json"
    args = ["--images", images, "--metric", "probability", "--no-cache", "--workers", 0]
    result = run_cli(*score_args(setup, out, *args))
    assert result.exit_code == 0, result.output
    assert "warning: skipped 2 unreadable image(s)" in result.stderr and "truncated.jpg" in result.stderr
    meta = json.loads((tmp_path / "scores.meta.json").read_text(encoding="utf-8"))
    unreadable = meta["images"]["unreadable"]
    assert unreadable["count"] == 2
    assert sorted(e["path"] for e in unreadable["examples"]) == ["ANIMALS/cat/garbage.png", "ANIMALS/cat/truncated.jpg"]
    assert meta["images"]["ignored_non_image_files"] == 1
    # The rest is scored as if the broken files were not there.
    expected = reference_scores(NAME, setup["checkpoint"], DATASETS, folder_images(folder(setup)), "probability")
    assert_close(read_scores(out), expected)

    # A concept whose images are all unreadable has no score: an error, nothing written.
    for path in (images / "SHAPES" / "square").iterdir():
        path.write_bytes(b"\xff\xd8\xff broken")
    out2 = tmp_path / "none.json"
    failed = run_cli(*score_args(setup, out2, "--images", images, "--no-cache", "--workers", 0))
    assert failed.exit_code == 2 and "1 of 8 concepts have no readable image" in failed.stderr
    assert "'SHAPES+++square'" in failed.stderr and not out2.exists()


def one_line_error(result, *parts: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in result.output, result.output
    for part in parts:
        assert part in lines[-1], lines[-1]


def test_bad_input_is_one_line_and_writes_nothing(run_cli, tmp_path: Path, setup) -> None:
    out = tmp_path / "scores.json"
    root, info = fif(setup)

    def run(*extra: object):
        return run_cli(*score_args(setup, out, "--no-cache", "--workers", 0, *extra))

    one_line_error(run("--images", tmp_path / "nowhere"), "nowhere: image root not found")
    one_line_error(run("--images", root, "--fif-info", tmp_path / "noinfo"), "noinfo: info directory not found")
    partial_info = tmp_path / "info"
    shutil.copytree(info, partial_info)
    (partial_info / "SHAPES_test.json").unlink()
    one_line_error(run("--images", root, "--fif-info", partial_info), "SHAPES_test.json", "not found")
    one_line_error(run("--images", folder(setup), "--split", "train"), "--split", "only applies")
    one_line_error(run("--images", root, "--fif-info", info, "--split", "val"), "--split", "unknown split 'val'")
    one_line_error(run("--images", folder(setup), "--metric", "f1"), "--metric", "unknown metric 'f1'")
    one_line_error(run("--images", folder(setup), "--max-per-class", 0), "--max-per-class", "at least 1")

    # A class with images but no concept: an extra class folder, an info record with an unknown class name.
    extra = tmp_path / "extra"
    shutil.copytree(folder(setup), extra)
    shutil.copytree(extra / "SHAPES" / "circle", extra / "SHAPES" / "triangle")
    one_line_error(run("--images", extra), "SHAPES", "1 class(es) with images are not concepts", "'triangle'")
    bad_info = tmp_path / "badinfo"
    shutil.copytree(info, bad_info)
    records = json.loads((bad_info / "ANIMALS_test.json").read_text(encoding="utf-8"))
    records["images/ANIMALS/x.png"] = {"classname": "wolf"}
    (bad_info / "ANIMALS_test.json").write_text(json.dumps(records), encoding="utf-8")
    one_line_error(run("--images", root, "--fif-info", bad_info), "ANIMALS_test.json", "'wolf'")
    (bad_info / "ANIMALS_test.json").write_text(json.dumps({"a.png": {"label": 3}}), encoding="utf-8")
    one_line_error(run("--images", root, "--fif-info", bad_info), "ANIMALS_test.json", "no string 'classname'")

    # Concepts with no image: how many, and a few of them.
    missing = tmp_path / "missing"
    shutil.copytree(folder(setup), missing)
    shutil.rmtree(missing / "Colours")
    shutil.rmtree(missing / "ANIMALS" / "dog")
    one_line_error(run("--images", missing), "4 of 8 concepts have no image", "'ANIMALS+++dog'")
    assert run("--images", missing, "--datasets", "SHAPES").exit_code == 0  # keeping what is there works
    out.unlink()
    out.with_name("scores.meta.json").unlink()
    assert not list(tmp_path.glob(".scores*"))  # no temporary file left behind
    assert not out.exists()


@pytest.mark.parametrize(("size", "why"), [(0, "height and width must be > 0"), (4, "Kernel size")])
def test_model_whose_image_input_cannot_be_built(run_cli, tmp_path: Path, setup, size: int, why: str) -> None:
    name = f"fomo-score-size{size}"
    config, checkpoint = make_tiny_clip(tmp_path / "model", name, vision={"image_size": size})
    out = tmp_path / "scores.json"
    result = run_cli(
        "score", setup["catalog"], "-o", out, "--images", folder(setup), "--model-config", config,
        "--pretrained", checkpoint, "--device", "cpu", "--no-cache", "--workers", 0,
    )  # fmt: skip
    one_line_error(result, f"{name}.json", f"cannot build the image input of open_clip {name}", why)
    assert not out.exists()


def test_zero_shot_scores_by_hand() -> None:
    from fomo_order.scores import zero_shot_scores

    # Two datasets: concepts 0, 1 (dataset 0) and 2 (dataset 1, one class: always right).
    classes = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    features = np.array([[2.0, 0.0], [1.0, 3.0], [0.0, 5.0], [3.0, 3.0]])
    concepts = np.array([0, 0, 1, 2])
    datasets = np.array([0, 0, 1])
    accuracy = zero_shot_scores(features, concepts, classes, datasets, "accuracy", 10.0)
    np.testing.assert_array_equal(accuracy, [0.5, 1.0, 1.0])
    probability = zero_shot_scores(features, concepts, classes, datasets, "probability", 10.0)
    second = 1 / (1 + np.exp(10 * (3 - 1) / np.sqrt(10)))
    np.testing.assert_allclose(probability, [(1 / (1 + np.exp(-10)) + second) / 2, 1 / (1 + np.exp(-10)), 1.0])


def test_split_transform_equals_the_whole_transform(setup) -> None:
    from PIL import Image

    from fomo_order.scores.decode import split_transform

    _, _, preprocess = open_clip.create_model_and_transforms(NAME, pretrained=str(setup["checkpoint"]))
    split = split_transform(preprocess)
    assert split.tensor_stage is not None
    paths = [p for pairs in folder_images(folder(setup)).values() for _, p in pairs]
    arrays, whole = [], []
    for path in paths:
        with Image.open(path) as image:
            image.load()
            arrays.append(split.pil_stage(image))
            whole.append(preprocess(image))
    batch = split.tensor_stage(torch.from_numpy(np.stack(arrays)))
    assert torch.equal(batch, torch.stack(whole))

    # A transform of another shape runs whole in the workers.
    fallback = split_transform(lambda image: preprocess(image))
    assert fallback.tensor_stage is None
    with Image.open(paths[0]) as image:
        np.testing.assert_array_equal(fallback.pil_stage(image), preprocess(image).numpy())


@pytest.mark.gpu
def test_device_auto_uses_cuda(run_cli, tmp_path: Path, setup) -> None:
    common = ["--images", folder(setup), "--metric", "probability", "--no-cache", "--workers", 2]
    gpu, cpu = tmp_path / "gpu.json", tmp_path / "cpu.json"
    args = score_args(setup, gpu, *common)
    args[args.index("--device") + 1] = "auto"
    assert run_cli(*args).exit_code == 0
    assert json.loads((tmp_path / "gpu.meta.json").read_text(encoding="utf-8"))["device"] == "cuda"
    assert run_cli(*score_args(setup, cpu, *common)).exit_code == 0
    got, expected = read_scores(gpu), read_scores(cpu)
    assert max(abs(got[k] - expected[k]) for k in expected) < 1e-3


def test_the_library_reports_every_phase_through_a_reporter_and_writes_what_the_cli_writes(
    run_cli, tmp_path: Path, setup
) -> None:
    import fomo_order as fo
    from fomo_order.embeddings.captions import concept_captions, unique_captions
    from fomo_order.scores import DEFAULT_BATCH_SIZE

    images = tmp_path / "images"
    shutil.copytree(folder(setup), images)
    (images / "ANIMALS" / "cat" / "garbage.png").write_bytes(b"not an image at all")
    catalog = fo.load_catalog(setup["catalog"])
    settings = fo.EmbedSettings(
        model_config=setup["config"], pretrained=str(setup["checkpoint"]), device="cpu", batch_size=DEFAULT_BATCH_SIZE
    )
    recorder = RecordingReporter()
    result = fo.score(catalog, fo.ImageSource(images), settings, metric="probability", workers=0, reporter=recorder)
    assert isinstance(result, fo.ScoreResult)

    listed = sum(len(pairs) for pairs in folder_images(images).values())
    captions = len(unique_captions(concept_captions(catalog))[0])
    assert [(p["description"], p["unit"], p["total"]) for p in recorder.phases] == [
        ("embedding captions", "captions", captions),
        ("reading images", "images", listed),
        ("encoding images", "images", listed),  # every file is distinct: none is encoded twice
    ]
    assert all(p["done"] == p["total"] and p["finished"] for p in recorder.phases), recorder.phases
    assert any(note.startswith(f"loading {NAME}") for note in recorder.notes), recorder.notes
    assert any(note.startswith("warning: skipped 1 unreadable image(s)") for note in recorder.notes), recorder.notes

    # The meta starts as every artifact's does; the API's files are the CLI's, byte for byte.
    assert list(result.meta)[:5] == ["tool", "version", "command", "argv", "inputs"]
    assert result.meta["tool"] == "fomo-order" and result.meta["version"] == fo.__version__
    assert result.meta["command"] == "score" and result.meta["argv"] is None
    assert set(result.meta["versions"]) == {"torch", "open_clip", "torchvision", "pillow"}
    assert "model_key" not in result.meta and "image_model_key" not in result.meta
    api, cli = tmp_path / "api.json", tmp_path / "cli.json"
    result.write(api)
    args = ["--images", images, "--metric", "probability", "--workers", 0, "--no-cache", "--quiet"]
    ran = run_cli(*score_args(setup, cli, *args))
    assert ran.exit_code == 0, ran.output
    assert "warning" not in ran.stderr  # --quiet: no notes
    assert api.read_bytes() == cli.read_bytes()
    api_meta, cli_meta = (json.loads((tmp_path / f"{n}.meta.json").read_text("utf-8")) for n in ("api", "cli"))
    assert cli_meta.pop("argv")[:2] == ["score", str(setup["catalog"])] and api_meta.pop("argv") is None
    assert api_meta == cli_meta


def test_progress_shows_items_per_second_on_a_terminal_only() -> None:
    import io
    import time

    from rich.console import Console

    from fomo_order.cli.progress import RichReporter

    for terminal in (True, False):
        stream = io.StringIO()
        reporter = RichReporter(Console(file=stream, force_terminal=terminal, width=120))
        reporter.start(40, "encoding images", "images")
        for _ in range(2):
            time.sleep(0.05)
            reporter.advance(10)
        time.sleep(0.3)  # a refresh of the bar
        reporter.finish()
        shown = stream.getvalue()
        assert ("encoding images" in shown and "images/s" in shown) == terminal, shown
