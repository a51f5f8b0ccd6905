"""What ``fomo-order embed`` was asked for, validated, and the torch device and precision it resolves to."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fomo_order.errors import InputError

BACKENDS = ("openclip", "sentence-transformers")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "fp16", "bf16")
DEFAULT_MODELS = {"openclip": "ViT-L-14", "sentence-transformers": "all-MiniLM-L6-v2"}
DEFAULT_PRETRAINED = "openai"
DEFAULT_BATCH_SIZE = 256


@dataclass(frozen=True)
class EmbedSettings:
    """``model=None`` takes the backend's default (the paper's ViT-L-14 for openclip, or the
    ``--model-config`` file's stem); ``pretrained=None`` means the ``openai`` weights."""

    backend: str = "openclip"
    model: str | None = None
    pretrained: str | None = None
    model_config: Path | None = None
    device: str = "auto"
    batch_size: int = DEFAULT_BATCH_SIZE
    precision: str = "fp32"

    def __post_init__(self) -> None:
        _choice("--backend", self.backend, BACKENDS)
        _choice("--device", self.device, DEVICES)
        _choice("--precision", self.precision, PRECISIONS)
        if self.batch_size < 1:
            raise InputError("--batch-size", f"must be at least 1, got {self.batch_size}")
        if self.backend != "openclip":
            for flag, value in (("--pretrained", self.pretrained), ("--model-config", self.model_config)):
                if value is not None:
                    raise InputError(flag, "is only for --backend openclip")
        if self.model_config is not None and self.model is not None and self.model != Path(self.model_config).stem:
            raise InputError(
                "--model",
                f"--model-config registers the model under its file stem {Path(self.model_config).stem!r}, "
                f"not {self.model!r}: leave out --model",
            )

    @property
    def model_name(self) -> str:
        if self.model is not None:
            return self.model
        if self.model_config is not None:
            return Path(self.model_config).stem
        return DEFAULT_MODELS[self.backend]

    @property
    def pretrained_source(self) -> str:
        return DEFAULT_PRETRAINED if self.pretrained is None else self.pretrained


def _choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(flag, f"unknown value {value!r} (choose {' or '.join(choices)})")


@dataclass(frozen=True)
class Runtime:
    """Where and how the model runs: ``device`` is "cpu" or "cuda"."""

    device: str
    precision: str

    def autocast(self) -> AbstractContextManager[Any]:
        """fp32 runs as is; fp16/bf16 run under torch autocast (weights stay fp32, matmuls in half)."""
        if self.precision == "fp32":
            return nullcontext()
        import torch

        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        return torch.autocast(device_type=self.device, dtype=dtype)


def resolve_runtime(settings: EmbedSettings) -> Runtime:
    """Pick the device; fp16 needs CUDA (CPU autocast is bf16 only, fp16 there is slow and lossy)."""
    import torch

    has_cuda = torch.cuda.is_available()
    if settings.device == "cuda" and not has_cuda:
        raise InputError("--device", "cuda was asked for, but torch sees no CUDA device here")
    device = "cuda" if settings.device == "cuda" or (settings.device == "auto" and has_cuda) else "cpu"
    if device == "cpu" and settings.precision == "fp16":
        raise InputError("--precision", "fp16 needs a CUDA device; on the CPU use fp32 or bf16")
    return Runtime(device=device, precision=settings.precision)
