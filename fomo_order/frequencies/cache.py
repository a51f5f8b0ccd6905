"""The on-disk cache of fetched counts: one SQLite file, written as results arrive.

Network counts are keyed by (source, index, count kind, query). Local-corpus counts are kept per corpus
file (keyed by its path, size and modification time), so that a rerun scans only the files, and only for
the phrases, that are missing. Each write is its own transaction in WAL mode: a run killed at any point
(even SIGKILL) loses only what was not yet written.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fomo_order.errors import InputError

CACHE_FILE = "frequencies.sqlite3"

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


@dataclass(frozen=True)
class FileCounts:
    """What the cache knows about one corpus file: counts per query, and the file's size in documents."""

    counts: dict[str, int]
    documents: int
    text_bytes: int


class CountCache:
    """Counts persisted in ``<directory>/frequencies.sqlite3``. Use from one thread."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / CACHE_FILE
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InputError(self.path, f"not usable as the count cache: {exc} (use another directory)") from None
        except OSError as exc:
            raise InputError(self.directory, f"cannot create the cache directory: {exc.strerror or exc}") from None

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
            rows = self._db.execute(
                "SELECT query, count FROM counts WHERE source=? AND index_name=? AND count_kind=? "
                f"AND query IN ({marks})",
                (source, index, kind, *chunk),
            )
            found.update(rows)
        return found

    def put_counts(self, source: str, index: str, kind: str, counts: Mapping[str, int]) -> None:
        """Store counts in one transaction (one batch of results)."""
        if not counts:
            return
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO counts VALUES (?, ?, ?, ?, ?, ?)",
                [(source, index, kind, query, int(count), now) for query, count in counts.items()],
            )

    # Local corpus ----------------------------------------------------------------------------------

    def get_file_counts(self, file_key: str, kind: str) -> FileCounts | None:
        """Every count stored for one corpus file (later passes override earlier ones), or None."""
        rows = self._db.execute(
            "SELECT c.documents, c.text_bytes, c.nonzero, q.queries FROM corpus_file_counts c "
            "JOIN query_lists q ON q.digest = c.query_list WHERE c.file_key=? AND c.count_kind=? ORDER BY c.rowid",
            (file_key, kind),
        ).fetchall()
        if not rows:
            return None
        counts: dict[str, int] = {}
        for _, _, nonzero_blob, queries_blob in rows:
            queries = json.loads(zlib.decompress(queries_blob))
            nonzero = {int(i): c for i, c in json.loads(zlib.decompress(nonzero_blob)).items()}
            for position, query in enumerate(queries):
                counts[query] = nonzero.get(position, 0)
        documents, text_bytes = rows[-1][0], rows[-1][1]
        return FileCounts(counts=counts, documents=documents, text_bytes=text_bytes)

    def put_file_counts(self, file_key: str, kind: str, queries: list[str], counts: list[int], documents: int,
                        text_bytes: int) -> None:
        """Store one pass over one file: the count of each of ``queries`` (zeros are stored implicitly)."""
        queries_blob = zlib.compress(json.dumps(queries, ensure_ascii=False).encode("utf-8"))
        digest = hashlib.sha256(queries_blob).hexdigest()
        nonzero = {str(i): int(c) for i, c in enumerate(counts) if c}
        with self._transaction():
            self._db.execute("INSERT OR IGNORE INTO query_lists VALUES (?, ?)", (digest, queries_blob))
            self._db.execute(
                "INSERT INTO corpus_file_counts VALUES (?, ?, ?, ?, ?, ?, ?)",
                (file_key, kind, digest, int(documents), int(text_bytes),
                 zlib.compress(json.dumps(nonzero).encode("ascii")), time.time()),
            )

    def _transaction(self):
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
