"""How text is cut into tokens when counting phrases in a local corpus.

Elasticsearch's ``match_phrase`` on a ``text`` field with the standard analyzer finds a phrase when the
document's tokens contain the phrase's tokens consecutively. The standard analyzer is Lucene's
StandardTokenizer (Unicode word boundaries, UAX #29) followed by a lower-case filter. This module holds a
table-driven approximation of it, shared by documents and phrases so both are cut the same way:

- a token is a run of letters, digits and connector punctuation (``_``); combining marks and format
  characters stay inside the token they follow;
- ``'`` ``.`` ``:`` (and their Unicode relatives) stay inside a token between two letters (``don't``,
  ``u.s.a``); ``.`` ``,`` ``;`` ``'`` stay inside a token between two digits (``3.14``, ``1,000``);
- each Han ideograph and Hiragana character is a token of its own;
- everything else separates tokens; tokens are lower-cased code point by code point (as Java's
  ``Character.toLowerCase``).

Not modelled: Hebrew- and Katakana-specific rules, emoji sequences and the 255-character token limit.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np

# Character classes of the tokenizer (values of the table built below; the kernel uses the same numbers).
SEP = 0
LETTER = 1
DIGIT = 2
IDEOGRAPH = 3
EXTEND = 4
CONNECTOR = 5  # ExtendNumLet: '_' and other connector punctuation, glues word characters together
MID_LETTER = 6  # inside a token only between two letters
MID_NUM_LETTER = 7  # between two letters or between two digits
MID_NUM = 8  # between two digits only
DOCUMENT_BREAK = 9  # U+0000, used internally to separate documents

MAX_CODE_POINT = 0x10FFFF

# UAX #29 word-break property values for the punctuation that can sit inside a word.
_MID_LETTER_CHARS = ":\u00b7\u0387\u055f\u05f4\u2027\ufe13\ufe55\uff1a"
_MID_NUM_LETTER_CHARS = ".'\u2018\u2019\u2024\ufe52\uff07\uff0e"
_MID_NUM_CHARS = ",;\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b"
_IDEOGRAPH_RANGES = (
    (0x3040, 0x309F),  # Hiragana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK extensions B-G and compatibility supplement
)


@cache
def character_tables() -> tuple[np.ndarray, np.ndarray]:
    """``(classes, lower)``: the class of every code point (uint8) and its lower-case code point (int32)."""
    classes = np.zeros(MAX_CODE_POINT + 1, dtype=np.uint8)
    lower = np.arange(MAX_CODE_POINT + 1, dtype=np.int32)
    category = unicodedata.category
    for code_point in range(MAX_CODE_POINT + 1):
        kind = category(chr(code_point))
        first = kind[0]
        if first == "L":
            classes[code_point] = LETTER
            lowered = chr(code_point).lower()
            if lowered != chr(code_point):
                # Simple (one code point) mapping, as Lucene's LowerCaseFilter; only U+0130 lowers to two.
                lower[code_point] = ord(lowered[0])
        elif kind == "Nd":
            classes[code_point] = DIGIT
        elif first == "M" or (kind == "Cf" and code_point != 0x200B):
            classes[code_point] = EXTEND
        elif kind == "Pc":
            classes[code_point] = CONNECTOR
    for start, end in _IDEOGRAPH_RANGES:
        span = classes[start : end + 1]
        span[span == LETTER] = IDEOGRAPH
    inside_words = ((_MID_LETTER_CHARS, MID_LETTER), (_MID_NUM_LETTER_CHARS, MID_NUM_LETTER), (_MID_NUM_CHARS, MID_NUM))
    for chars, value in inside_words:
        for char in chars:
            classes[ord(char)] = value
    classes[0] = DOCUMENT_BREAK
    classes.setflags(write=False)
    lower.setflags(write=False)
    return classes, lower


def normalize_texts(texts: list[str]) -> list[str]:
    """Each text as ``" tok1 tok2 ... "``: its tokens, lower-cased, one space around each (``" "`` if none).

    A phrase occurs in a document exactly when the phrase's normalized form is a substring of the
    document's, which is what lets one Aho-Corasick pass find every phrase at once.
    """
    if not texts:
        return []
    normalized, _ = normalize_documents(texts)
    return normalized.split("\x00")


def normalize_documents(texts: list[str]) -> tuple[str, int]:
    """All ``texts`` normalized into one string, separated by ``"\x00"``; and their size in UTF-8 bytes."""
    normalized, text_bytes = normalize_documents_bytes(texts)
    return normalized.tobytes().decode("utf-8"), text_bytes


def normalize_documents_bytes(texts: list[str]) -> tuple[np.ndarray, int]:
    """As :func:`normalize_documents`, as UTF-8 bytes (a uint8 array)."""
    from fomo_order.frequencies._normalize_kernel import normalize_utf8

    joined = "\x00".join(text.replace("\x00", " ") if "\x00" in text else text for text in texts)
    classes, lower = character_tables()
    source = np.frombuffer(joined.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    out = np.empty(2 * source.shape[0] + 16, dtype=np.uint8)
    used = normalize_utf8(source, classes, lower, out)
    text_bytes = source.shape[0] - max(len(texts) - 1, 0)
    return out[:used], text_bytes
