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
from typing import Any

from fomo_order.artifacts.streams import dataset_of
from fomo_order.errors import ParameterError


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


def split_stream(
    stream: Sequence[str],
    *,
    tasks: int | None = None,
    increment: int | None = None,
    initial_increment: int | None = None,
    increments: Sequence[int] | None = None,
    by_dataset: bool = False,
) -> tuple[list[list[str]], dict[str, Any]]:
    """Cut ``stream`` by exactly one rule; returns the tasks and the parameters that describe the rule."""
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
        got = f" (got {', '.join(modes)})" if modes else ""
        raise ParameterError("tasks", f"give exactly one of tasks, increment, increments, by_dataset{got}")
    if initial_increment is not None and increment is None:
        raise ParameterError("initial_increment", "only goes with an increment")
    n = len(stream)
    if tasks is not None:
        sizes, parameters = tasks_sizes(n, tasks), {"mode": "tasks", "tasks": tasks}
    elif increment is not None:
        sizes = increment_sizes(n, increment, initial_increment or 0)
        parameters = {"mode": "increment", "increment": increment, "initial_increment": initial_increment or 0}
    elif increments is not None:
        sizes = increments_sizes(n, list(increments))
        parameters = {"mode": "increments", "increments": list(increments)}
    else:
        sizes, parameters = by_dataset_sizes(stream), {"mode": "by-dataset"}
    return cut(stream, sizes), parameters


def cut(stream: Sequence[str], sizes: Sequence[int]) -> list[list[str]]:
    tasks, position = [], 0
    for size in sizes:
        tasks.append(list(stream[position : position + size]))
        position += size
    return tasks
