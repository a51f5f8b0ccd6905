"""The on-disk cache of fetched counts: one SQLite file, written as results arrive.

Network counts are keyed by (source, index, count kind, query). Local-corpus counts are kept per corpus
file (keyed by its path, size and modification time), so that a rerun scans only the files, and only for
the phrases, that are missing. Each write is its own transaction in WAL mode: a run killed at any point
(even SIGKILL) loses only what was not yet written.

The cache is checked when opened: a file SQLite finds damaged (``PRAGMA quick_check``), or one of another
schema (``PRAGMA user_version`` and the tables' columns), is set aside beside it
(``frequencies.sqlite3.damaged-<time>``) with a warning, and a new one is started. A count read back that is
not one (tampered with: ``-5``, ``'abc'``) is dropped with a warning, so that it is fetched again. Without a
usable default cache directory (``HOME=/nonexistent``) the run keeps its counts in memory and says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fomo_order.artifacts.freqs import count_problem
from fomo_order.errors import InputError

CACHE_FILE = "frequencies.sqlite3"
SCHEMA_VERSION = 1  # PRAGMA user_version of a cache this code wrote (0: made before versions, same tables)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counts (
    source TEXT NOT NULL,
    index_name TEXT NOT NULL,
    count_kind TEXT NOT NULL,
    query TEXT NOT NULL,
    count INTEGER NOT NULL,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (source, index_name, count_kind, query)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS query_lists (
    digest TEXT PRIMARY KEY,
    queries BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS corpus_file_counts (
    file_key TEXT NOT NULL,
    count_kind TEXT NOT NULL,
    query_list TEXT NOT NULL REFERENCES query_lists(digest),
    documents INTEGER NOT NULL,
    text_bytes INTEGER NOT NULL,
    nonzero BLOB NOT NULL,
    counted_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS corpus_file_counts_key ON corpus_file_counts (file_key, count_kind);
"""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/fomo-order`` (``~/.cache/fomo-order`` when the variable is unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fomo-order"


def _ignore(message: str) -> None:
    pass


LOCK_WAIT_S = 60  # how long a run waits for another run's lock on the cache before giving up


def _execute_waiting(
    db: sqlite3.Connection, statement: str, warn: Callable[[str], None], where: str | Path
) -> sqlite3.Cursor:
    """Run ``statement``; when another run holds the cache's lock, say so (a wait of up to a minute
    should not look like a hang), then wait for it as long as the connection's timeout allows."""
    db.execute("PRAGMA busy_timeout=0")
    try:
        return db.execute(statement)
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        warn(f"{where}: waiting (up to {LOCK_WAIT_S} s) for another run's lock on the count cache")
        db.execute(f"PRAGMA busy_timeout={LOCK_WAIT_S * 1000}")
        return db.execute(statement)
    finally:
        db.execute(f"PRAGMA busy_timeout={LOCK_WAIT_S * 1000}")


def open_cache(
    directory: str | Path | None, warn: Callable[[str], None] = _ignore, *, read_only: bool = False
) -> CountCache:
    """The count cache in ``directory`` (None: :func:`default_cache_dir`).

    A directory given explicitly that cannot hold the cache is an InputError naming it (the run was asked to
    keep its counts there); when the default one cannot (no home directory, not writable), the run goes on
    with a cache in memory, and ``warn`` says so once.
    """
    if directory is not None:
        return CountCache(directory, warn, read_only=read_only)
    try:
        default = default_cache_dir()
    except RuntimeError as exc:  # no home directory at all
        warn(f"no cache directory ({exc}): counts are kept for this run only")
        return CountCache(None, warn)
    try:
        return CountCache(default, warn, read_only=read_only)
    except _Unusable as exc:
        warn(f"cannot use the default cache directory {exc.where} ({exc.problem}): counts are kept for this run "
             "only; set XDG_CACHE_HOME or give a cache directory")
        return CountCache(None, warn)


class _Unusable(InputError):  # noqa: N818
    """The cache cannot live there (an InputError naming the place when CountCache is used directly)."""

    def __init__(self, where: Path, problem: str) -> None:
        super().__init__(where, problem)
        self.where = where


def _expected_tables() -> dict[str, list[tuple]]:
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(_SCHEMA)
        return {name: _columns(db, name) for name in _table_names(db)}
    finally:
        db.close()


def _table_names(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]


def _columns(db: sqlite3.Connection, table: str) -> list[tuple]:
    # (name, declared type, not null, primary key position): what the statements here rely on.
    return [(row[1], row[2].upper(), row[3], row[5]) for row in db.execute(f'PRAGMA table_info("{table}")')]


def _is_damage(exc: sqlite3.Error) -> bool:
    """SQLite's "not a database" / "disk image is malformed", not a lock or a permission problem."""
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or type(exc) is sqlite3.DatabaseError


class _Damaged(Exception):  # noqa: N818
    pass


@dataclass(frozen=True)
class FileCounts:
    """What the cache knows about one corpus file: counts per query, and the file's size in documents."""

    counts: dict[str, int]
    documents: int
    text_bytes: int


class CountCache:
    """Counts persisted in ``<directory>/frequencies.sqlite3`` (``directory`` None: in memory, for this run
    only). Use from one thread. ``warn`` hears what the cache set aside or dropped. ``read_only`` (a check):
    never change the file; a damaged one then counts as empty, and bad values are skipped, not deleted."""

    def __init__(
        self, directory: str | Path | None, warn: Callable[[str], None] = _ignore, *, read_only: bool = False
    ) -> None:
        self.warn = warn
        self.read_only = read_only
        self.directory = None if directory is None else Path(directory)
        self.path = None if self.directory is None else self.directory / CACHE_FILE
        if self.path is None:
            self._db = self._connect(":memory:")
            return
        assert self.directory is not None  # path is set exactly when directory is
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _Unusable(self.directory, f"cannot create the cache directory: {exc.strerror or exc}") from None
        try:
            self._db = self._connect(self.path)
        except _Damaged as damage:
            if read_only:
                warn(f"{self.path}: {damage} (damaged?); a check reads it as empty")
                self._db = self._connect(":memory:")
                return
            aside = self._set_aside()
            warn(f"{self.path}: {damage}: set aside as {aside.name}; starting a new cache")
            try:
                self._db = self._connect(self.path)
            except _Damaged as again:
                raise _Unusable(self.path, f"a new cache is unusable too: {again}") from None

    def _connect(self, where: str | Path) -> sqlite3.Connection:
        """Open, check (integrity, schema) and prepare the database; _Damaged or _Unusable when it cannot."""
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(where, timeout=LOCK_WAIT_S, isolation_level=None)
            if where != ":memory:":
                rows = _execute_waiting(db, "PRAGMA quick_check", self.warn, where).fetchall()
                if rows != [("ok",)]:
                    raise _Damaged(f"SQLite finds it damaged ({' '.join(str(r[0]) for r in rows[:1])})")
                self._check_schema(db)
                _execute_waiting(db, "PRAGMA journal_mode=WAL", self.warn, where)
                db.execute("PRAGMA synchronous=NORMAL")
            if not self.read_only or where == ":memory:":
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            return db
        except _Damaged:
            assert db is not None  # raised only by the checks of an open database
            db.close()
            raise
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            if _is_damage(exc):
                raise _Damaged(f"not a usable SQLite database ({exc})") from None
            raise _Unusable(Path(where), f"cannot open the count cache: {exc}") from None

    @staticmethod
    def _check_schema(db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise _Damaged(f"schema version {version}, this fomo-order writes {SCHEMA_VERSION}")
        present = set(_table_names(db))
        for table, columns in _expected_tables().items():
            if table in present and _columns(db, table) != columns:
                raise _Damaged(f"table {table!r} has another schema than this fomo-order's")
        unknown = present - set(_expected_tables())
        if version == 0 and unknown:
            raise _Damaged(f"holds tables that are not the count cache's ({', '.join(sorted(unknown))})")

    def _set_aside(self) -> Path:
        """Rename the damaged file (and its WAL files) beside it; the name says when."""
        assert self.path is not None  # only a cache in a file is damaged
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = self.path.with_name(f"{CACHE_FILE}.damaged-{stamp}")
        serial = 1
        while aside.exists():
            serial += 1
            aside = self.path.with_name(f"{CACHE_FILE}.damaged-{stamp}-{serial}")
        try:
            for suffix in ("-wal", "-shm"):
                extra = self.path.with_name(CACHE_FILE + suffix)
                if extra.exists():
                    os.replace(extra, aside.with_name(aside.name + suffix))
            os.replace(self.path, aside)
        except OSError as exc:
            raise _Unusable(self.path, f"damaged, and cannot be set aside: {exc.strerror or exc}") from None
        return aside

    @property
    def where(self) -> str:
        """For messages: the file, or that counts live in memory only."""
        return str(self.path) if self.path is not None else "memory only (no cache directory)"

    def _failed(self, exc: sqlite3.Error) -> InputError:
        return InputError(self.where, f"the count cache failed: {exc}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> CountCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Network sources -------------------------------------------------------------------------------

    def get_counts(self, source: str, index: str, kind: str, queries: Iterable[str]) -> dict[str, int]:
        """The cached count of each of ``queries`` that has one."""
        found: dict[str, int] = {}
        wanted = list(dict.fromkeys(queries))
        step = 500  # stay well under SQLite's limit on bound parameters
        for start in range(0, len(wanted), step):
            chunk = wanted[start : start + step]
            marks = ",".join("?" * len(chunk))
            try:
                rows = self._db.execute(
                    "SELECT query, count FROM counts WHERE source=? AND index_name=? AND count_kind=? "
                    f"AND query IN ({marks})",
                    (source, index, kind, *chunk),
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._failed(exc) from None
            found.update(rows)
        bad = {query: count_problem(count) for query, count in found.items() if count_problem(count)}
        if bad:
            for query in bad:
                del found[query]
            first = next(iter(bad.items()))
            action = "skipped" if self.read_only else "dropped, to be fetched again"
            self.warn(f"{self.where}: {len(bad)} cached counts are not counts (first: {first[0]!r} {first[1]}); "
                      f"{action}")
            if not self.read_only:
                try:
                    with self._transaction():
                        self._db.executemany(
                            "DELETE FROM counts WHERE source=? AND index_name=? AND count_kind=? AND query=?",
                            [(source, index, kind, query) for query in bad],
                        )
                except sqlite3.Error as exc:
                    raise self._failed(exc) from None
        return found

    def put_counts(self, source: str, index: str, kind: str, counts: Mapping[str, int]) -> None:
        """Store counts in one transaction (one batch of results)."""
        if not counts:
            return
        for query, count in counts.items():
            problem = count_problem(count)
            if problem:  # callers check counts where they enter; never store one that is not a count
                raise ValueError(f"count of {query!r} {problem}")
        now = time.time()
        try:
            with self._transaction():
                self._db.executemany(
                    "INSERT OR REPLACE INTO counts VALUES (?, ?, ?, ?, ?, ?)",
                    [(source, index, kind, query, count, now) for query, count in counts.items()],
                )
        except sqlite3.Error as exc:
            raise self._failed(exc) from None

    # Local corpus ----------------------------------------------------------------------------------

    def get_file_counts(self, file_key: str, kind: str) -> FileCounts | None:
        """Every count stored for one corpus file (later passes override earlier ones), or None."""
        try:
            rows = self._db.execute(
                "SELECT c.documents, c.text_bytes, c.nonzero, q.queries FROM corpus_file_counts c "
                "JOIN query_lists q ON q.digest = c.query_list WHERE c.file_key=? AND c.count_kind=? "
                "ORDER BY c.rowid",
                (file_key, kind),
            ).fetchall()
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        if not rows:
            return None
        try:
            return _file_counts(rows)
        except (ValueError, TypeError, AttributeError, zlib.error) as exc:
            action = "skipped" if self.read_only else "dropped, to be counted again"
            self.warn(f"{self.where}: the cached counts of corpus file {file_key!r} are not counts ({exc}); {action}")
            if not self.read_only:
                try:
                    with self._transaction():
                        self._db.execute(
                            "DELETE FROM corpus_file_counts WHERE file_key=? AND count_kind=?", (file_key, kind)
                        )
                except sqlite3.Error as db_exc:
                    raise self._failed(db_exc) from None
            return None

    def put_file_counts(self, file_key: str, kind: str, queries: list[str], counts: list[int], documents: int,
                        text_bytes: int) -> None:
        """Store one pass over one file: the count of each of ``queries`` (zeros are stored implicitly)."""
        queries_blob = zlib.compress(json.dumps(queries, ensure_ascii=False).encode("utf-8"))
        digest = hashlib.sha256(queries_blob).hexdigest()
        nonzero = {str(i): int(c) for i, c in enumerate(counts) if c}
        try:
            with self._transaction():
                self._db.execute("INSERT OR IGNORE INTO query_lists VALUES (?, ?)", (digest, queries_blob))
                self._db.execute(
                    "INSERT INTO corpus_file_counts VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (file_key, kind, digest, int(documents), int(text_bytes),
                     zlib.compress(json.dumps(nonzero).encode("ascii")), time.time()),
                )
        except sqlite3.Error as exc:
            raise self._failed(exc) from None

    def _transaction(self):
        return _Transaction(self._db, self.warn, self.where)


def _file_counts(rows: list[tuple]) -> FileCounts:
    """Decode the stored passes over one file; ValueError (or a decoding error) when they are not counts."""
    counts: dict[str, int] = {}
    for _, _, nonzero_blob, queries_blob in rows:
        queries = json.loads(zlib.decompress(queries_blob))
        nonzero = {int(i): c for i, c in json.loads(zlib.decompress(nonzero_blob)).items()}
        if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
            raise ValueError("the query list is not a list of strings")
        for count in nonzero.values():
            problem = count_problem(count)
            if problem:
                raise ValueError(f"a count {problem}")
        for position, query in enumerate(queries):
            counts[query] = nonzero.get(position, 0)
    documents, text_bytes = rows[-1][0], rows[-1][1]
    for value in (documents, text_bytes):
        problem = count_problem(value)
        if problem:
            raise ValueError(f"a file size {problem}")
    return FileCounts(counts=counts, documents=documents, text_bytes=text_bytes)


class _Transaction:
    def __init__(self, db: sqlite3.Connection, warn: Callable[[str], None], where: str) -> None:
        self.db, self.warn, self.where = db, warn, where

    def __enter__(self) -> None:
        _execute_waiting(self.db, "BEGIN IMMEDIATE", self.warn, self.where)

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
