"""Cutting a stream into tasks. Each rule returns the task sizes; :func:`cut` applies them.

- ``tasks_sizes``: FoMo-in-Flux's rule: N // T concepts per task, the first N % T tasks one more.
- ``increment_sizes`` / ``increments_sizes``: Continuum's ClassIncremental rule. As in Continuum, a
  remainder is refused: (N - initial increment) must be a multiple of the increment, and a list of
  increments must sum to N.
- ``by_dataset_sizes``: FoMo-in-Flux's dataset-incremental rule: a new task starts at the first
  appearance of a dataset not seen before; a concept of a dataset seen earlier joins the current task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from fomo_order.artifacts.meta import make_meta
from fomo_order.artifacts.result import Written
from fomo_order.artifacts.streams import load_stream, stream_record
from fomo_order.catalog import dataset_of
from fomo_order.errors import ParameterError

if TYPE_CHECKING:
    from fomo_order.orderings.api import Stream


def tasks_sizes(n: int, tasks: int) -> list[int]:
    if tasks < 1 or tasks > n:
        raise ParameterError("tasks", f"must be between 1 and the stream's {n} concepts, got {tasks}")
    base, extra = divmod(n, tasks)
    return [base + 1 if task < extra else base for task in range(tasks)]


def increment_sizes(n: int, increment: int, initial_increment: int = 0) -> list[int]:
    if increment < 1:
        raise ParameterError("increment", f"must be a positive number of concepts, got {increment}")
    if initial_increment < 0 or initial_increment > n:
        raise ParameterError("initial_increment", f"must be between 0 and the stream's {n} concepts")
    rest = n - initial_increment
    if rest % increment:
        raise ParameterError(
            "increment",
            f"{rest} concepts{' after the initial increment' if initial_increment else ''} are not a multiple of "
            f"{increment} (remainder {rest % increment}); Continuum refuses unequal tasks: "
            "give explicit increments or a number of tasks",
        )
    return ([initial_increment] if initial_increment else []) + [increment] * (rest // increment)


def increments_sizes(n: int, increments: Sequence[int]) -> list[int]:
    if not increments or any(k < 1 for k in increments):
        raise ParameterError("increments", "must be a list of positive task sizes")
    if sum(increments) != n:
        raise ParameterError("increments", f"sum to {sum(increments)} but the stream has {n} concepts")
    return list(increments)


def by_dataset_sizes(stream: Sequence[str]) -> list[int]:
    sizes: list[int] = []
    seen: set[str] = set()
    for concept in stream:
        dataset = dataset_of(concept)
        if dataset not in seen:
            seen.add(dataset)
            sizes.append(0)
        sizes[-1] += 1
    return sizes


@dataclass(frozen=True)
class Tasks(Written):
    """A stream cut into tasks: ``tasks`` (lists of concept ids) and the meta ``split`` writes beside them.

    ``tasks.write(path)`` writes the tasks file and its ``.meta.json`` (``-``: the tasks to stdout).
    """

    tasks: list[list[str]]
    meta: dict[str, Any]

    def __len__(self) -> int:
        return len(self.tasks)

    def __repr__(self) -> str:
        sizes = self.sizes
        return f"Tasks({self.meta['parameters']['mode']}: {len(sizes)} tasks of {min(sizes)}-{max(sizes)} concepts)"

    @property
    def sizes(self) -> list[int]:
        return [len(task) for task in self.tasks]

    @property
    def parameters(self) -> dict[str, Any]:
        """The rule that cut them (``{"mode": "tasks", "tasks": 20}``, ...)."""
        return self.meta["parameters"]

    def files(self, path: Path) -> dict[Path, bytes]:
        from fomo_order.artifacts.streams import json_with_meta

        return json_with_meta(path, self.tasks, self.meta)


def split_stream(
    stream: Stream | Sequence[str] | str | Path,
    *,
    tasks: int | None = None,
    increment: int | None = None,
    initial_increment: int | None = None,
    increments: Sequence[int] | None = None,
    by_dataset: bool = False,
    argv: list[str] | None = None,
) -> Tasks:
    """Cut ``stream`` (a :class:`~fomo_order.Stream`, a list of concept ids, or a stream file; ``-``: standard
    input) by exactly one rule: ``tasks``, ``increment`` (with ``initial_increment``), ``increments`` or
    ``by_dataset``. ``argv`` is recorded in the meta (the CLI's command line)."""
    modes = [
        name
        for name, value in (
            ("tasks", tasks),
            ("increment", increment),
            ("increments", increments),
            ("by_dataset", by_dataset or None),
        )
        if value is not None
    ]
    if len(modes) != 1:
        got = f" (got {', '.join('{' + mode + '}' for mode in modes)})" if modes else ""
        raise ParameterError("tasks", "give exactly one of {tasks}, {increment}, {increments}, {by_dataset}" + got,
                             mentions=RULES)
    if initial_increment is not None and increment is None:
        raise ParameterError("initial_increment", "only goes with {increment}", mentions=("increment",))
    concept_ids, record = stream_input(stream)
    n = len(concept_ids)
    if tasks is not None:
        sizes, parameters = tasks_sizes(n, tasks), {"mode": "tasks", "tasks": tasks}
    elif increment is not None:
        sizes = increment_sizes(n, increment, initial_increment or 0)
        parameters = {"mode": "increment", "increment": increment, "initial_increment": initial_increment or 0}
    elif increments is not None:
        sizes = increments_sizes(n, list(increments))
        parameters = {"mode": "increments", "increments": list(increments)}
    else:
        sizes, parameters = by_dataset_sizes(concept_ids), {"mode": "by-dataset"}
    task_lists = cut(concept_ids, sizes)
    meta = make_meta(
        "split",
        argv=argv,
        inputs={"stream": record},
        parameters=parameters,
        concepts=n,
        tasks=len(task_lists),
        task_sizes=[len(task) for task in task_lists],
    )
    return Tasks(tasks=task_lists, meta=meta)


RULES = ("tasks", "increment", "increments", "by_dataset")


def stream_input(stream: Stream | Sequence[str] | str | Path) -> tuple[list[str], dict[str, Any]]:
    """A stream given as a file, a :class:`~fomo_order.Stream` or a list of ids, and its record for a meta."""
    if isinstance(stream, (str, Path)):
        return load_stream(stream)
    # a Stream's ids or the ids given: getattr, as Stream is imported for type checking only
    concept_ids = list(cast("Sequence[str]", getattr(stream, "concept_ids", stream)))
    return concept_ids, stream_record(concept_ids)


def cut(stream: Sequence[str], sizes: Sequence[int]) -> list[list[str]]:
    tasks, position = [], 0
    for size in sizes:
        tasks.append(list(stream[position : position + size]))
        position += size
    return tasks
