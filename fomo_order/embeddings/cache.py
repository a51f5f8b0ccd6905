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
    """Vectors of one model identity; ``directory=None`` is a cache that holds and keeps nothing.

    Every shard is checked before use: its bytes must hash to its name (the sha256 recorded when it was
    written), its arrays must have the expected types and shapes, its vectors must be finite and non-zero
    and of the model's dimension (``dim``; unknown: the first shard's). A shard that fails is set aside
    (renamed ``<name>.npz.bad``) with a warning, so its captions are embedded again. ``model.json`` is
    kept in ``info`` only when it is an object whose ``identity`` is this cache's.
    """

    def __init__(
        self,
        directory: Path | None,
        warn: Callable[[str], None] = lambda message: None,
        identity: dict[str, Any] | None = None,
        dim: int | None = None,
    ) -> None:
        self.directory = directory
        self._warn = warn
        self._identity = identity
        self._dim = dim
        self._index: dict[bytes, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        self._shard_paths: list[Path] = []
        self._pending_digests: list[bytes] = []
        self._pending_vectors: list[np.ndarray] = []
        self.info: dict[str, Any] | None = None
        if directory is not None:
            self._open()

    @classmethod
    def for_model(
        cls,
        root: Path | None,
        identity: dict[str, Any],
        warn: Callable[[str], None] = lambda message: None,
        dim: int | None = None,
    ) -> EmbeddingCache:
        return cls(None if root is None else Path(root) / model_key(identity), warn, identity, dim)

    def __len__(self) -> int:
        return len(self._index)

    def _open(self) -> None:
        assert self.directory is not None
        self.info = self._read_info(self.directory / "model.json")
        shard_paths = sorted(self.directory.glob("*.npz"))
        for path in shard_paths:
            loaded = self._read_shard(path)
            if loaded is None:
                continue
            digests, vectors = loaded
            if self._dim is None:
                self._dim = int(vectors.shape[1])
            if vectors.shape[1] != self._dim:
                self.set_aside(path, f"vectors of dimension {vectors.shape[1]}, not {self._dim}")
                continue
            self._add_shard(path, digests, vectors)
        if len(self._shard_paths) > MERGE_ABOVE_SHARDS:
            self._merge(list(self._shard_paths))

    def _add_shard(self, path: Path, digests: np.ndarray, vectors: np.ndarray) -> None:
        shard = len(self._shards)
        self._shards.append(vectors)
        self._shard_paths.append(path)
        for row, digest in enumerate(digests):
            self._index.setdefault(bytes(digest), (shard, row))

    def _read_info(self, path: Path) -> dict[str, Any] | None:
        try:
            if not path.is_file():
                return None
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            self._warn(f"ignoring unreadable {path} ({type(exc).__name__}); it is written again")
            return None
        if not isinstance(info, dict) or "identity" not in info:
            self._warn(f"ignoring {path}: not an object with an 'identity'; it is written again")
            return None
        if self._identity is not None and info["identity"] != self._identity:
            self._warn(f"ignoring {path}: its identity is not this model's; it is written again")
            return None
        return info

    def set_aside(self, path: Path, problem: str) -> None:
        """Rename a file that failed a check out of the cache's way (or leave it, if that fails), and say so."""
        target = path.with_name(path.name + ".bad")
        try:
            path.replace(target)
            where = f"set aside as {target.name}"
        except OSError:
            where = "ignored"
        self._warn(f"cache file {path} {where}: {problem}")

    def set_aside_info(self, problem: str) -> None:
        """Set ``model.json`` aside (it described the vectors wrongly) so that it is written again."""
        self.info = None
        if self.directory is not None and (self.directory / "model.json").is_file():
            self.set_aside(self.directory / "model.json", problem)

    def _read_shard(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # merged away by a concurrent run; its rows are in the merged shard
            return None
        except OSError as exc:
            self._warn(f"ignoring unreadable cache shard {path} ({exc.strerror or exc})")
            return None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
                digests, vectors = loaded["digests"], loaded["vectors"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            self.set_aside(path, f"unreadable cache shard ({type(exc).__name__})")
            return None
        if (
            digests.dtype != np.uint8
            or digests.ndim != 2
            or digests.shape[1] != DIGEST_BYTES
            or vectors.dtype != np.float32
            or vectors.ndim != 2
            or vectors.shape[0] != digests.shape[0]
            or vectors.shape[1] == 0
        ):
            self.set_aside(path, "malformed cache shard")
            return None
        if hashlib.sha256(data).hexdigest() != path.stem:  # its name is the sha256 it was written with
            self.set_aside(path, "its content does not match the sha256 it was written with")
            return None
        if not (np.isfinite(vectors).all() and vectors.any(axis=1).all()):
            self.set_aside(path, "a NaN, infinite or zero vector")
            return None
        return digests, vectors

    def keep_dimension(self, dim: int) -> None:
        """Set aside the shards whose vectors have another dimension than ``dim`` (the model's)."""
        if self._dim == dim:
            return
        for path, vectors in zip(self._shard_paths, self._shards, strict=True):
            if vectors.shape[1] != dim:
                self.set_aside(path, f"vectors of dimension {vectors.shape[1]}, not the model's {dim}")
        self._dim = dim
        shards = [(p, s) for p, s in zip(self._shard_paths, self._shards, strict=True) if s.shape[1] == dim]
        digests_of: dict[int, list[tuple[int, bytes]]] = {id(s): [] for _, s in shards}
        for digest, (shard, row) in self._index.items():
            vectors = self._shards[shard]
            if id(vectors) in digests_of:
                digests_of[id(vectors)].append((row, digest))
        self._index, self._shards, self._shard_paths = {}, [], []
        for path, vectors in shards:
            self._shards.append(vectors)
            self._shard_paths.append(path)
            for row, digest in digests_of[id(vectors)]:
                self._index[digest] = (len(self._shards) - 1, row)

    @property
    def dim(self) -> int | None:
        return self._dim

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
        except Exception as exc:  # disk full, read-only: the cache stays as it was
            self._warn(f"cannot merge cache shards in {self.directory} ({getattr(exc, 'strerror', None) or exc})")
            return
        self._shards, self._shard_paths = [vectors], [merged]
        self._index = {d: (0, row) for row, d in enumerate(digests)}

    def _disable(self, message: str) -> None:
        self._warn(message)
        self.directory = None
        self._pending_digests, self._pending_vectors = [], []
