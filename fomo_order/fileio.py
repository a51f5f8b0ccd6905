"""Reading inputs with errors that name the file, and writing outputs atomically."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from fomo_order.errors import CheckFailed, InputError

# The key under which a meta records the sha256 of the files it describes (see artifacts.result).
PARTNER_KEY = "partner_sha256"


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


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: JSON would silently keep the last of a repeated key."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return result


def read_json(path: str | Path) -> Any:
    return parse_json(read_text(path), path)


def parse_json(text: str, path: str | Path) -> Any:
    """``text`` as JSON, or an error naming ``path`` (where it came from: a file, ``-`` for standard input)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except _DuplicateKeyError as exc:
        raise InputError(path, f"key {shorten(exc.key)!r} appears twice in one object") from None
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
    # Python 3.10 says "Exceeds the limit (4300) for integer string conversion", 3.11+ "(4300 digits)"
    return "a number has more than 4,300 digits" if "integer string conversion" in text else text.split(";")[0]


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


def output_problem(path: str | Path, *, directory_allowed: bool = False) -> str | None:
    """Why ``path`` cannot name an output file (an empty name, ``.``, a directory), or None.

    ``directory_allowed``: an existing directory is no problem of the name (``--check`` reports it as a
    difference instead)."""
    text = str(path)
    if not text.strip():
        return "is not a file name (empty)"
    if text.endswith(("/", os.sep)) or Path(text).name in ("", ".", ".."):
        return "is a directory name, expected a file name"
    if not directory_allowed and Path(text).is_dir():
        return "is a directory; cannot write a file there"
    return None


def check_output_path(path: str | Path, *, directory_allowed: bool = False) -> None:
    problem = output_problem(path, directory_allowed=directory_allowed)
    if problem:
        raise InputError(repr(str(path)) if not str(path).strip() else path, problem)


def is_special_file(path: str | Path) -> bool:
    """A FIFO, character device or socket (``/dev/null``, ``/dev/stdout``, a named pipe): written into,
    never replaced by a regular file."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def _temporary(path: Path) -> tuple[int, str]:
    """A temporary file beside ``path`` whose name carries this process's id, so that a later run can tell a
    temporary left by a killed writer from one that a running writer still fills."""
    remove_stale_temporaries(path)
    return tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)


def remove_stale_temporaries(path: Path) -> None:
    """Delete temporaries of ``path`` left by writers that no longer run (killed between write and rename)."""
    parent = path.parent if str(path.parent) else Path(".")
    prefix = f".{path.name}."
    try:
        candidates = [entry for entry in os.scandir(parent) if entry.name.startswith(prefix)]
    except OSError:
        return
    for entry in candidates:
        pid_text = entry.name[len(prefix) :].split(".", 1)[0]
        if not entry.name.endswith(".tmp") or not pid_text.isdigit() or _running(int(pid_text)):
            continue
        with suppress(OSError):
            os.unlink(entry.path)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # alive under another user, or unknowable: leave it
    return True


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Readers never see a half-written file, and a failed run leaves no output behind.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = _temporary(parent / path.name)
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

    Targets that are directories are refused before anything is written. A target that is a FIFO or a
    character device (``/dev/null``, ``/dev/stdout``) is written into, not replaced. Writers to one directory
    hold an advisory lock on it while they replace their files, so concurrent runs never leave one run's
    stream beside another's meta. Temporaries are removed whatever fails, and those that a killed run left
    beside a target are removed by the next run.
    """
    paths = [Path(path) for path in files]
    for path in paths:
        check_output_path(path)
    temps: list[tuple[Path, Path]] = []
    special = [(path, data) for path, data in zip(paths, files.values(), strict=True) if is_special_file(path)]
    try:
        for path, data in zip(paths, files.values(), strict=True):
            if is_special_file(path):
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp_name = _temporary(path)
            temps.append((Path(tmp_name), path))
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            _permit_like_open(Path(tmp_name))
        for path, data in special:
            with open(path, "wb") as out:
                out.write(data)
        if temps:
            with _directory_lock(temps[0][1].parent):
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
        # a meta's digest of its partner follows the partner: naming it adds nothing
        keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k) and k != PARTNER_KEY)
        if keys:
            return f"out of date (differs in {', '.join(keys)})"
        if old.get(PARTNER_KEY) != new.get(PARTNER_KEY):
            return f"out of date (its {PARTNER_KEY} does not match the file it describes)"
        return "formatting differs"
    return "differs from what would be written"
