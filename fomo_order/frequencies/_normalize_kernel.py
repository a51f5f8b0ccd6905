"""Numba kernel: UTF-8 text -> its tokens, lower-cased, each followed by one space (see ``analyzer``).

A pure function over arrays; the character tables and the meaning of the classes live in ``analyzer``.
Comparisons are spelled out (``c == A or c == B``) because that is what numba compiles to plain branches.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Mirrors of fomo_order.frequencies.analyzer's class numbers (numba needs them as module constants).
SEP = 0
LETTER = 1
DIGIT = 2
IDEOGRAPH = 3
EXTEND = 4
CONNECTOR = 5
MID_LETTER = 6
MID_NUM_LETTER = 7
MID_NUM = 8
DOCUMENT_BREAK = 9

REPLACEMENT = 0xFFFD


@njit(cache=True, nogil=True, inline="always")
def _decode(src: np.ndarray, i: int, n: int) -> tuple[int, int]:
    b0 = np.int64(src[i])
    if b0 < 0x80:
        return b0, 1
    if b0 < 0xC0:
        return REPLACEMENT, 1
    if b0 < 0xE0:
        if i + 1 < n:
            return ((b0 & 0x1F) << 6) | (np.int64(src[i + 1]) & 0x3F), 2
        return REPLACEMENT, 1
    if b0 < 0xF0:
        if i + 2 < n:
            return ((b0 & 0x0F) << 12) | ((np.int64(src[i + 1]) & 0x3F) << 6) | (np.int64(src[i + 2]) & 0x3F), 3
        return REPLACEMENT, 1
    if i + 3 < n:
        cp = (
            ((b0 & 0x07) << 18)
            | ((np.int64(src[i + 1]) & 0x3F) << 12)
            | ((np.int64(src[i + 2]) & 0x3F) << 6)
            | (np.int64(src[i + 3]) & 0x3F)
        )
        if cp <= 0x10FFFF:
            return cp, 4
    return REPLACEMENT, 1


@njit(cache=True, nogil=True, inline="always")
def _encode(out: np.ndarray, o: int, cp: int) -> int:
    if cp < 0x80:
        out[o] = cp
        return o + 1
    if cp < 0x800:
        out[o] = 0xC0 | (cp >> 6)
        out[o + 1] = 0x80 | (cp & 0x3F)
        return o + 2
    if cp < 0x10000:
        out[o] = 0xE0 | (cp >> 12)
        out[o + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[o + 2] = 0x80 | (cp & 0x3F)
        return o + 3
    out[o] = 0xF0 | (cp >> 18)
    out[o + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[o + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[o + 3] = 0x80 | (cp & 0x3F)
    return o + 4


@njit(cache=True, nogil=True)
def normalize_utf8(src: np.ndarray, classes: np.ndarray, lower: np.ndarray, out: np.ndarray) -> int:
    """Write the normalized form of ``src`` into ``out`` (at least ``2 * len(src) + 16`` bytes); return its length.

    Output: a space, then every token followed by one space; a U+0000 in the input becomes ``"\\x00 "``, so
    that no token sequence (and no phrase) spans two documents.
    """
    n = src.shape[0]
    o = 0
    out[o] = 32
    o += 1
    in_token = False
    token_start = 0
    has_core = False  # the token holds a letter, digit or ideograph (a run of '_' alone is no token)
    last = SEP  # class of the token's last character that was not a combining mark
    i = 0
    while i < n:
        cp, width = _decode(src, i, n)
        c = classes[cp]
        if c == EXTEND:
            if in_token:
                o = _encode(out, o, lower[cp])
            i += width
            continue
        if in_token:
            joins = False
            if c == LETTER or c == DIGIT or c == CONNECTOR:  # noqa: SIM109
                joins = last != IDEOGRAPH
            elif (c == MID_LETTER or c == MID_NUM_LETTER or c == MID_NUM) and i + width < n:  # noqa: SIM109
                next_cp, _ = _decode(src, i + width, n)
                after = classes[next_cp]
                if last == LETTER and after == LETTER:
                    joins = c != MID_NUM
                elif last == DIGIT and after == DIGIT:
                    joins = c != MID_LETTER
            if joins:
                o = _encode(out, o, lower[cp])
                if c == LETTER or c == DIGIT:  # noqa: SIM109
                    has_core = True
                last = c
                i += width
                continue
            if has_core:
                out[o] = 32
                o += 1
            else:
                o = token_start
            in_token = False
        if c == LETTER or c == DIGIT or c == CONNECTOR or c == IDEOGRAPH:  # noqa: SIM109
            in_token = True
            token_start = o
            has_core = c != CONNECTOR
            last = c
            o = _encode(out, o, lower[cp])
        elif c == DOCUMENT_BREAK:
            out[o] = 0
            out[o + 1] = 32
            o += 2
        i += width
    if in_token:
        if has_core:
            out[o] = 32
            o += 1
        else:
            o = token_start
    return o
