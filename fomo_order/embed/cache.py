"""A content-addressed cache of caption vectors: (model identity, caption) -> raw float32 vector.

Layout: ``<root>/<model key>/`` holds ``model.json`` (what the key stands for) and shards
``<sha256 of the shard>.npz``, each with ``digests`` (uint8, n x 32: sha256 of the caption's UTF-8)
and ``vectors`` (float32, n x dim). Shards are written to a temporary file and renamed, so a crash
leaves whole shards or none; a run adds one shard per few thousand new vectors, so an interrupted
run keeps what it computed. Many shards are merged into one when a cache is opened.

Cached vectors are exactly what the model computed (see ``batching``: a caption's vector does not
depend on its batch), so output made from the cache is bit-identical to a fresh run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fomo_order.fileio import atomic_path, dumps_json

FORMAT = 1
FLUSH_ROWS = 4096
MERGE_ABOVE_SHARDS = 16
DIGEST_BYTES = 32
CACHE_ENV = "FOMO_ORDER_CACHE_DIR"


def default_cache_root() -> Path:
    """``$FOMO_ORDER_CACHE_DIR``, else ``$XDG_CACHE_HOME/fomo-order/embeddings`` (``~/.cache`` by default)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fomo-order" / "embeddings"


def model_key(identity: dict[str, Any]) -> str:
    """Directory name for a model identity: readable prefix + hash of the canonical identity."""
    canonical = json.dumps({"format": FORMAT, **identity}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{identity.get('backend', '')}-{identity.get('model', '')}")
    return f"{label[:60]}-{digest}"


class EmbeddingCache:
    """Vectors of one model identity; ``directory=None`` is a cache that holds and keeps nothing."""

    def __init__(self, directory: Path | None, warn: Callable[[str], None] = lambda message: None) -> None:
        self.directory = directory
        self._warn = warn
        self._index: dict[bytes, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        self._pending_digests: list[bytes] = []
        self._pending_vectors: list[np.ndarray] = []
        self.info: dict[str, Any] | None = None
        if directory is not None:
            self._open()

    @classmethod
    def for_model(
        cls, root: Path | None, identity: dict[str, Any], warn: Callable[[str], None] = lambda message: None
    ) -> EmbeddingCache:
        return cls(None if root is None else Path(root) / model_key(identity), warn)

    def __len__(self) -> int:
        return len(self._index)

    def _open(self) -> None:
        assert self.directory is not None
        info_path = self.directory / "model.json"
        if info_path.is_file():
            try:
                self.info = json.loads(info_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.info = None
        shard_paths = sorted(self.directory.glob("*.npz"))
        for path in shard_paths:
            loaded = self._read_shard(path)
            if loaded is None:
                continue
            digests, vectors = loaded
            if self._shards and vectors.shape[1] != self._shards[0].shape[1]:
                self._warn(f"ignoring cache shard {path}: vectors of dimension {vectors.shape[1]}, not {self.dim}")
                continue
            shard = len(self._shards)
            self._shards.append(vectors)
            for row, digest in enumerate(digests):
                self._index.setdefault(bytes(digest), (shard, row))
        if len(shard_paths) > MERGE_ABOVE_SHARDS:
            self._merge(shard_paths)

    def _read_shard(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            with np.load(path, allow_pickle=False) as data:
                digests, vectors = data["digests"], data["vectors"]
        except FileNotFoundError:  # merged away by a concurrent run; its rows are in the merged shard
            return None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            self._warn(f"ignoring unreadable cache shard {path} ({exc})")
            return None
        if (
            digests.dtype != np.uint8
            or digests.ndim != 2
            or digests.shape[1] != DIGEST_BYTES
            or vectors.dtype != np.float32
            or vectors.ndim != 2
            or vectors.shape[0] != digests.shape[0]
        ):
            self._warn(f"ignoring malformed cache shard {path}")
            return None
        return digests, vectors

    @property
    def dim(self) -> int | None:
        return self._shards[0].shape[1] if self._shards else None

    def lookup(self, digests: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray | None]:
        """(mask of the digests found, their vectors in order; None if none found)."""
        found = np.array([d in self._index for d in digests], dtype=bool)
        if not found.any():
            return found, None
        places = [self._index[digest] for digest in digests if digest in self._index]
        vectors = np.stack([self._shards[shard][row] for shard, row in places])
        return found, vectors

    def add(self, digests: Sequence[bytes], vectors: np.ndarray) -> None:
        """Keep new vectors; they reach disk at the next flush (every few thousand rows, and at the end)."""
        if self.directory is None:
            return
        self._pending_digests.extend(digests)
        self._pending_vectors.append(np.ascontiguousarray(vectors, dtype=np.float32))
        if len(self._pending_digests) >= FLUSH_ROWS:
            self.flush()

    def record_info(self, info: dict[str, Any]) -> None:
        """Write ``model.json`` (identity and how vectors were computed), if it is not there yet."""
        if self.directory is None or self.info == info:
            return
        self.info = info
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.directory / "model.json") as tmp:
                tmp.write_text(dumps_json(info), encoding="utf-8")
        except Exception as exc:  # a cache that cannot be written must not fail the run
            self._disable(f"cannot write to {self.directory} ({exc}); not caching")

    def flush(self) -> None:
        if self.directory is None or not self._pending_digests:
            return
        digests = np.frombuffer(b"".join(self._pending_digests), dtype=np.uint8).reshape(-1, DIGEST_BYTES)
        vectors = np.concatenate(self._pending_vectors)
        self._pending_digests, self._pending_vectors = [], []
        try:
            self._write_shard(digests, vectors)
        except Exception as exc:
            self._disable(f"cannot write to {self.directory} ({exc}); not caching")

    def _write_shard(self, digests: np.ndarray, vectors: np.ndarray) -> Path:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, digests=digests, vectors=vectors)
        data = buffer.getvalue()
        path = self.directory / f"{hashlib.sha256(data).hexdigest()}.npz"
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        return path

    def _merge(self, shard_paths: list[Path]) -> None:
        """Rewrite all shards as one: the merged shard is in place before any old one is removed."""
        if not self._index:
            return
        digests = list(self._index)
        vectors = np.stack([self._shards[shard][row] for shard, row in self._index.values()])
        digest_array = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, DIGEST_BYTES)
        try:
            merged = self._write_shard(digest_array, vectors)
            for path in shard_paths:
                if path != merged:
                    path.unlink(missing_ok=True)
        except OSError as exc:
            self._warn(f"cannot merge cache shards in {self.directory} ({exc.strerror or exc})")
            return
        self._shards = [vectors]
        self._index = {d: (0, row) for row, d in enumerate(digests)}

    def _disable(self, message: str) -> None:
        self._warn(message)
        self.directory = None
        self._pending_digests, self._pending_vectors = [], []
