"""The registry of frequency sources, and the options each declares (checked before anything is counted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fomo_order.catalog import load_catalog
from fomo_order.errors import ParameterError
from fomo_order.frequencies import SOURCES, CountKind, FetchOptions, Source, fetch_frequencies, get_source
from fomo_order.frequencies.sources import SOURCE_OPTIONS, Counted, CountRequest, register
from tests.conftest import DEMO_CATALOG


def test_every_source_is_registered_with_its_declaration() -> None:
    assert list(SOURCES) == [source.value for source in Source] == ["wimbd", "infinigram", "corpus", "wordfreq"]
    declared = {
        name: (source.default_index, [k.value for k in source.count_kinds], source.records, sorted(source.options))
        for name, source in SOURCES.items()
    }
    assert declared == {
        "wimbd": ("c4", ["documents"], None, ["es_config", "es_url"]),
        "infinigram": ("v4_c4train_llama", ["occurrences"], None, ["api_url", "case"]),
        "corpus": (None, ["documents", "occurrences"], None, ["corpus"]),
        "wordfreq": ("en", [], "estimate", []),
    }
    assert all(set(source.options) <= set(SOURCE_OPTIONS) for source in SOURCES.values())
    assert all(source.summary and source.count_refusal and "--" not in source.count_refusal
               for source in SOURCES.values())


def test_the_default_count_kind_is_the_first_declared() -> None:
    assert get_source("wimbd").count_kind(None) == "documents"
    assert get_source("corpus").count_kind(None) == "documents"
    assert get_source("corpus").count_kind(CountKind.occurrences) == "occurrences"
    assert get_source(Source.wordfreq).count_kind(None) == "estimate"


def test_a_registered_source_runs_through_the_same_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """fetch_frequencies knows no source by name: a source registered under a known name is what runs."""
    asked: list[CountRequest] = []

    def fake(request: CountRequest) -> Counted:
        asked.append(request)
        request.notes.append("fake note")
        return Counted(counts={q: len(q) for q in request.queries}, facts={"made_by": "fake"}, fetched=3)

    monkeypatch.setitem(SOURCES, "wordfreq", SOURCES["wordfreq"])  # restored after the test
    register(Source.wordfreq, "a stand-in", count_kinds=(), count_refusal="no", counts_are="lengths",
             default_index="xx", records="length")(fake)
    fetched = fetch_frequencies(load_catalog(DEMO_CATALOG), FetchOptions(source="wordfreq"))
    freqs, summary = fetched.document(), fetched.summary
    assert asked[0].index == "xx" and asked[0].count == "length" and not asked[0].offline
    assert len(asked[0].queries) == summary.distinct_queries == len(set(freqs["queries"].values()))
    meta = freqs
    assert (meta["source"], meta["index"], meta["count"], meta["counts_are"], meta["made_by"]) == (
        "wordfreq", "xx", "length", "lengths", "fake"
    )
    assert all(freqs["counts"][cid] == len(q) for cid, q in freqs["queries"].items())
    assert summary.notes == ["fake note"] and summary.fetched == 3


@pytest.mark.parametrize(
    ("options", "parameter", "problem"),
    [
        ({"source": "google"}, "source", "unknown source 'google' (choose from wimbd, infinigram, corpus, wordfreq)"),
        ({"source": "wimbd", "corpus": ("x.json",)}, "corpus", "is for the corpus source, not wimbd"),
        ({"source": "corpus", "es_url": "http://x", "corpus": (".",)}, "es_url", "is for the wimbd source, not corpus"),
        ({"source": "wordfreq", "api_url": "http://x"}, "api_url", "is for the infinigram source, not wordfreq"),
        ({"source": "wimbd", "case": "exact"}, "case", "is for the infinigram source, not wimbd"),
        ({"source": "infinigram", "case": "upper"}, "case", "unknown case mode 'upper' (exact or variants)"),
        ({"source": "wimbd", "count": "occurrences"}, "count", "wimbd counts documents (as WIMBD)"),
        ({"source": "wimbd", "count": "lines"}, "count", "unknown count kind 'lines' (documents or occurrences)"),
        ({"source": "wordfreq", "count": "documents"}, "count", "wordfreq gives an estimate"),
        ({"source": "corpus"}, "corpus", "the corpus source needs at least one corpus file or directory"),
        ({"source": "corpus", "corpus": (".",), "index": "c4"}, "index", "is not used by the corpus source"),
        ({"source": "infinigram", "api_url": "ftp://x"}, "api_url", "'ftp://x' is not an http(s) URL"),
        ({"source": "wordfreq", "tries": 0}, "tries", "must be at least 1"),
        ({"source": "wordfreq", "concurrency": 0}, "concurrency", "must be at least 1"),
        ({"source": "wordfreq", "timeout": 0}, "timeout", "must be more than 0 seconds"),
    ],
)
def test_option_mistakes_name_the_parameter_never_a_flag(tmp_path: Path, options, parameter, problem) -> None:
    with pytest.raises(ParameterError) as mistake:
        fetch_frequencies(load_catalog(DEMO_CATALOG), FetchOptions(cache_dir=tmp_path / "c", **options))
    assert mistake.value.parameter == parameter
    assert problem in mistake.value.problem and "--" not in mistake.value.problem
    assert not (tmp_path / "c").exists()
