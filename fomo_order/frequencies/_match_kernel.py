"""Numba kernels: find many token phrases at once in normalized text (``analyzer`` output).

Normalized text is tokens separated by single spaces, documents separated by NUL. A phrase is found by
hashing (FNV-1a, 64 bits) the bytes from a token start: tokens that begin some phrase are looked up in a
small table that says how many tokens to extend; each extension's hash is looked up in the phrase table
and a hit is confirmed byte by byte, so hash collisions never miscount. Pure functions over arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
SPACE = 32
NUL = 0


@njit(cache=True, nogil=True, inline="always")
def _step(state: np.uint64, byte: np.uint8) -> np.uint64:
    return (state ^ np.uint64(byte)) * FNV_PRIME


@njit(cache=True, nogil=True, inline="always")
def _key(state: np.uint64) -> np.uint64:
    # 0 marks an empty slot
    return state if state != np.uint64(0) else np.uint64(1)


@njit(cache=True, nogil=True, inline="always")
def _slot(key: np.uint64, mask: np.uint64) -> np.int64:
    return np.int64((key ^ (key >> np.uint64(31))) & mask)


@njit(cache=True, nogil=True)
def build_tables(
    phrase_bytes: np.ndarray, offsets: np.ndarray, capacity: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hash tables for phrases ``phrase_bytes[offsets[p]:offsets[p + 1]]`` (normalized, no outer spaces).

    Returns ``(phrase_keys, phrase_ids, first_keys, first_lengths)``: open addressing, ``capacity`` slots
    (a power of two, more than twice the phrase count).
    """
    mask = np.uint64(capacity - 1)
    phrase_keys = np.zeros(capacity, dtype=np.uint64)
    phrase_ids = np.full(capacity, -1, dtype=np.int64)
    first_keys = np.zeros(capacity, dtype=np.uint64)
    first_lengths = np.zeros(capacity, dtype=np.int64)
    for p in range(offsets.shape[0] - 1):
        state = FNV_OFFSET
        first = np.uint64(0)
        tokens = 1
        for i in range(offsets[p], offsets[p + 1]):
            byte = phrase_bytes[i]
            if byte == SPACE:
                if tokens == 1:
                    first = state
                tokens += 1
            state = _step(state, byte)
        if tokens == 1:
            first = state
        key = _key(state)
        slot = _slot(key, mask)
        while phrase_keys[slot] != np.uint64(0):
            slot = (slot + 1) & np.int64(mask)
        phrase_keys[slot] = key
        phrase_ids[slot] = p
        key = _key(first)
        slot = _slot(key, mask)
        while first_keys[slot] != np.uint64(0) and first_keys[slot] != key:
            slot = (slot + 1) & np.int64(mask)
        first_keys[slot] = key
        if tokens > first_lengths[slot]:
            first_lengths[slot] = tokens
    return phrase_keys, phrase_ids, first_keys, first_lengths


@njit(cache=True, nogil=True, inline="always")
def _same_bytes(text: np.ndarray, start: int, end: int, phrase_bytes: np.ndarray, p_start: int, p_end: int) -> bool:
    if end - start != p_end - p_start:
        return False
    for k in range(end - start):  # noqa: SIM110 (a plain loop is what numba compiles well)
        if text[start + k] != phrase_bytes[p_start + k]:
            return False
    return True


@njit(cache=True, nogil=True)
def count_phrases(
    text: np.ndarray,
    phrase_bytes: np.ndarray,
    offsets: np.ndarray,
    phrase_keys: np.ndarray,
    phrase_ids: np.ndarray,
    first_keys: np.ndarray,
    first_lengths: np.ndarray,
    counts: np.ndarray,
    last_document: np.ndarray,
    first_document: int,
    per_document: bool,
) -> int:
    """Add to ``counts[p]`` the occurrences of phrase ``p`` in ``text`` (or, if ``per_document``, the
    documents holding it: ``last_document`` remembers the last document counted for each phrase, and
    documents are numbered from ``first_document``). Returns the number of the last document seen + 1.
    """
    n = text.shape[0]
    mask = np.uint64(phrase_keys.shape[0] - 1)
    document = first_document
    i = 0
    while i < n:
        byte = text[i]
        if byte == SPACE:
            i += 1
            continue
        if byte == NUL:
            document += 1
            i += 1
            continue
        state = FNV_OFFSET
        j = i
        while j < n and text[j] != SPACE and text[j] != NUL:
            state = _step(state, text[j])
            j += 1
        key = _key(state)
        slot = _slot(key, mask)
        longest = 0
        while first_keys[slot] != np.uint64(0):
            if first_keys[slot] == key:
                longest = first_lengths[slot]
                break
            slot = (slot + 1) & np.int64(mask)
        end = j
        tokens = 1
        while longest > 0:
            key = _key(state)
            slot = _slot(key, mask)
            while phrase_keys[slot] != np.uint64(0):
                if phrase_keys[slot] == key:
                    p = phrase_ids[slot]
                    if _same_bytes(text, i, end, phrase_bytes, offsets[p], offsets[p + 1]):
                        if not per_document:
                            counts[p] += 1
                        elif last_document[p] != document:
                            last_document[p] = document
                            counts[p] += 1
                slot = (slot + 1) & np.int64(mask)
            if tokens >= longest or end + 1 >= n or text[end] != SPACE:
                break
            following = text[end + 1]
            if following == SPACE or following == NUL:  # noqa: SIM109
                break
            state = _step(state, text[end])
            k = end + 1
            while k < n and text[k] != SPACE and text[k] != NUL:
                state = _step(state, text[k])
                k += 1
            end = k
            tokens += 1
        i = j
    return document + 1
