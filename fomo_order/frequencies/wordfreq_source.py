"""An offline estimate of how common each phrase is, from the ``wordfreq`` package (not C4).

``wordfreq.word_frequency(phrase, lang)`` is a phrase's frequency per word of running text, estimated
from wordfreq's own mix of corpora (multi-word phrases are combined by wordfreq). We report it as an integer
pseudo-count, ``round(frequency * 1e9)``: occurrences per billion words. Good for ordering on a machine
without network access and for the demo pipeline; not the paper's C4 counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from fomo_order.errors import ParameterError
from fomo_order.frequencies.sources import Counted, CountRequest, Source, register

SCALE = 1_000_000_000
UNIT = "occurrences per 10^9 words (wordfreq estimate)"


def wordfreq_counts(queries: Sequence[str], language: str = "en") -> dict[str, int]:
    """Each query's estimate in ``language``; ParameterError (``index``) for a language wordfreq has no list of."""
    from wordfreq import available_languages, word_frequency

    languages = sorted(available_languages())
    if language not in languages:
        raise ParameterError(
            "index", f"wordfreq has no word list for language {language!r} (it has: {', '.join(languages)})"
        )
    return {query: round(word_frequency(query, language) * SCALE) for query in dict.fromkeys(queries)}


def wordfreq_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wordfreq")
    except PackageNotFoundError:
        return "unknown"


@register(
    Source.wordfreq,
    "an offline estimate from the wordfreq package's word lists (not C4)",
    count_kinds=(),
    count_refusal="wordfreq gives an estimate of frequency, neither documents nor occurrences",
    counts_are=f"{UNIT}; an estimate from the wordfreq package's word lists, NOT counts in C4",
    default_index="en",
    records="estimate",
)
def count_wordfreq(request: CountRequest) -> Counted:
    counts = wordfreq_counts(request.queries, request.index or "en")
    return Counted(counts=counts, facts={"wordfreq_version": wordfreq_version()}, fetched=len(counts))
