"""`embed`'s open_clip text forward: captions/s of the length-bucketed path against open_clip's plain
``encode_text`` in fixed batches at the full 77-token context, on the same captions, in the same run.

Goal: at least 3x the baseline at equal output (max abs difference of the features reported).
Model: a ViT-B-32-sized text tower (width 512, 12 layers, 8 heads), random init. Captions: FoMo-in-Flux
primer captions of randomly chosen concepts (seed 0) from ../shared/fif. Both sides include tokenization.

    python benchmarks/bench_embed.py [--captions 2000] [--device cpu|cuda] [--precision fp32|fp16|bf16]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "fif"
MODEL = "fomo-bench-text-b32"
CONFIG = {
    "embed_dim": 512,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12},
}


def fif_captions(count: int) -> list[str]:
    from fomo_order.catalog import load_catalog
    from fomo_order.embeddings.captions import concept_captions, unique_captions

    catalog = load_catalog(SHARED / "datasets", templates=SHARED / "primers.json")
    captions, _ = unique_captions(concept_captions(catalog))
    chosen = np.random.default_rng(0).choice(len(captions), size=min(count, len(captions)), replace=False)
    return [captions[i] for i in sorted(chosen)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", type=int, default=2000)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16"))
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"needs {SHARED}")

    import open_clip
    import torch

    from fomo_order.embeddings.openclip_backend import OpenClipEncoder
    from fomo_order.embeddings.settings import EmbedSettings, resolve_runtime

    if args.threads:
        # On a loaded machine every multi-threaded op waits for its slowest thread's time slice, which
        # punishes many small batches; one thread measures the work itself.
        torch.set_num_threads(args.threads)
    captions = fif_captions(args.captions)
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / f"{MODEL}.json"
        config_path.write_text(json.dumps(CONFIG), encoding="utf-8")
        open_clip.add_model_config(config_path)
        torch.manual_seed(0)
        logging.disable(logging.WARNING)  # open_clip warns that a random init has no pretrained weights
        model = open_clip.create_model(MODEL, pretrained=None)
        logging.disable(logging.NOTSET)
        checkpoint = Path(tmp) / "bench.pt"
        torch.save(model.state_dict(), checkpoint)
        settings = EmbedSettings(
            model_config=config_path,
            pretrained=str(checkpoint),
            device=args.device,
            precision=args.precision,
            batch_size=args.batch_size,
        )
        runtime = resolve_runtime(settings)
        encoder = OpenClipEncoder(settings, runtime, log=lambda message: None)
        encoder.text_forward()  # loads the model, as embed does before its first batch
        model = model.to(runtime.device).eval()
        tokenizer = open_clip.get_tokenizer(MODEL)

        def baseline(texts: list[str]) -> np.ndarray:
            tokens = tokenizer(texts)
            parts = []
            with torch.inference_mode(), runtime.autocast():
                for start in range(0, len(texts), args.batch_size):
                    batch = tokens[start : start + args.batch_size].to(runtime.device)
                    parts.append(model.encode_text(batch).float().cpu().numpy())
            return np.concatenate(parts)

        def bucketed(texts: list[str]) -> np.ndarray:
            result = np.empty((len(texts), CONFIG["embed_dim"]), dtype=np.float32)

            def sink(batch: np.ndarray, vectors: np.ndarray) -> None:
                result[batch] = vectors

            encoder.encode(texts, sink)
            return result

        def timed(function, texts: list[str]) -> tuple[float, np.ndarray]:
            if runtime.device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            output = function(texts)
            if runtime.device == "cuda":
                torch.cuda.synchronize()
            return time.perf_counter() - start, output

        timed(bucketed, captions[: args.batch_size])  # warm-up on one batch (allocator, kernels)
        timed(baseline, captions[: args.batch_size])
        base_times, fast_times = [], []
        for _ in range(args.repeats):  # interleaved, so that load on the machine hits both alike
            seconds, base_out = timed(baseline, captions)
            base_times.append(seconds)
            seconds, fast_out = timed(bucketed, captions)
            fast_times.append(seconds)

    lengths = (tokenizer(captions).argmax(dim=-1) + 1).numpy()
    base_best, fast_best = min(base_times), min(fast_times)
    diff = float(np.abs(fast_out - base_out).max())
    scale = float(np.abs(base_out).max())
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    unit_diff = float(np.abs(unit(fast_out) - unit(base_out)).max())
    device = torch.cuda.get_device_name() if runtime.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"{len(captions)} captions, token length mean {lengths.mean():.1f}, max {lengths.max()}; {device}; "
          f"{args.precision}; batch {args.batch_size}; best of {args.repeats}")  # fmt: skip
    print(f"encode_text, 77-token context:   {len(captions) / base_best:9.1f} captions/s "
          f"({base_best:.3f} s; median {statistics.median(base_times):.3f} s)")  # fmt: skip
    print(f"embed, length-bucketed:          {len(captions) / fast_best:9.1f} captions/s "
          f"({fast_best:.3f} s; median {statistics.median(fast_times):.3f} s)")  # fmt: skip
    print(f"speed-up: {base_best / fast_best:.2f}x (goal >= 3x); max abs difference of the features "
          f"{diff:.2e} (features up to {scale:.2f}), of the unit vectors {unit_diff:.2e}")  # fmt: skip


if __name__ == "__main__":
    main()
