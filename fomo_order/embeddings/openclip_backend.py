"""The open_clip backend: model config, weights (a pretrained tag or a local checkpoint), and the
length-bucketed text forward, with open_clip's own ``encode_text`` where that does not apply."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.embeddings.batching import pad_batch, plan_batches
from fomo_order.embeddings.encoder import BatchSink, one_line
from fomo_order.embeddings.hub import hub_offline, hub_resolvable
from fomo_order.embeddings.settings import EmbedSettings, Runtime
from fomo_order.errors import InputError, ParameterError
from fomo_order.fileio import read_json, sha256_file

CONFIG_KEYS = ("embed_dim", "vision_cfg", "text_cfg")


def register_model_config(path: Path) -> str:
    """Validate an open_clip model config JSON and register it; returns the model name (the file stem)."""
    path = Path(path)
    config = read_json(path)
    if not isinstance(config, dict) or not all(key in config for key in CONFIG_KEYS):
        raise InputError(path, "an open_clip model config needs 'embed_dim', 'vision_cfg' and 'text_cfg'")
    if not isinstance(config["vision_cfg"], dict) or not isinstance(config["text_cfg"], dict):
        raise InputError(path, "'vision_cfg' and 'text_cfg' must be objects")
    import open_clip

    open_clip.add_model_config(path)
    return path.stem


class OpenClipEncoder:
    """``keep_image_tower``: keep the model's image tower once loaded (``score`` classifies images with it;
    ``embed`` drops it to save memory)."""

    def __init__(
        self,
        settings: EmbedSettings,
        runtime: Runtime,
        log: Callable[[str], None],
        keep_image_tower: bool = False,
    ) -> None:
        import open_clip

        self._settings = settings
        self._keep_image_tower = keep_image_tower
        self._runtime = runtime
        self._log = log
        self._model: Any = None
        self._tower: Any = None
        self._fallback_reason: str | None = None
        self._config_file = settings.model_config
        self.name = register_model_config(settings.model_config) if settings.model_config else settings.model_name
        lookup_name = self.name.replace("/", "-")  # as open_clip.create_model looks it up
        config = open_clip.get_model_config(lookup_name)
        if config is None:
            raise ParameterError(
                "model",
                f"{self.name!r} is not an open_clip model (see open_clip.list_models()); "
                "for another architecture give a model config file",
            )
        source = settings.pretrained_source
        self._tag_config = open_clip.get_pretrained_cfg(lookup_name, source)
        self._checkpoint: Path | None = None
        if self._tag_config:
            self._weights: dict[str, Any] = {"tag": source}
        else:
            path = Path(source).expanduser()
            if path.is_dir():
                raise InputError(path, "is a directory; give a checkpoint file or a pretrained tag")
            if not path.is_file():
                tags = open_clip.list_pretrained_tags_by_model(lookup_name)
                known = f"its tags: {', '.join(tags)}" if tags else "it has no pretrained tags"
                if settings.pretrained is None:
                    problem = f"{self.name} has no {source!r} weights ({known}): give a checkpoint file or a tag"
                else:
                    problem = f"{source}: no such checkpoint file, and not a pretrained tag of {self.name} ({known})"
                raise ParameterError("pretrained", problem)
            self._checkpoint = path
            # by name, size and content, never by absolute path
            self._weights = {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
        self._quick_gelu = bool(self._tag_config.get("quick_gelu", False))
        self._config = copy.deepcopy(config)
        if self._quick_gelu:  # the tag's weights were trained with QuickGELU; open_clip only warns otherwise
            self._config["quick_gelu"] = True

    def identity(self) -> dict[str, Any]:
        import open_clip
        import torch

        weights = dict(self._weights)
        if "tag" in weights:  # spelled as open_clip matches tags ("OpenAI" is "openai")
            weights["tag"] = weights["tag"].lower().replace("-", "_")
            weights["source"] = self._tag_config.get("hf_hub") or self._tag_config.get("url", "")
        canonical = json.dumps(self._config, sort_keys=True, separators=(",", ":"))
        return {
            "backend": "openclip",
            "model": self.name,
            "config_sha256": hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
            "weights": weights,
            "precision": self._runtime.precision,
            "device": self._runtime.device,
            "versions": {"torch": torch.__version__.split("+")[0], "open_clip": open_clip.__version__},
        }

    def dimension(self) -> int | None:
        """The text vectors' dimension, from the model config (no model is loaded for it)."""
        dim = self._config.get("embed_dim")
        return dim if type(dim) is int and dim > 0 else None

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "backend": "openclip",
            "model": self.name,
            "pretrained": self._weights.get("tag") or dict(self._weights),
        }
        if self._quick_gelu:
            described["quick_gelu"] = True
        if self._config_file is not None:
            described["model_config"] = {"file": Path(self._config_file).name, "sha256": sha256_file(self._config_file)}
        return described

    def _load(self) -> None:
        if self._model is not None:
            return
        import open_clip
        import torch

        from fomo_order.embeddings.openclip_text import causal_text_tower

        checkpoint = self._checkpoint if self._checkpoint is not None else self._download()
        self._log(f"loading {self.name} from {checkpoint.name}")
        # A local file needs no network; a tag's model may still fetch a Hugging Face text tower.
        with hub_offline() if self._checkpoint is not None else nullcontext():
            try:
                model = open_clip.create_model(
                    self.name,
                    pretrained=str(checkpoint),
                    device=self._runtime.device,
                    force_quick_gelu=self._quick_gelu,
                    require_pretrained=True,
                )
                tokenizer = open_clip.get_tokenizer(self.name)
            except Exception as exc:  # torch.load / load_state_dict / config errors: the user's files
                raise self._load_error(exc) from None
        model.eval()
        if not self._keep_image_tower:
            model.visual = torch.nn.Identity()  # the text side never uses the image tower; free its memory
        self._model, self._tokenizer = model, tokenizer
        tower = causal_text_tower(model)
        if isinstance(tower, str):
            self._fallback_reason = tower
            self._log(f"text forward: open_clip encode_text at the full context, because {tower}")
        else:
            self._tower = tower

    def clip_model(self) -> Any:
        """The loaded open_clip model (loads it on first use)."""
        self._load()
        return self._model

    @property
    def config_file(self) -> Path | None:
        return self._config_file

    def _load_error(self, exc: Exception) -> InputError:
        """Blame the model config when it does not build at all, else the weights."""
        import open_clip

        if self._config_file is not None:
            try:
                open_clip.create_model(self.name, pretrained=None)
            except Exception as config_exc:
                return InputError(
                    self._config_file,
                    f"cannot build open_clip model {self.name} ({type(config_exc).__name__}: {one_line(config_exc)})",
                )
        reason = f"{type(exc).__name__}: {one_line(exc)}"
        if "weights only load failed" in str(exc).lower() or "weights_only" in str(exc):
            # torch's message advises weights_only=False, which would run the file's code: never passed on
            reason = "not a plain weights file: it holds pickled Python objects, refused for safety"
        if self._checkpoint is None:
            return ParameterError("pretrained", f"cannot load as open_clip {self.name} weights ({reason})")
        return InputError(self._checkpoint, f"cannot load as open_clip {self.name} weights ({reason})")

    def _download(self) -> Path:
        import open_clip

        tag = self._weights["tag"]
        self._log(f"fetching the {self.name} {tag!r} weights")
        online = hub_resolvable()
        try:
            with nullcontext() if online else hub_offline():
                return Path(open_clip.download_pretrained(self._tag_config))
        except Exception as exc:  # any download failure: offline, proxy, a file missing on the Hub
            reason = (
                f"{type(exc).__name__}: {one_line(exc, 120)}"
                if online
                else "the Hugging Face Hub is unreachable and they are not in its local cache"
            )
            raise ParameterError(
                "pretrained",
                f"cannot download the {self.name} {tag!r} weights ({reason}); give a local checkpoint file instead",
            ) from None

    def text_forward(self) -> str:
        self._load()
        if self._tower is not None:
            return "length-bucketed: each caption at its own token length (equals encode_text)"
        return f"open_clip encode_text at the full context ({self._fallback_reason})"

    def encode(self, captions: Sequence[str], sink: BatchSink) -> None:
        import torch

        from fomo_order.embeddings.openclip_text import encode_truncated, pool_positions

        self._load()
        tokens = self._tokenizer(list(captions))
        if self._tower is not None:
            lengths = pool_positions(tokens, self._tower.pool_type, self._tower.eos_id).numpy() + 1
        else:
            lengths = np.zeros(len(captions), dtype=np.int64)
        device = self._runtime.device
        with torch.inference_mode(), self._runtime.autocast():
            for batch in plan_batches(lengths, self._settings.batch_size):
                rows = torch.from_numpy(pad_batch(batch))
                batch_tokens = tokens[rows].to(device)
                if self._tower is not None:
                    features = encode_truncated(self._tower, batch_tokens, int(lengths[batch[0]]))
                else:
                    features = self._model.encode_text(batch_tokens)
                sink(batch, features[: batch.size].float().cpu().numpy())
