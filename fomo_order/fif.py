"""FoMo-in-Flux, the client: its dataset handles, and the Hydra overrides that make it train on a stream.

FoMo-in-Flux reads a stream through ``experiment.dataset.sequence=<file>`` and cuts it into
``experiment.task.num`` tasks (the rule of :func:`fomo_order.split.tasks_sizes`). Dataset-incremental
training is a different route: it refuses a sequence, takes ``experiment.dataset.name=[<handle>, ...]``
and ``experiment.task.dataset_incremental=True``, loads each dataset's whole FoMo-in-Flux class list and
makes one task per dataset, in the order given.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from fomo_order.artifacts.streams import datasets_in_order
from fomo_order.catalog import class_name_of, concept_id, dataset_of
from fomo_order.errors import InputError, ParameterError
from fomo_order.split import tasks_sizes

# FoMo-in-Flux's class list of each dataset, in a checkout (configs/ does not ship in the wheel).
FIF_CLASS_LISTS = Path(__file__).resolve().parents[1] / "configs" / "fif" / "datasets"

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
    stream: Sequence[str],
    stream_path: str | Path | None,
    *,
    tasks: int | None = None,
    by_dataset: bool = False,
    increment: int | None = None,
    increments: Sequence[int] | None = None,
) -> list[str]:
    """The Hydra overrides that make FoMo-in-Flux train on the tasks ``split`` makes of ``stream``.

    Give ``tasks`` (T tasks of N // T concepts, the first N % T one more) or ``by_dataset`` (a task per
    dataset; the stream must hold each dataset in one contiguous block, which is all FoMo-in-Flux's
    dataset-incremental route can express). ``increment`` and ``increments`` (Continuum's rules) are
    refused: FoMo-in-Flux cannot express them. ``stream_path`` is written as an absolute path, since
    FoMo-in-Flux resolves it from its own directory; a stream without a file (None, or ``-`` for standard
    input) can only be trained by dataset.
    """
    if increment is not None or increments is not None:
        given = "increment" if increment is not None else "increments"
        raise ParameterError(
            given, "FoMo-in-Flux cuts a sequence into {tasks} T equal tasks or one task per dataset ({by_dataset}); "
            "Continuum-style increments cannot be expressed in it", mentions=("tasks", "by_dataset"),
        )
    if (tasks is None) == (not by_dataset):
        raise ParameterError("tasks", "give exactly one of {tasks} T or {by_dataset}", mentions=("tasks", "by_dataset"))
    source = "-" if stream_path is None else stream_path
    if not by_dataset and str(source) == "-":
        raise InputError(
            source, "a stream read from standard input has no file for FoMo-in-Flux to read as its sequence; "
            "give the stream file (only a split by dataset needs none)",
        )
    datasets = datasets_in_order(stream)
    handles = handles_for(datasets, source)
    if by_dataset:
        blocks = 1 + sum(dataset_of(a) != dataset_of(b) for a, b in pairwise(stream))
        if blocks != len(datasets):
            raise InputError(
                source,
                f"its {len(datasets)} datasets come in {blocks} separate blocks; FoMo-in-Flux's dataset-incremental "
                "route trains one whole dataset per task, so only a stream with each dataset contiguous can be "
                "expressed (split it by tasks instead)",
            )
        return [
            "experiment.dataset.sequence=null",
            f"experiment.dataset.name=[{','.join(handles)}]",
            "experiment.task.dataset_incremental=True",
        ]
    assert tasks is not None and stream_path is not None  # both checked above when not by_dataset
    tasks_sizes(len(stream), tasks)  # the same bounds as split
    return [f"experiment.dataset.sequence={Path(stream_path).resolve()}", f"experiment.task.num={tasks}"]


@dataclass(frozen=True)
class ClassListDifference:
    """How FoMo-in-Flux's own class list of a dataset differs from the stream's concepts of it.

    FoMo-in-Flux's dataset-incremental route trains on its own list, not on the stream's concepts.
    """

    dataset: str
    stream_concepts: int
    fif_concepts: int
    # The first position (in FoMo-in-Flux's list order) where the lists differ, and the class on each side
    # (None: that side has ended, or the class is missing from the other side).
    first_difference: int
    stream_class: str | None
    fif_class: str | None

    def describe(self) -> str:
        def side(name: str | None) -> str:
            return "nothing" if name is None else repr(name)

        return (
            f"{self.dataset}: FoMo-in-Flux trains its own {self.fif_concepts} classes, the stream has "
            f"{self.stream_concepts}; first difference at class {self.first_difference + 1}: stream "
            f"{side(self.stream_class)}, FoMo-in-Flux {side(self.fif_class)}"
        )


# Where a FoMo-in-Flux checkout keeps each dataset's class names (a JSON list), which its
# dataset-incremental route loads.
FIF_CHECKOUT_CLASS_NAMES = Path("data_lib") / "00_info"


def class_list_differences(
    stream: Sequence[str], class_lists: str | Path, *, fif_root: str | Path | None = None
) -> list[ClassListDifference]:
    """Per dataset of ``stream``, how FoMo-in-Flux's class list differs from the stream's concepts of that
    dataset, as sets compared in FoMo-in-Flux's order. Datasets without a list are skipped.

    ``fif_root``: a FoMo-in-Flux checkout, whose ``data_lib/00_info/<NAME>_classnames.json`` (class names)
    is what its dataset-incremental route trains on; without it, ``<class_lists>/<NAME>.json`` (concept ids,
    as in ``configs/fif/datasets``)."""
    if fif_root is not None and not (Path(fif_root) / FIF_CHECKOUT_CLASS_NAMES).is_dir():
        raise ParameterError("fif_root", f"{fif_root}: not a FoMo-in-Flux checkout (no {FIF_CHECKOUT_CLASS_NAMES}/)")
    by_dataset: dict[str, list[str]] = {}
    for concept in stream:
        by_dataset.setdefault(dataset_of(concept), []).append(concept)
    differences = []
    for dataset, concepts in by_dataset.items():
        fif_list = _fif_class_list(dataset, class_lists, fif_root)
        if fif_list is None:
            continue
        difference = _first_difference(dataset, sorted(concepts, key=_position_in(fif_list)), fif_list)
        if difference is not None:
            differences.append(difference)
    return differences


def _fif_class_list(dataset: str, class_lists: str | Path, fif_root: str | Path | None) -> list[str] | None:
    """FoMo-in-Flux's list of ``dataset`` as concept ids, or None where it has none."""
    from fomo_order.fileio import read_json

    if fif_root is not None:
        list_file = Path(fif_root) / FIF_CHECKOUT_CLASS_NAMES / f"{dataset}_classnames.json"
        what = "a JSON list of class names"
    else:
        list_file = Path(class_lists) / f"{dataset}.json"
        what = "a JSON list of concept ids"
    if not list_file.is_file():
        return None
    entries = read_json(list_file)
    if not isinstance(entries, list) or not all(isinstance(item, str) for item in entries):
        raise InputError(list_file, f"expected {what}")
    return [concept_id(dataset, name) for name in entries] if fif_root is not None else entries


def _position_in(reference: list[str]) -> Callable[[str], tuple[int, str]]:
    position = {concept: i for i, concept in enumerate(reference)}
    return lambda concept: (position.get(concept, len(reference)), concept)


def _first_difference(dataset: str, ours: list[str], theirs: list[str]) -> ClassListDifference | None:
    if ours == theirs:
        return None
    at = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), min(len(ours), len(theirs)))

    def class_at(concepts: list[str]) -> str | None:
        return class_name_of(concepts[at]) if at < len(concepts) else None

    return ClassListDifference(dataset, len(ours), len(theirs), at, class_at(ours), class_at(theirs))


def shell_line(overrides: Sequence[str]) -> str:
    """The overrides as one line to paste into a shell."""
    return " ".join(shlex.quote(token) for token in overrides)
