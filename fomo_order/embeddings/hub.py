"""Hugging Face Hub offline mode, and fingerprints of local model files."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fomo_order.fileio import sha256_file


@contextmanager
def hub_offline() -> Iterator[None]:
    """Forbid Hub requests while loading from local files, so nothing waits on the network.

    ``huggingface_hub`` reads ``HF_HUB_OFFLINE`` at import; its module constant is set too when it is
    already imported. Both are restored afterwards.
    """
    import huggingface_hub.constants as hub_constants

    saved_env = {name: os.environ.get(name) for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    saved_constant = hub_constants.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub_constants.HF_HUB_OFFLINE = saved_constant
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def hub_resolvable() -> bool:
    """Whether the Hub's host name resolves (or a proxy is set): without it, a download would retry
    for a minute before failing, so the caller looks in the local Hugging Face cache only."""
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    from urllib.parse import urlparse

    import huggingface_hub.constants as hub_constants

    host = urlparse(hub_constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def directory_sha256(directory: Path) -> str:
    """Digest of a model directory: every file's relative path and sha256 (hidden files and caches left out)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        digest.update(f"{relative.as_posix()}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()
