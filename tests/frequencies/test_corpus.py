"""The corpus source (library): phrase counts in local files, checked against a simple independent count."""

from __future__ import annotations

import gzip
import json
import os
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fomo_order.catalog import load_catalog
from fomo_order.errors import InputError
from fomo_order.frequencies import FetchOptions, FetchSummary, fetch_frequencies
from tests.conftest import shared_path

# An independent reference: the tokenization rules written out as a plain character loop, and phrases
# counted with n-gram tables. Slow, obviously right, and shares no code with the numba kernels.
MID_LETTER = set(":\u00b7\u0387\u055f\u05f4\u2027\ufe13\ufe55\uff1a")
MID_NUM_LETTER = set(".'\u2018\u2019\u2024\ufe52\uff07\uff0e")
MID_NUM = set(",;\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b")
IDEOGRAPHS = ((0x3040, 0x309F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))


def char_class(char: str) -> str:
    if char in MID_LETTER:
        return "mid-letter"
    if char in MID_NUM_LETTER:
        return "mid-num-letter"
    if char in MID_NUM:
        return "mid-num"
    category = unicodedata.category(char)
    if category.startswith("L"):
        return "ideograph" if any(a <= ord(char) <= b for a, b in IDEOGRAPHS) else "letter"
    if category == "Nd":
        return "digit"
    if category.startswith("M") or (category == "Cf" and char != "\u200b"):
        return "extend"
    if category == "Pc":
        return "connector"
    return "other"


def lower(char: str) -> str:
    return char.lower()[0] if char.lower() else char


def reference_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    current: list[str] = []
    has_core = False
    last = None
    for i, char in enumerate(text):
        kind = char_class(char)
        if kind == "extend":
            if current:
                current.append(lower(char))
            continue
        if current:
            following = char_class(text[i + 1]) if i + 1 < len(text) else None
            if kind in ("letter", "digit", "connector"):
                joins = last != "ideograph"
            else:
                between_letters = kind in ("mid-letter", "mid-num-letter") and last == following == "letter"
                between_digits = kind in ("mid-num", "mid-num-letter") and last == following == "digit"
                joins = between_letters or between_digits
            if joins:
                current.append(lower(char))
                has_core = has_core or kind in ("letter", "digit")
                last = kind
                continue
            if has_core:
                tokens.append("".join(current))
            current = []
        if kind in ("letter", "digit", "connector", "ideograph"):
            current, has_core, last = [lower(char)], kind != "connector", kind
    if current and has_core:
        tokens.append("".join(current))
    return tokens


def reference_counts(documents: list[str], phrases: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """(documents holding each phrase, occurrences of each phrase), by n-gram tables per document."""
    wanted = {phrase: tuple(reference_tokens(phrase)) for phrase in phrases}
    lengths = sorted({len(t) for t in wanted.values() if t})
    in_documents: Counter = Counter()
    occurrences: Counter = Counter()
    for document in documents:
        tokens = reference_tokens(document)
        grams: Counter = Counter()
        for n in lengths:
            grams.update(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        for phrase, key in wanted.items():
            if key and grams[key]:
                in_documents[phrase] += 1
                occurrences[phrase] += grams[key]
    return {p: in_documents[p] for p in phrases}, {p: occurrences[p] for p in phrases}


def count_with_library(documents: list[str], phrases: list[str], per_document: bool) -> dict[str, int]:
    from fomo_order.frequencies.analyzer import normalize_texts
    from fomo_order.frequencies.matching import PhraseCounter

    patterns = normalize_texts(phrases)
    distinct = sorted({p for p in patterns if p.strip()})
    counter = PhraseCounter(distinct, per_document=per_document)
    counter.add(documents)
    position = {p: i for i, p in enumerate(distinct)}
    pairs = zip(phrases, patterns, strict=True)
    return {phrase: int(counter.counts[position[p]]) if p.strip() else 0 for phrase, p in pairs}


def write_catalog(path: Path, classes: list[str]) -> Path:
    path.write_text(json.dumps({"datasets": [{"name": "D", "classes": classes}]}), encoding="utf-8")
    return path


def write_jsonl(path: Path, documents: list[str], compress: bool = False) -> Path:
    data = "".join(json.dumps({"text": d, "url": "https://example.com"}) + "\n" for d in documents).encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def corpus_fetch(catalog: Path, cache: Path, *corpus: Path, **options: object) -> tuple[dict, FetchSummary]:
    """The library call that ``fetch-frequencies --source corpus --corpus ... --cache-dir CACHE`` makes."""
    settings = FetchOptions(source="corpus", corpus=corpus, cache_dir=cache, **options)
    fetched = fetch_frequencies(load_catalog(catalog), settings)
    return fetched.document(), fetched.summary


def test_counts_all_fomo_class_names_in_the_c4_sample_exactly_as_the_reference(tmp_path: Path) -> None:
    sample = shared_path("corpus", "c4-sample.00000-of-00001.json.gz")
    lists = shared_path("fif", "datasets")
    with gzip.open(sample, "rt", encoding="utf-8") as handle:
        documents = [json.loads(line)["text"] for line in handle]
    results = {}
    for kind in ("documents", "occurrences"):
        results[kind] = corpus_fetch(lists, tmp_path / "cache", sample, count=kind)[0]
    queries = results["documents"]["queries"]
    assert len(queries) == 18381
    phrases = sorted(set(queries.values()))
    in_documents, occurrences = reference_counts(documents, phrases)
    for kind, expected in (("documents", in_documents), ("occurrences", occurrences)):
        counts = results[kind]["counts"]
        wrong = [(cid, counts[cid], expected[q]) for cid, q in queries.items() if counts[cid] != expected[q]]
        assert wrong == [], f"{kind}: {len(wrong)} counts differ from the reference, e.g. {wrong[:5]}"
    assert sum(1 for c in results["documents"]["counts"].values() if c) > 1000  # the check is not vacuous
    meta = results["documents"]
    assert meta["documents"] == 1000 and meta["count"] == "documents"
    assert meta["text_bytes"] == sum(len(d.encode("utf-8")) for d in documents)


TRICKY = "aAbB zZ1 2éÉ'’.,:;-_ \u0301東京\u200dß\n"


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_one_pass_counts_equal_the_reference_on_tricky_text(data) -> None:
    documents = data.draw(st.lists(st.text(alphabet=TRICKY, max_size=60), min_size=1, max_size=5))
    joined = "\n".join(documents)
    phrases = []
    for _ in range(data.draw(st.integers(1, 6))):
        if joined and data.draw(st.booleans()):  # a piece of the text: boundaries fall anywhere, inside tokens too
            start = data.draw(st.integers(0, len(joined) - 1))
            phrases.append(joined[start : data.draw(st.integers(start, min(len(joined), start + 15)))])
        else:
            phrases.append(data.draw(st.text(alphabet=TRICKY, max_size=12)))
    phrases = list(dict.fromkeys(phrases))
    in_documents, occurrences = reference_counts(documents, phrases)
    assert count_with_library(documents, phrases, per_document=True) == in_documents
    assert count_with_library(documents, phrases, per_document=False) == occurrences


@pytest.mark.parametrize(
    ("phrase", "document", "documents", "occurrences"),
    [
        ("Black footed Albatross", "A BLACK-FOOTED albatross, and a black footed  albatross.", 1, 2),
        ("apple", "Pineapple and apples are not an apple.", 1, 1),
        ("apple", "APPLE! Apple? (apple)", 1, 3),
        ("ha ha", "ha ha ha", 1, 2),  # overlapping occurrences count
        ("don", "I don't know", 0, 0),  # the apostrophe between letters keeps "don't" one token
        ("don't", "I DON'T know; don't", 1, 2),
        ("3.14", "pi is 3.14, not 3 14", 1, 1),
        ("u.s.a", "Made in the U.S.A.", 1, 1),
        ("aquarium fish", "an aquarium_fish", 0, 0),  # '_' joins words into one token
        ("café", "Café au lait", 1, 1),
    ],
)
def test_matches_like_match_phrase_with_the_standard_analyzer(phrase, document, documents, occurrences) -> None:
    assert count_with_library([document, "unrelated text"], [phrase], per_document=True) == {phrase: documents}
    assert count_with_library([document], [phrase], per_document=False) == {phrase: occurrences}


def test_a_phrase_never_spans_two_documents() -> None:
    counts = count_with_library(["a black", "footed albatross", "black footed albatross"], ["black footed"], True)
    assert counts == {"black footed": 1}


def test_file_formats_directories_and_parallel_processes(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "catalog.json", ["red apple", "pear", "plum tree", "nothing here"])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_jsonl(corpus / "a.jsonl", ["A red apple.", "Red apples", "pear, pear"])
    write_jsonl(corpus / "b.json.gz", ["The plum tree; a red-apple"], compress=True)
    (corpus / "c.txt").write_text("pear\n\nred apple and pear\nplum\n", encoding="utf-8")
    (corpus / "d.txt.gz").write_bytes(gzip.compress(b"PLUM TREE\n"))
    (corpus / ".hidden.jsonl").write_text("not json\n", encoding="utf-8")
    expected = {"D+++red apple": 3, "D+++pear": 3, "D+++plum tree": 2, "D+++nothing here": 0}
    outputs = []
    for processes in (1, 2):
        freqs, summary = corpus_fetch(catalog, tmp_path / f"cache{processes}", corpus, concurrency=processes)
        assert freqs["counts"] == expected
        assert freqs["documents"] == 3 + 1 + 3 + 1
        assert [Path(f["path"]).name for f in freqs["corpus"]] == ["a.jsonl", "b.json.gz", "c.txt", "d.txt.gz"]
        assert freqs["count"] == "documents" and freqs["index"] is None
        assert summary.notes == ["scanned 4 of 4 corpus files"]
        outputs.append(freqs)
    assert outputs[0] == outputs[1]
    occurrences, _ = corpus_fetch(catalog, tmp_path / "c", corpus, count="occurrences")
    assert occurrences["counts"]["D+++pear"] == 4 and occurrences["count"] == "occurrences"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("bad.jsonl", b'{"text": "ok"}\n{"text": \n', "line 2: not valid JSON"),
        ("notext.jsonl", b'{"text": "ok"}\n{"body": "x"}\n', "line 2: expected a JSON object with a 'text' string"),
        ("broken.json.gz", b"this is not gzip", "not a readable gzip file"),
        ("truncated.jsonl.gz", gzip.compress(b'{"text": "a"}\n' * 100)[:40], "not a readable gzip file"),
    ],
)
def test_unreadable_corpus_file_is_an_error_naming_it(tmp_path: Path, name, content, problem) -> None:
    catalog = write_catalog(tmp_path / "catalog.json", ["ok"])
    bad = tmp_path / name
    bad.write_bytes(content)
    with pytest.raises(InputError) as unreadable:
        corpus_fetch(catalog, tmp_path / "cache", bad)
    assert unreadable.value.source == str(bad) and problem in unreadable.value.problem


def test_cache_rescans_only_new_or_changed_files_and_missing_phrases(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    catalog = write_catalog(tmp_path / "catalog.json", ["apple", "pear"])
    first = write_jsonl(tmp_path / "one.jsonl", ["apple pie", "pear"])
    second = write_jsonl(tmp_path / "two.jsonl", ["apple"])

    def run(*paths: Path, catalog_path: Path = catalog) -> tuple[str, dict]:
        freqs, summary = corpus_fetch(catalog_path, cache, *paths)
        return "; ".join(summary.notes), freqs["counts"]

    log, counts = run(first)
    assert "scanned 1 of 1 corpus files" in log and counts == {"D+++apple": 1, "D+++pear": 1}
    log, counts = run(first)
    assert "scanned 0 of 1 corpus files" in log and counts == {"D+++apple": 1, "D+++pear": 1}
    log, counts = run(first, second)
    assert "scanned 1 of 2 corpus files" in log and counts == {"D+++apple": 2, "D+++pear": 1}
    write_jsonl(first, ["pear", "pear pear", "plum"])
    os.utime(first, ns=(1, 1))  # a changed file: other size and modification time
    log, counts = run(first, second)
    assert "scanned 1 of 2 corpus files" in log and counts == {"D+++apple": 1, "D+++pear": 2}
    bigger = write_catalog(tmp_path / "bigger.json", ["apple", "pear", "plum"])
    log, counts = run(first, second, catalog_path=bigger)
    assert "scanned 2 of 2 corpus files" in log and counts == {"D+++apple": 1, "D+++pear": 2, "D+++plum": 1}
    log, counts = run(first, second, catalog_path=bigger)
    assert "scanned 0 of 2 corpus files" in log


def test_the_meta_records_corpus_files_as_given_relative_with_their_sha256(tmp_path: Path, monkeypatch) -> None:
    """A committed FREQS.json names nothing machine-local: no absolute path, even when one was given."""
    from fomo_order.fileio import sha256_file

    catalog = write_catalog(tmp_path / "catalog.json", ["pear"])
    (tmp_path / "corpus").mkdir()
    write_jsonl(tmp_path / "corpus" / "a.jsonl", ["pear"])
    write_jsonl(tmp_path / "b.jsonl", ["pear pear"])
    monkeypatch.chdir(tmp_path)
    freqs, _ = corpus_fetch(catalog, tmp_path / "cache", Path("corpus"), (tmp_path / "b.jsonl").resolve())
    assert [f["path"] for f in freqs["corpus"]] == ["corpus/a.jsonl", "b.jsonl"]
    assert [f["sha256"] for f in freqs["corpus"]] == [sha256_file(tmp_path / "corpus" / "a.jsonl"),
                                                       sha256_file(tmp_path / "b.jsonl")]
    assert str(tmp_path) not in json.dumps({k: v for k, v in freqs.items() if k != "inputs"})
    assert freqs["counts"] == {"D+++pear": 2}
