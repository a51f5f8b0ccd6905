"""A synthetic image set in both layouts and a tiny open_clip model saved to disk, for the `score` tests
and its benchmark; and an independent zero-shot reference built from open_clip's own functions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TINY_TEXT = {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2}
TINY_VISION = {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 16}

# Three datasets, 2-3 classes each, 3-5 images per class; several templates for one dataset.
DATASETS = [
    {"name": "ANIMALS", "template": "A photo of a {}, an animal.", "classes": ["cat", "dog", "red fox"]},
    {"name": "SHAPES", "templates": ["A drawing of a {}.", "A {} shape."], "classes": ["circle", "square"]},
    {"name": "Colours", "template": "Something {}.", "classes": ["dark blue", "ochre", "mint green"]},
]


def make_tiny_clip(directory: Path, name: str, vision: dict | None = None, seed: int = 0):
    """A tiny open_clip config registered from a JSON file and a random-init checkpoint of it:
    (config path, checkpoint path)."""
    import open_clip
    import torch

    config = {"embed_dim": 32, "vision_cfg": {**TINY_VISION, **(vision or {})}, "text_cfg": TINY_TEXT}
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / f"{name}.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    open_clip.add_model_config(config_path)
    torch.manual_seed(seed)
    model = open_clip.create_model(name)
    with torch.no_grad():  # open_clip zero-initialises some weights; make every part of the towers matter
        for parameter in model.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
        model.logit_scale.fill_(np.log(30.0))
    checkpoint = directory / f"{name}.pt"
    torch.save(model.state_dict(), checkpoint)
    return config_path, checkpoint


def write_catalog(path: Path, datasets: list[dict] | None = None) -> Path:
    path.write_text(json.dumps({"datasets": datasets or DATASETS}), encoding="utf-8")
    return path


def random_image(rng: np.random.Generator, index: int):
    """A small image of varied size, mode and content (a tinted gradient with noise)."""
    from PIL import Image

    width, height = int(rng.integers(12, 80)), int(rng.integers(12, 80))
    yy, xx = np.mgrid[0:height, 0:width]
    tint = rng.uniform(0, 255, size=3)
    pixels = (xx[..., None] * rng.uniform(0.5, 3) + yy[..., None] * rng.uniform(-2, 2) + tint) % 256
    pixels = np.clip(pixels + rng.normal(0, 25, size=pixels.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    mode = ("RGB", "RGB", "L", "RGBA", "P")[index % 5]
    return image.convert(mode) if mode != "RGB" else image


def write_image_sets(root: Path, datasets: list[dict] | None = None, seed: int = 0) -> dict[str, list[tuple[str, str]]]:
    """The same images in both layouts under ``root``: ``folder/<DATASET>/<class>/`` and
    ``fif/images/...`` with info files ``fif/info/<DATASET>_{test,train}.json`` (test: the first three
    images of each class; train: all but the first).

    Returns, per dataset, (class name, file name) of every test image.
    """
    rng = np.random.default_rng(seed)
    listed: dict[str, list[tuple[str, str]]] = {}
    for dataset in datasets or DATASETS:
        name = dataset["name"]
        test_info, train_info = {}, {}
        listed[name] = []
        for c, class_name in enumerate(dataset["classes"]):
            for i in range(3 + (c % 3)):
                image = random_image(rng, i + c)
                suffix = ".jpg" if (i + c) % 3 == 0 and image.mode in ("RGB", "L") else ".png"
                file_name = f"{c}_{i}{suffix}"
                folder_path = root / "folder" / name / class_name / file_name
                fif_relative = f"images/{name}/{class_name.replace(' ', '_')}_{i}{suffix}"
                for path in (folder_path, root / "fif" / fif_relative):
                    path.parent.mkdir(parents=True, exist_ok=True)
                    image.save(path, quality=90) if suffix == ".jpg" else image.save(path)
                record = {"classname": class_name, "primer": "ignored", "caption": "ignored"}
                if i < 3:
                    test_info[fif_relative] = record
                if i >= 1:
                    train_info[fif_relative] = record
                if i < 3:
                    listed[name].append((class_name, file_name))
        info = root / "fif" / "info"
        info.mkdir(parents=True, exist_ok=True)
        (info / f"{name}_test.json").write_text(json.dumps(test_info, indent=1), encoding="utf-8")
        (info / f"{name}_train.json").write_text(json.dumps(train_info), encoding="utf-8")
    return listed


def reference_scores(
    name: str, checkpoint: Path, datasets: list[dict], images: dict[str, list[tuple[str, Path]]], metric: str
) -> dict[str, float]:
    """Independent per-class zero-shot scores: open_clip's own model, eval transform, ``encode_text`` and
    ``encode_image``, one image at a time. ``images``: per dataset, (class name, image path)."""
    import open_clip
    import torch
    from PIL import Image

    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=str(checkpoint))
    model.eval()
    tokenizer = open_clip.get_tokenizer(name)
    scale = model.logit_scale.exp().item()
    scores: dict[str, float] = {}
    with torch.no_grad():
        for dataset in datasets:
            templates = dataset.get("templates") or [dataset["template"]]
            rows = []
            for class_name in dataset["classes"]:
                text = model.encode_text(tokenizer([t.replace("{}", class_name) for t in templates]), normalize=True)
                mean = text.double().mean(dim=0)
                rows.append(mean / mean.norm())
            classifier = torch.stack(rows)
            per_class: dict[str, list[float]] = {c: [] for c in dataset["classes"]}
            for class_name, path in images[dataset["name"]]:
                with Image.open(path) as image:
                    pixels = preprocess(image)[None]
                feature = model.encode_image(pixels).double()[0]
                logits = scale * (feature / feature.norm()) @ classifier.T
                truth = dataset["classes"].index(class_name)
                if metric == "accuracy":
                    per_class[class_name].append(float(int(logits.argmax()) == truth))
                else:
                    per_class[class_name].append(float(torch.softmax(logits, dim=0)[truth]))
            for class_name, values in per_class.items():
                scores[f"{dataset['name']}+++{class_name}"] = float(np.mean(values))
    return scores
