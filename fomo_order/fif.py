"""FoMo-in-Flux, the client: its dataset handles, and the Hydra overrides that make it train on a stream.

FoMo-in-Flux reads a stream through ``experiment.dataset.sequence=<file>`` and cuts it into
``experiment.task.num`` tasks (the rule of :func:`fomo_order.split.tasks_sizes`). Dataset-incremental
training is a different route: it refuses a sequence, takes ``experiment.dataset.name=[<handle>, ...]``
and ``experiment.task.dataset_incremental=True``, loads each dataset's whole FoMo-in-Flux class list and
makes one task per dataset, in the order given.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

from fomo_order.artifacts.streams import dataset_of, datasets_in_order
from fomo_order.errors import InputError
from fomo_order.split import tasks_sizes

# Stream dataset name -> FoMo-in-Flux module handle (its ``data_lib.<handle>``), for the 41 adaptation
# datasets of its released streams, in FoMo-in-Flux's order.
FIF_HANDLES: dict[str, str] = {
    "FLOWERS102": "flowers102",
    "CIFAR100": "cifar100",
    "SUN397": "sun397",
    "CUB200": "cub200",
    "FGVCAircraft": "fgvcaircraft",
    "BIRDSNAP": "birdsnap",
    "DTD": "dtd",
    "ZAPPOS50k": "zappos50k",
    "MITSTATES": "mitstates",
    "PLANTVILLAGE": "plantvillage",
    "AI2DIAGRAMS": "ai2diagrams",
    "OPENIMAGES": "openimages",
    "CLEVR": "clevr",
    "DSPRITES": "dsprites",
    "FRU92": "fru92",
    "PLACES365": "places365",
    "VEG200": "veg200",
    "PATTERNNET": "patternnet",
    "SHAPES3D": "shapes3d",
    "DOMAINNET_CLIPART": "domainnet_clipart",
    "DOMAINNET_INFOGRAPH": "domainnet_infograph",
    "DOMAINNET_PAINTING": "domainnet_painting",
    "DOMAINNET_SKETCH": "domainnet_sketch",
    "MVTECAD_Adapt": "mvtecad_adapt",
    "MVTECAD_Eval": "mvtecad_eval",
    "OBJECTNET": "objectnet",
    "CLRS": "clrs",
    "ISICMELANOMA": "isicmelanoma",
    "MTSD": "mtsd",
    "COUNTRY211": "country211",
    "DF20MINI": "df20mini",
    "iNATURALIST2021": "inaturalist2021",
    "RESISC45": "resisc45",
    "ARTBENCH10": "artbench10",
    "DOLLARSTREET": "dollarstreet",
    "SNAKECLEF": "snake_clef",
    "FSCOCO": "fscoco",
    "OBSC_ANIMALS": "obsc_animals",
    "OBSC_THINGS": "obsc_things",
    "QUILT": "quilt",
    "SynthCLIP106": "synthclip106",
}


def handles_for(datasets: Sequence[str], source: str | Path) -> list[str]:
    """FoMo-in-Flux handles of ``datasets``, or an error naming those it does not know."""
    unknown = [name for name in datasets if name not in FIF_HANDLES]
    if unknown:
        raise InputError(
            source,
            f"{len(unknown)} dataset(s) without a FoMo-in-Flux handle: {', '.join(unknown[:5])}"
            + (" ..." if len(unknown) > 5 else ""),
        )
    return [FIF_HANDLES[name] for name in datasets]


def fif_overrides(
    stream: Sequence[str], stream_path: str | Path, *, tasks: int | None = None, by_dataset: bool = False
) -> list[str]:
    """The Hydra overrides that make FoMo-in-Flux train on the tasks ``split`` makes of ``stream``.

    Give ``tasks`` (T tasks of N // T concepts, the first N % T one more) or ``by_dataset`` (a task per
    dataset; the stream must hold each dataset in one contiguous block, which is all FoMo-in-Flux's
    dataset-incremental route can express). ``stream_path`` is written as an absolute path, since
    FoMo-in-Flux resolves it from its own directory.
    """
    if (tasks is None) == (not by_dataset):
        raise InputError("tasks", "give a number of tasks or by_dataset, exactly one")
    datasets = datasets_in_order(stream)
    handles = handles_for(datasets, stream_path)
    if by_dataset:
        blocks = 1 + sum(dataset_of(a) != dataset_of(b) for a, b in pairwise(stream))
        if blocks != len(datasets):
            raise InputError(
                stream_path,
                f"its {len(datasets)} datasets come in {blocks} separate blocks; FoMo-in-Flux's dataset-incremental "
                "route trains one whole dataset per task, so only a stream with each dataset contiguous can be "
                "expressed (split it by tasks instead)",
            )
        return [
            "experiment.dataset.sequence=null",
            f"experiment.dataset.name=[{','.join(handles)}]",
            "experiment.task.dataset_incremental=True",
        ]
    tasks_sizes(len(stream), tasks)  # the same bounds as split
    return [f"experiment.dataset.sequence={Path(stream_path).resolve()}", f"experiment.task.num={tasks}"]


def shell_line(overrides: Sequence[str]) -> str:
    """The overrides as one line to paste into a shell."""
    return " ".join(shlex.quote(token) for token in overrides)
