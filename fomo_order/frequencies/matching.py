"""Counting many phrases in normalized text at once (see ``_match_kernel``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fomo_order.frequencies.analyzer import normalize_documents_bytes


class PhraseCounter:
    """Counts of ``patterns`` (normalized phrases, ``" tok1 tok2 "``) over the texts fed to :meth:`add`."""

    def __init__(self, patterns: Sequence[str], per_document: bool) -> None:
        from fomo_order.frequencies._match_kernel import build_tables

        encoded = [pattern.strip().encode("utf-8") for pattern in patterns]
        if any(not e for e in encoded):
            raise ValueError("empty pattern")
        self.phrase_bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.zeros(0, np.uint8)
        self.offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=self.offsets[1:])
        capacity = 16
        while capacity < 2 * len(encoded) + 1:
            capacity *= 2
        self.tables = build_tables(self.phrase_bytes, self.offsets, capacity)
        self.per_document = per_document
        self.counts = np.zeros(len(encoded), dtype=np.int64)
        self.last_document = np.full(len(encoded), -1, dtype=np.int64)
        self.documents = 0
        self.text_bytes = 0

    def add(self, texts: list[str]) -> None:
        """Count the patterns in ``texts`` (each a document)."""
        from fomo_order.frequencies._match_kernel import count_phrases

        if not texts:
            return
        normalized, text_bytes = normalize_documents_bytes(texts)
        count_phrases(
            normalized, self.phrase_bytes, self.offsets, *self.tables, self.counts, self.last_document,
            self.documents, self.per_document,
        )
        self.documents += len(texts)
        self.text_bytes += text_bytes
