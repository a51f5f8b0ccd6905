"""Issue 10, the frequency-count side: each case rerun as the issue writes it.

The contract everywhere: exit 0 done, 2 bad input or OS error, 3 counts missing; one line on stderr, never a
traceback, never a partial or temporary file, never the API key.
"""

from __future__ import annotations

import errno
import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fomo_order.frequencies.cache import CACHE_FILE, CountCache
from fomo_order.frequencies.wimbd import REDACTED
from tests.conftest import REPO
from tests.servers import ElasticsearchStandIn, Fault, InfinigramStandIn, es_count, infinigram_count

NAMES = ["apple", "pear", "plum"]
KEY = "k3y-SECRET-7f1e2d9c4b"  # the key the stand-in expects


pytestmark = pytest.mark.usefixtures("quiet_network_environment")


def catalog_file(tmp_path: Path, names: list[str] = NAMES) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"datasets": [{"name": "D", "classes": names}]}), encoding="utf-8")
    return path


def one_line(stderr: str) -> str:
    """The run's one error line (after any warning notes), checked for the contract."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), stderr
    assert sum(line.startswith("error: ") for line in lines) == 1, stderr
    return lines[-1]


def temporaries(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.name.endswith(".tmp")]


def files_holding(root: Path, secret: str) -> list[Path]:
    """Every file under ``root`` whose bytes hold ``secret`` (UTF-8, or UTF-16 as some tools write)."""
    needles = [secret.encode("utf-8"), secret.encode("utf-16-le")]
    return [path for path in root.rglob("*") if path.is_file() and any(n in path.read_bytes() for n in needles)]


def freqs_counts(path: Path) -> dict[str, int]:
    return json.loads(path.read_text(encoding="utf-8"))["counts"]


# 1. Secrets ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tail", ["\r", "\n", "\r\n", " \t\n"])
def test_a_key_pasted_with_its_line_end_is_stripped_and_works(run_cli, monkeypatch, tmp_path: Path, tail) -> None:
    """ES_API_KEY with a trailing CR or LF and --es-url: was a traceback ending in the key; now the key works."""
    monkeypatch.setenv("ES_API_KEY", KEY + tail)
    out = tmp_path / "freqs.json"
    with ElasticsearchStandIn(api_key=KEY) as es:
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-url", es.url,
                         "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert freqs_counts(out) == {f"D+++{n}": es_count(n) for n in NAMES}
    assert KEY not in result.output and not files_holding(tmp_path, KEY)


@pytest.mark.parametrize(
    ("key", "kind"),
    [("k3y-SECRET-\u00e9\u20ac", "a non-ASCII character"), ("k3y-SECRET-\x01x", "a control character"),
     ("k3y-SECRET-\u00e9abc", "a non-ASCII character")],
)
def test_a_key_that_is_not_printable_ascii_is_one_line_that_never_shows_it(
    run_cli, monkeypatch, tmp_path: Path, key: str, kind: str
) -> None:
    """A non-Latin-1 (or Latin-1 but non-ASCII, or control) character: was a UnicodeEncodeError traceback."""
    monkeypatch.setenv("ES_API_KEY", key)
    out = tmp_path / "freqs.json"
    with ElasticsearchStandIn(api_key=KEY) as es:
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-url", es.url,
                         "--cache-dir", tmp_path / "cache")
        assert not es.requests  # refused before anything is sent
    assert result.exit_code == 2
    assert one_line(result.stderr) == (
        f"error: ES_API_KEY: the API key holds {kind}; an API key is printable ASCII (the key is not shown)"
    )
    assert key.strip() not in result.output and "SECRET" not in result.output
    assert not out.exists() and not files_holding(tmp_path, "SECRET")


def test_a_key_from_es_config_is_checked_the_same_way(run_cli, tmp_path: Path) -> None:
    config = tmp_path / "es_config.yml"
    config.write_text('cloud_id: "x:eA=="\napi_key: "k3y-SECRET-\u20ac"\n', encoding="utf-8")
    out = tmp_path / "freqs.json"
    result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-config", config,
                     "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith(f"error: {config}: api_key: the API key holds a non-ASCII character")
    assert "SECRET" not in result.output and not out.exists()


def test_a_key_from_es_config_loses_its_line_end() -> None:
    from fomo_order.frequencies.wimbd import resolve_credentials

    config_dir = Path(os.environ["XDG_CACHE_HOME"]).parent
    config = config_dir / "es_config.yml"
    config.write_text(f'cloud_id: "x:eA=="\napi_key: "{KEY}\\r\\n"\n', encoding="utf-8")
    assert resolve_credentials(None, config).api_key == KEY


def test_a_server_that_echoes_the_key_in_a_401_never_gets_it_shown(run_cli, monkeypatch, tmp_path: Path) -> None:
    wrong = "wrong-SECRET-0123456789"
    monkeypatch.setenv("ES_API_KEY", wrong + "\r\n")
    out = tmp_path / "freqs.json"
    with ElasticsearchStandIn(api_key=KEY, echo_credentials=True) as es:
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-url", es.url,
                         "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "HTTP 401: security_exception" in line and f"ApiKey {REDACTED}" in line
    assert wrong not in result.output and not files_holding(tmp_path, wrong)
    assert not out.exists()


def test_a_server_that_echoes_the_key_in_500s_never_gets_it_shown(run_cli, monkeypatch, tmp_path: Path) -> None:
    """Retries (notes), the failure list and the summary: the key nowhere, and the counts stay missing (exit 3)."""
    monkeypatch.setenv("ES_API_KEY", KEY + "\n")
    out = tmp_path / "freqs.json"
    cache = tmp_path / "cache"
    with ElasticsearchStandIn(api_key=KEY, echo_credentials=True) as es:
        es.inject(*[Fault("500")] * 20)
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-url", es.url,
                         "--cache-dir", cache, "--tries", "3")
    assert result.exit_code == 3
    assert "internal failure" in result.stderr and REDACTED in result.stderr
    assert "Traceback" not in result.output
    assert KEY not in result.output and not files_holding(tmp_path, KEY)
    assert not out.exists() and not temporaries(tmp_path)


# 2. Counts are checked where they enter ---------------------------------------------------------------------

BAD_COUNTS = [-7, 2**70, 10**399, 12.5, 3.0, "12", None, True]


@pytest.mark.parametrize("value", BAD_COUNTS, ids=repr)
def test_a_bad_server_count_is_retried_then_a_failed_query(run_cli, monkeypatch, tmp_path: Path, value) -> None:
    """hits.total.value = -7 was written with exit 0 and cached; 2^70 and 400 digits crashed."""
    out = tmp_path / "freqs.json"
    cache = tmp_path / "cache"
    args = ("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--cache-dir", cache, "--tries", "2")
    with ElasticsearchStandIn() as es:
        es.inject(*[Fault("count", value=value)] * 10)
        failed = run_cli(*args, "--es-url", es.url)
        assert failed.exit_code == 3, failed.output
        assert "Traceback" not in failed.output and len(failed.stderr) < 5000
        assert "invalid count in the answer" in failed.stderr or "hits.total.value" in failed.stderr
        assert not out.exists() and not temporaries(tmp_path)
        with sqlite3.connect(cache / CACHE_FILE) as db:
            assert db.execute("SELECT COUNT(*) FROM counts").fetchone()[0] == 0
        # A rerun against the healthy server asks again and writes the true counts.
        es.clear()
        done = run_cli(*args, "--es-url", es.url)
    assert done.exit_code == 0, done.output
    assert freqs_counts(out) == {f"D+++{n}": es_count(n) for n in NAMES}


@pytest.mark.parametrize("value", [-7, 2**70, "12"], ids=repr)
def test_a_bad_count_once_is_asked_again(run_cli, tmp_path: Path, value) -> None:
    out = tmp_path / "freqs.json"
    with ElasticsearchStandIn() as es:
        es.inject(Fault("count", value=value))
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-url", es.url,
                         "--cache-dir", tmp_path / "cache")
        assert es.phrases_asked() == {n: 2 for n in NAMES}
    assert result.exit_code == 0, result.output
    assert freqs_counts(out) == {f"D+++{n}": es_count(n) for n in NAMES}


@pytest.mark.parametrize("value", [-7, 2**70, 1.5], ids=repr)
def test_infinigram_counts_are_checked_the_same_way(run_cli, tmp_path: Path, value) -> None:
    out = tmp_path / "freqs.json"
    args = ("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--source", "infinigram", "--case", "exact",
            "--cache-dir", tmp_path / "cache", "--tries", "2")
    with InfinigramStandIn() as ig:
        ig.inject(*[Fault("count", value=value)] * 10)
        failed = run_cli(*args, "--api-url", ig.url)
        assert failed.exit_code == 3 and "Traceback" not in failed.output and not out.exists()
        ig.clear()
        done = run_cli(*args, "--api-url", ig.url)
    assert done.exit_code == 0
    assert freqs_counts(out) == {f"D+++{n}": infinigram_count(n) for n in NAMES}


@pytest.mark.parametrize("tampered", [-5, "abc", 2**63, 1.5], ids=repr)
def test_a_tampered_cached_count_is_dropped_and_fetched_again(run_cli, tmp_path: Path, tampered) -> None:
    """A cache value of -5 was written as is; 'abc' crashed."""
    out = tmp_path / "freqs.json"
    cache = tmp_path / "cache"
    with ElasticsearchStandIn() as es:
        args = ("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-url", es.url, "--cache-dir", cache)
        assert run_cli(*args).exit_code == 0
        with sqlite3.connect(cache / CACHE_FILE) as db:
            db.execute("UPDATE counts SET count=? WHERE query='pear'", (str(tampered),) if tampered == 2**63
                       else (tampered,))
        # --check never changes the cache and never takes the bad value: the count is missing (exit 3).
        check = run_cli(*args, "--check")
        assert check.exit_code == 3 and "cached counts are not counts" in check.stderr
        es.clear()
        result = run_cli(*args)
        assert es.phrases_asked() == {"pear": 1}
    assert result.exit_code == 0, result.output
    assert "1 cached counts are not counts (first: 'pear' is" in result.stderr and "fetched again" in result.stderr
    assert freqs_counts(out)["D+++pear"] == es_count("pear")
    with sqlite3.connect(cache / CACHE_FILE) as db:
        assert db.execute("SELECT count FROM counts WHERE query='pear'").fetchone()[0] == es_count("pear")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"counts": {"D+++apple": -5, "D+++pear": 1, "D+++plum": 1}}', "count of 'D+++apple' is negative: -5"),
        ('{"counts": {"D+++apple": 1180591620717411303424, "D+++pear": 1, "D+++plum": 1}}',
         "count of 'D+++apple' is 2^63 or more: 1180591620717411303424"),
        ('{"counts": {"D+++apple": ' + "9" * 400 + ', "D+++pear": 1, "D+++plum": 1}}',
         "count of 'D+++apple' is 2^63 or more: an integer of 400 digits"),
        ('{"counts": {"D+++apple": 1.5, "D+++pear": 1, "D+++plum": 1}}',
         "count of 'D+++apple' is not a whole number: 1.5"),
        ('{"counts": {"D+++apple": "abc", "D+++pear": 1, "D+++plum": 1}}',
         "count of 'D+++apple' is not a number: 'abc'"),
    ],
)
def test_a_counts_file_holds_counts_or_is_refused(run_cli, tmp_path: Path, text: str, problem: str) -> None:
    """A 400-digit count was an OverflowError in `order frequency`."""
    counts = tmp_path / "freqs.json"
    counts.write_text(text, encoding="utf-8")
    out = tmp_path / "stream.json"
    result = run_cli("order", "frequency", catalog_file(tmp_path), "--frequencies", counts, "-o", out)
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"error: {counts}: {problem}"
    assert not out.exists()


def test_no_source_gets_a_bad_count_into_freqs(monkeypatch, tmp_path: Path) -> None:
    """Whatever a source's function returns, FREQS.json gets counts only (the last gate, in fetch_frequencies)."""
    from fomo_order.catalog import load_catalog
    from fomo_order.frequencies import FetchFailed, FetchOptions, fetch_frequencies, wordfreq_source

    monkeypatch.setattr(wordfreq_source, "wordfreq_counts", lambda queries, language: dict.fromkeys(queries, -1))
    with pytest.raises(FetchFailed, match="no valid count") as failure:
        fetch_frequencies(load_catalog(catalog_file(tmp_path)), FetchOptions(source="wordfreq"))
    assert failure.value.exit_code == 3 and set(failure.value.failed) == set(NAMES)


# 3. The count cache ------------------------------------------------------------------------------------------


def fill_cache(run_cli, tmp_path: Path, es: ElasticsearchStandIn, cache: Path, out: Path) -> tuple:
    args = ("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-url", es.url, "--cache-dir", cache)
    assert run_cli(*args).exit_code == 0
    return args


def damage_a_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096 + 8 : 4096 + 400] = b"\xff" * 392  # page 2: a b-tree page
    path.write_bytes(bytes(data))


def damage_the_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = b"\x00" * 100
    path.write_bytes(bytes(data))


def wrong_table(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE counts (query TEXT, n INTEGER)")


def wrong_version(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")


@pytest.mark.parametrize("damage", [damage_a_page, damage_the_header, wrong_table, wrong_version])
def test_a_damaged_or_foreign_cache_is_set_aside_and_rebuilt(run_cli, tmp_path: Path, damage) -> None:
    """A damaged SQLite page or a wrong schema was a traceback."""
    out = tmp_path / "freqs.json"
    cache = tmp_path / "cache"
    with ElasticsearchStandIn() as es:
        args = fill_cache(run_cli, tmp_path, es, cache, out)
        damage(cache / CACHE_FILE)
        before = (cache / CACHE_FILE).read_bytes()
        out.unlink()
        es.clear()
        result = run_cli(*args)
        assert es.phrases_asked() == dict.fromkeys(NAMES, 1)  # all asked again: the cache was rebuilt
        source = f"wimbd {es.url}"
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    notes = [line for line in result.stderr.splitlines() if "set aside as" in line]
    assert len(notes) == 1 and "starting a new cache" in notes[0]
    aside = [path for path in cache.iterdir() if path.name.startswith(CACHE_FILE + ".damaged-")]
    assert len(aside) == 1 and aside[0].name in notes[0]
    kept = aside[0].read_bytes()  # kept beside the new one, as it was (SQLite may touch its header's counters)
    assert len(kept) == len(before) and kept[100:] == before[100:]
    assert freqs_counts(out) == {f"D+++{n}": es_count(n) for n in NAMES}
    with CountCache(cache) as rebuilt:  # the new cache serves the next run
        assert rebuilt.get_counts(source, "c4", "documents", NAMES) == {n: es_count(n) for n in NAMES}


def test_a_check_never_sets_a_damaged_cache_aside(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "freqs.json"
    cache = tmp_path / "cache"
    with ElasticsearchStandIn() as es:
        args = fill_cache(run_cli, tmp_path, es, cache, out)
    damage_a_page(cache / CACHE_FILE)
    before = sorted(path.name for path in cache.iterdir())
    result = run_cli(*args, "--check")
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert sorted(path.name for path in cache.iterdir()) == before


def without_writable_home(tmp_path: Path) -> list[str]:
    homes = ["/nonexistent"] if os.geteuid() != 0 else []  # root could create /nonexistent: not the case
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    return [*homes, str(blocker / "home")]


def test_no_writable_default_cache_dir_still_runs_and_says_so_once(tmp_path: Path) -> None:
    """HOME=/nonexistent (no XDG_CACHE_HOME): the run goes on with counts in memory, and one note says so."""
    out = tmp_path / "freqs.json"
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "ES_API_KEY", "ES_CLOUD_ID")}
    with ElasticsearchStandIn() as es:
        for home in without_writable_home(tmp_path):
            result = subprocess.run(
                [sys.executable, "-m", "fomo_order", "fetch-frequencies", str(catalog_file(tmp_path)), "-o", str(out),
                 "--es-url", es.url],
                capture_output=True, text=True, env={**env, "HOME": home}, cwd=REPO,
            )
            assert result.returncode == 0, result.stderr
            assert "Traceback" not in result.stderr
            notes = [line for line in result.stderr.splitlines() if "cannot use the default cache directory" in line]
            assert len(notes) == 1 and "counts are kept for this run only" in notes[0]
            assert freqs_counts(out) == {f"D+++{n}": es_count(n) for n in NAMES}
            out.unlink()


@pytest.mark.parametrize("where", ["under-a-file", "read-only", "cache-file-is-a-directory"])
def test_an_unusable_cache_dir_is_one_line(run_cli, tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    if where == "under-a-file":
        cache = blocker / "cache"
    elif where == "read-only":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only directories")
        cache = tmp_path / "ro"
        cache.mkdir()
        cache.chmod(0o555)
    else:
        cache = tmp_path / "cache"
        (cache / CACHE_FILE).mkdir(parents=True)
    out = tmp_path / "freqs.json"
    with ElasticsearchStandIn() as es:
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-url", es.url,
                         "--cache-dir", cache)
        assert not es.requests
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith(f"error: {cache}")
    assert not out.exists()


# 4. One clean line ---------------------------------------------------------------------------------------------


def test_a_file_size_limit_when_writing_freqs_is_one_line_and_leaves_no_temporary(tmp_path: Path) -> None:
    """`ulimit -f`: disk full after the whole fetch was a traceback, and left a .tmp file."""
    catalog = catalog_file(tmp_path, [f"word{i}" for i in range(300)])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "freqs.json"
    out.write_text('{"old": true}\n', encoding="utf-8")
    command = (f"ulimit -f 8; exec {sys.executable} -m fomo_order fetch-frequencies {catalog} -o {out} "
               "--source wordfreq")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2, result.stderr
    assert one_line(result.stderr) == f"error: {out}: cannot write: File too large"
    assert out.read_text(encoding="utf-8") == '{"old": true}\n'  # the old file, untouched
    assert sorted(path.name for path in out_dir.iterdir()) == ["freqs.json"]


def test_disk_full_when_writing_freqs_is_one_line_and_leaves_no_temporary(run_cli, monkeypatch, tmp_path) -> None:
    out = tmp_path / "freqs.json"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--source", "wordfreq")
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"error: {out}: cannot write: No space left on device"
    assert not out.exists() and not temporaries(tmp_path)


@pytest.mark.parametrize("where", ["a-directory", "under-a-file", "read-only"])
def test_an_unwritable_output_is_one_line_before_any_count(run_cli, tmp_path: Path, where: str) -> None:
    if where == "a-directory":
        out = tmp_path / "out"
        out.mkdir()
        problem = "is a directory, expected a file"
    elif where == "under-a-file":
        blocker = tmp_path / "a-file"
        blocker.write_text("x", encoding="utf-8")
        out = blocker / "freqs.json"
        problem = f"cannot write: {blocker} is not a directory"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only directories")
        directory = tmp_path / "ro"
        directory.mkdir()
        directory.chmod(0o555)
        out = directory / "freqs.json"
        problem = f"cannot write: no permission to write in {directory}"
    with ElasticsearchStandIn() as es:
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-url", es.url,
                         "--cache-dir", tmp_path / "cache")
        assert not es.requests  # said before the fetch, not after it
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"error: {out}: {problem}"
    assert not temporaries(tmp_path)


def test_wordfreq_with_an_unknown_language_is_one_line(run_cli, tmp_path: Path) -> None:
    """`--source wordfreq --index xx-nope` was a LookupError traceback."""
    out = tmp_path / "freqs.json"
    result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--source", "wordfreq",
                     "--index", "xx-nope")
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith("error: --index: wordfreq has no word list for language 'xx-nope' "
                                              "(it has: ")
    assert ", en, " in result.stderr and not out.exists()


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e300"])
def test_an_infinite_timeout_is_refused(run_cli, tmp_path: Path, value: str) -> None:
    """`--timeout inf` was accepted."""
    out = tmp_path / "freqs.json"
    result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--source", "wordfreq",
                     "--timeout", value)
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert line.startswith("error: --timeout: must be ")
    assert ("finite" in line) if math.isinf(float(value)) else ("at most 86400" in line)
    assert not out.exists()


def test_the_library_names_the_timeout_parameter(tmp_path: Path) -> None:
    from fomo_order.catalog import load_catalog
    from fomo_order.errors import ParameterError
    from fomo_order.frequencies import FetchOptions, fetch_frequencies

    for value in (math.inf, math.nan, -1.0):
        with pytest.raises(ParameterError) as refused:
            fetch_frequencies(load_catalog(catalog_file(tmp_path)), FetchOptions(source="wordfreq", timeout=value))
        assert refused.value.parameter == "timeout" and "--" not in refused.value.problem


def test_a_password_in_es_url_stays_out_of_the_meta_the_cache_and_messages(run_cli, tmp_path: Path) -> None:
    password = "pa55-SECRET-word"
    out = tmp_path / "freqs.json"
    with ElasticsearchStandIn() as es:
        url = es.url.replace("http://", f"http://user:{password}@")
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-url", url,
                         "--cache-dir", tmp_path / "cache")
        assert result.exit_code == 0, result.output
        argv = json.loads(out.read_text(encoding="utf-8"))["argv"]
        assert argv[argv.index("--es-url") + 1] == es.url.replace("http://", f"http://user:{REDACTED}@")
        check = run_cli(*argv, "--check")  # the recorded command line still checks the file (it asks no server)
    assert check.exit_code == 0, check.output
    assert password not in result.output and not files_holding(tmp_path, password)


@pytest.mark.parametrize("tampered", [{"0": -5}, {"0": "abc"}, "not json"], ids=repr)
def test_tampered_corpus_counts_in_the_cache_are_dropped_and_counted_again(run_cli, tmp_path: Path, tampered) -> None:
    import zlib

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("an apple a day\npear and apple\n", encoding="utf-8")
    out = tmp_path / "freqs.json"
    cache = tmp_path / "cache"
    args = ("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--source", "corpus", "--corpus", corpus,
            "--cache-dir", cache)
    assert run_cli(*args).exit_code == 0
    expected = freqs_counts(out)
    assert expected == {"D+++apple": 2, "D+++pear": 1, "D+++plum": 0}
    blob = zlib.compress((tampered if isinstance(tampered, str) else json.dumps(tampered)).encode())
    with sqlite3.connect(cache / CACHE_FILE) as db:
        db.execute("UPDATE corpus_file_counts SET nonzero=?", (blob,))
    out.unlink()
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    assert "are not counts" in result.stderr and "dropped, to be counted again" in result.stderr
    assert "scanned 1 of 1 corpus files" in result.stderr
    assert freqs_counts(out) == expected
