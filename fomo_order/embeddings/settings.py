"""What ``fomo-order embed`` was asked for, validated, and the torch device and precision it resolves to."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fomo_order.choices import Choice, Device, parse_choice, resolve_device
from fomo_order.errors import ParameterError


class Backend(Choice):
    OPENCLIP = "openclip"
    SENTENCE_TRANSFORMERS = "sentence-transformers"


class Precision(Choice):
    """fp32 as is, or fp16/bf16 under torch autocast (fp16 on CUDA only)."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"


DEFAULT_MODELS = {Backend.OPENCLIP: "ViT-L-14", Backend.SENTENCE_TRANSFORMERS: "all-MiniLM-L6-v2"}
DEFAULT_PRETRAINED = "openai"
DEFAULT_BATCH_SIZE = 256


@dataclass(frozen=True)
class EmbedSettings:
    """``model=None`` takes the backend's default (the paper's ViT-L-14 for openclip, or the
    ``--model-config`` file's stem); ``pretrained=None`` means the ``openai`` weights."""

    backend: Backend = Backend.OPENCLIP
    model: str | None = None
    pretrained: str | None = None
    model_config: Path | None = None
    device: Device | None = Device.AUTO  # None: auto
    batch_size: int = DEFAULT_BATCH_SIZE
    precision: Precision = Precision.FP32

    def __post_init__(self) -> None:
        # Plain strings are accepted and stored as the enum members (the dataclass is frozen).
        object.__setattr__(self, "backend", parse_choice(Backend, self.backend, "backend"))
        object.__setattr__(self, "device", parse_choice(Device, self.device or Device.AUTO, "device"))
        object.__setattr__(self, "precision", parse_choice(Precision, self.precision, "precision"))
        if self.batch_size < 1:
            raise ParameterError("batch_size", f"must be at least 1, got {self.batch_size}")
        if self.backend is not Backend.OPENCLIP:
            for parameter, value in (("pretrained", self.pretrained), ("model_config", self.model_config)):
                if value is not None:
                    raise ParameterError(parameter, "is only for the openclip backend")
        if self.model_config is not None and self.model is not None and self.model != Path(self.model_config).stem:
            raise ParameterError(
                "model",
                f"the model config registers the model under its file stem {Path(self.model_config).stem!r}, "
                f"not {self.model!r}: leave the model name out",
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
    assert settings.device is not None  # __post_init__ made None Device.AUTO
    device = resolve_device(settings.device)
    if device == "cpu" and settings.precision is Precision.FP16:
        raise ParameterError("precision", "fp16 needs a CUDA device; on the CPU use fp32 or bf16")
    return Runtime(device=device, precision=settings.precision.value)
