"""An offline estimate of how common each phrase is, from the ``wordfreq`` package (not C4).

``wordfreq.word_frequency(phrase, lang)`` is a phrase's frequency per word of running text, estimated
from wordfreq's own mix of corpora (multi-word phrases are combined by wordfreq). We report it as an integer
pseudo-count, ``round(frequency * 1e9)``: occurrences per billion words. Good for ordering on a machine
without network access and for the demo pipeline; not the paper's C4 counts.
"""

from __future__ import annotations

from collections.abc import Sequence

SCALE = 1_000_000_000
UNIT = "occurrences per 10^9 words (wordfreq estimate)"


def wordfreq_counts(queries: Sequence[str], language: str = "en") -> dict[str, int]:
    from wordfreq import word_frequency

    return {query: round(word_frequency(query, language) * SCALE) for query in dict.fromkeys(queries)}


def wordfreq_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wordfreq")
    except PackageNotFoundError:
        return "unknown"
