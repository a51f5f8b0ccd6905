"""Reading inputs with errors that name the file, and writing outputs atomically."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fomo_order.errors import CheckFailed, InputError


def read_text(path: str | Path) -> str:
    path = Path(path)
    try:
        if path.exists() and not path.is_dir() and not path.is_file():
            raise InputError(path, "is not a regular file (a FIFO, socket or device)")  # reading could block
        # A byte-order mark at the start (Windows editors write one) is no part of the text: it would end
        # up in the first class name or key
        return path.read_text(encoding="utf-8").removeprefix("\ufeff")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, expected a file") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not valid UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None


def read_json(path: str | Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(path, "nested too deeply to be read") from None
    except ValueError as exc:  # Python's limit on digits in an integer
        raise InputError(path, f"unreadable JSON: {_short(exc)}") from None


def read_mapping_file(path: str | Path) -> Any:
    """Read a JSON or YAML file (YAML is a superset of JSON; ``.json`` files get JSON's errors).

    A key given twice in one YAML mapping is an error (YAML would silently keep the last).
    """
    if Path(path).suffix.lower() == ".json":
        return read_json(path)
    import yaml

    text = read_text(path)
    try:
        return yaml.load(text, Loader=_unique_key_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InputError(path, f"malformed YAML{where}: {problem}") from None
    except RecursionError:
        raise InputError(path, "nested too deeply to be read") from None
    except ValueError as exc:
        raise InputError(path, f"unreadable YAML: {_short(exc)}") from None


def shorten(text: str, limit: int = 80) -> str:
    """A value quoted in a one-line message: at most ``limit`` characters, the middle elided."""
    if len(text) <= limit:
        return text
    keep = (limit - 5) // 2
    return f"{text[:keep]} ... {text[-keep:]}"


def _short(exc: ValueError) -> str:
    text = str(exc)
    return "a number has more than 4,300 digits" if "4300 digits" in text else text.split(";")[0]


def _unique_key_loader() -> Any:
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, (str, int, float, bool)) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                    )
                if isinstance(key, (str, int, float, bool)):
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def repeated(items: Iterable[str]) -> list[str]:
    """The items that occur again after their first occurrence, in order."""
    seen: set[str] = set()
    again = []
    for item in items:
        if item in seen:
            again.append(item)
        seen.add(item)
    return again


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dumps_json(value: Any) -> str:
    """The one JSON layout every artifact uses: UTF-8, no ``\\u`` escapes, 4-space indent, newline."""
    return json.dumps(value, ensure_ascii=False, indent=4) + "\n"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Readers never see a half-written file, and a failed run leaves no output behind.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise InputError(path, f"cannot write: {exc.strerror or exc}") from None
    os.close(handle)
    tmp = Path(tmp_name)
    _permit_like_open(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _permit_like_open(path: Path) -> None:
    """mkstemp makes files private (0600); give them the mode ``open()`` would (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_files_atomic(files: dict[Path, bytes]) -> None:
    """Write several files so that none is replaced unless all could be written, in order (meta last).

    Targets that are directories are refused before anything is written. Writers to one directory hold
    an advisory lock on it while they replace their files, so concurrent runs never leave one run's
    stream beside another's meta. Temporaries are removed whatever fails.
    """
    paths = [Path(path) for path in files]
    for path in paths:
        if path.is_dir():
            raise InputError(path, "is a directory; cannot write a file there")
    temps: list[tuple[Path, Path]] = []
    try:
        for path, data in zip(paths, files.values(), strict=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps.append((Path(tmp_name), path))
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            _permit_like_open(Path(tmp_name))
        with _directory_lock(paths[0].parent):
            for tmp, path in temps:
                os.replace(tmp, path)
    except OSError as exc:
        raise InputError(exc.filename or paths[0], f"cannot write: {exc.strerror or exc}") from None
    finally:
        for tmp, _ in temps:
            if tmp.exists():
                tmp.unlink()


@contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """An advisory exclusive lock on ``directory`` (flock on its descriptor: no lock file is left behind)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def write_texts_atomic(files: dict[Path, str]) -> None:
    """:func:`write_files_atomic` for UTF-8 text."""
    write_files_atomic({path: text.encode("utf-8") for path, text in files.items()})


def check_files(files: dict[Path, bytes]) -> None:
    """``--check``: raise :class:`CheckFailed` naming every file that is missing or differs."""
    problems = []
    for path, data in files.items():
        path = Path(path)
        if path.is_dir():
            problems.append(f"{path}: is a directory, not the file to check")
            continue
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        current = path.read_bytes()
        if current != data:
            try:
                problems.append(f"{path}: {describe_difference(current.decode('utf-8'), data.decode('utf-8'))}")
            except UnicodeDecodeError:
                problems.append(f"{path}: differs from what would be written")
    if problems:
        raise CheckFailed("; ".join(problems))


def check_texts(files: dict[Path, str]) -> None:
    """:func:`check_files` for UTF-8 text."""
    check_files({path: text.encode("utf-8") for path, text in files.items()})


def describe_difference(current: str, expected: str) -> str:
    """Say briefly how a file on disk differs from what would be written."""
    try:
        old, new = json.loads(current), json.loads(expected)
    except json.JSONDecodeError:
        return "differs from what would be written"
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return f"out of date ({len(old)} entries on disk, {len(new)} would be written)"
        first = next(i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b) if old != new else None
        if first is None:
            return "formatting differs"
        return f"out of date (first difference at position {first}: {old[first]!r} on disk, {new[first]!r} now)"
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        if keys:
            return f"out of date (differs in {', '.join(keys)})"
        return "formatting differs"
    return "differs from what would be written"
