"""Reading tasks files (`split`'s output: a JSON list of tasks, each a list of concept ids).

The writer is :func:`fomo_order.artifacts.streams.write_tasks`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fomo_order.catalog import split_concept_id
from fomo_order.errors import InputError
from fomo_order.fileio import read_json, repeated

__all__ = ["STDIN", "STDIN_NAME", "check_tasks", "read_tasks", "read_tasks_bytes"]

STDIN = "-"
STDIN_NAME = "<stdin>"  # how messages name standard input


def read_tasks(path: str | Path) -> list[list[str]]:
    """Read and validate a tasks file (``-``: standard input).

    A tasks file is a non-empty JSON list of non-empty lists of concept ids ``<dataset>+++<class name>``;
    no concept appears twice, within a task or across tasks.
    """
    if str(path) == STDIN:
        return parse_tasks_bytes(sys.stdin.buffer.read(), STDIN_NAME)
    return check_tasks(read_json(path), path)


def read_tasks_bytes(path: str | Path) -> tuple[list[list[str]], bytes]:
    """The tasks and the exact bytes they were read from (``-``: standard input), for a meta's sha256."""
    if str(path) == STDIN:
        data = sys.stdin.buffer.read()
        return parse_tasks_bytes(data, STDIN_NAME), data
    tasks = check_tasks(read_json(path), path)
    return tasks, Path(path).read_bytes()


def parse_tasks_bytes(data: bytes, source: str | Path) -> list[list[str]]:
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(source, f"not valid UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(source, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except (RecursionError, ValueError):
        raise InputError(source, "unreadable JSON (nested too deeply or a number too long)") from None
    return check_tasks(value, source)


def check_tasks(value: Any, source: str | Path) -> list[list[str]]:
    """``value`` as tasks, or an :class:`InputError` naming ``source`` and the first fault."""
    shape = "expected a JSON list of tasks, each a non-empty list of concept ids '<dataset>+++<class name>'"
    if not isinstance(value, list) or not value:
        raise InputError(source, shape)
    for number, task in enumerate(value, start=1):
        if not isinstance(task, list) or not task:
            raise InputError(source, f"task {number} is not a non-empty list; {shape}")
        for concept in task:
            if not isinstance(concept, str):
                raise InputError(source, f"task {number} holds {concept!r}, not a concept id; {shape}")
            split_concept_id(concept, source)
    every = [concept for task in value for concept in task]
    duplicates = repeated(every)
    if duplicates:
        tasks_of = [number for number, task in enumerate(value, start=1) if duplicates[0] in task]
        where = f"tasks {', '.join(map(str, tasks_of))}" if len(tasks_of) > 1 else f"task {tasks_of[0]}"
        raise InputError(
            source, f"{len(duplicates)} duplicate concept(s), e.g. {duplicates[0]!r} (twice in {where})"
        )
    return [list(task) for task in value]
