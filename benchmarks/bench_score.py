"""`score`: images/s of the tool (library call, end to end: listing, captions, hashing, worker decoding,
batched ``encode_image``) against a plain loop over the same images with open_clip's own eval transform
and ``encode_image`` (one image at a time), and a batched plain loop (sequential decoding, batches of
``--batch-size``), in the same run. All three must give the same scores (max abs difference asserted).

Model: open_clip's ViT-B-32 architecture (``--model``), random init saved to a checkpoint and loaded through
``--pretrained PATH``. Images: ``--images`` synthetic JPEGs of photo size (400-640 x 300-480 pixels) in the
folder layout, 4 datasets of 8 classes; metric: probability. The feature cache is off.

    python benchmarks/bench_score.py [--images 256] [--model ViT-B-32] [--device cpu|cuda] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATASETS, CLASSES = 4, 8


def write_images(root: Path, count: int) -> list[dict]:
    """``count`` JPEGs spread over DATASETS x CLASSES class folders; returns the catalog's datasets."""
    from PIL import Image

    rng = np.random.default_rng(0)
    datasets = [
        {"name": f"D{d}", "template": "A photo of a {}.", "classes": [f"thing {d}-{c}" for c in range(CLASSES)]}
        for d in range(DATASETS)
    ]
    for i in range(count):
        dataset = datasets[i % DATASETS]
        class_name = dataset["classes"][(i // DATASETS) % CLASSES]
        width, height = int(rng.integers(400, 641)), int(rng.integers(300, 481))
        yy, xx = np.mgrid[0:height, 0:width]
        base = (xx[..., None] * rng.uniform(0.2, 1) + yy[..., None] * rng.uniform(-1, 1) + rng.uniform(0, 255, 3))
        pixels = np.clip(base % 256 + rng.normal(0, 20, size=base.shape), 0, 255).astype(np.uint8)
        path = root / dataset["name"] / class_name / f"{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, quality=90)
    return datasets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=None, help="decoding processes (default: as the CLI)")
    args = parser.parse_args()

    import open_clip
    import torch
    from PIL import Image

    from fomo_order.catalog import load_catalog
    from fomo_order.embeddings import EmbedSettings
    from fomo_order.scores import ImageSource, default_workers, score_catalog

    workers = default_workers() if args.workers is None else args.workers
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        datasets = write_images(tmp / "images", args.images)
        catalog_path = tmp / "catalog.json"
        catalog_path.write_text(json.dumps({"datasets": datasets}), encoding="utf-8")
        catalog = load_catalog(catalog_path)
        torch.manual_seed(0)
        logging.disable(logging.WARNING)  # open_clip warns that a random init has no pretrained weights
        checkpoint = tmp / "weights.pt"
        torch.save(open_clip.create_model(args.model).state_dict(), checkpoint)
        settings = EmbedSettings(
            model=args.model, pretrained=str(checkpoint), device=args.device, batch_size=args.batch_size
        )
        paths = sorted((tmp / "images").rglob("*.jpg"))

        def sync() -> None:
            if args.device == "cuda":
                torch.cuda.synchronize()

        # The tool, end to end (model loading and captions included).
        start = time.perf_counter()
        result = score_catalog(
            catalog, ImageSource(tmp / "images"), settings, metric="probability", workers=workers, cache_root=None
        )
        sync()
        tool_seconds = time.perf_counter() - start

        def plain(batch_size: int) -> tuple[float, dict[str, float]]:
            """open_clip's own model, transform, encode_text and encode_image; decoding in this process."""
            start = time.perf_counter()
            model, _, preprocess = open_clip.create_model_and_transforms(
                args.model, pretrained=str(checkpoint), device=args.device
            )
            model.eval()
            tokenizer = open_clip.get_tokenizer(args.model)
            scale = float(model.logit_scale.detach().exp())
            probabilities: dict[str, list[float]] = {cid: [] for cid in catalog.concept_ids}
            with torch.inference_mode():
                classifiers = {
                    d["name"]: model.encode_text(
                        tokenizer([d["template"].replace("{}", c) for c in d["classes"]]).to(args.device),
                        normalize=True,
                    ).double()
                    for d in datasets
                }
                for begin in range(0, len(paths), batch_size):
                    chunk = paths[begin : begin + batch_size]
                    pixels = []
                    for path in chunk:
                        with Image.open(path) as image:
                            pixels.append(preprocess(image))
                    features = model.encode_image(torch.stack(pixels).to(args.device)).double()
                    features = features / features.norm(dim=1, keepdim=True)
                    for path, feature in zip(chunk, features, strict=True):
                        dataset, class_name = path.parent.parent.name, path.parent.name
                        classes = next(d["classes"] for d in datasets if d["name"] == dataset)
                        p = torch.softmax(scale * feature @ classifiers[dataset].T, dim=0)
                        probabilities[f"{dataset}+++{class_name}"].append(float(p[classes.index(class_name)]))
            sync()
            return time.perf_counter() - start, {cid: float(np.mean(v)) for cid, v in probabilities.items()}

        loop_seconds, loop_scores = plain(1)
        batched_seconds, batched_scores = plain(args.batch_size)
    logging.disable(logging.NOTSET)

    diff = max(
        max(abs(result.scores[c] - loop_scores[c]), abs(result.scores[c] - batched_scores[c])) for c in loop_scores
    )
    # On CUDA, cuDNN picks convolution algorithms (TF32 by default) by batch shape: equal to rounding only.
    tolerance = 1e-6 if args.device == "cpu" else 1e-3
    assert diff <= tolerance, f"the scores differ by {diff:.2e}"
    n = len(paths)
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    print(f"{n} JPEG images (400-640 x 300-480), {args.model} random init, {device}, batch {args.batch_size}, "
          f"{workers} decoding workers; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"plain loop, encode_image per image: {n / loop_seconds:8.1f} images/s ({loop_seconds:.1f} s)")
    print(f"plain loop, batched encode_image:   {n / batched_seconds:8.1f} images/s ({batched_seconds:.1f} s)")
    print(f"fomo-order score (library):         {n / tool_seconds:8.1f} images/s ({tool_seconds:.1f} s)")
    print(f"speed-up: {loop_seconds / tool_seconds:.2f}x the per-image loop, {batched_seconds / tool_seconds:.2f}x "
          f"the batched loop; max abs difference of the scores {diff:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
