"""``fomo-order fetch-frequencies``: parsing, one-line messages in flags, exit codes, ``--check``, ``--quiet``.

What the sources count is tested on the library (tests/frequencies/); here only what the CLI adds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DEMO_CATALOG, REPO
from tests.servers import ElasticsearchStandIn, Fault, InfinigramStandIn

pytestmark = pytest.mark.usefixtures("quiet_network_environment")


@pytest.fixture
def es():
    with ElasticsearchStandIn() as server:
        yield server


def catalog_file(tmp_path: Path, names: list[str]) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"datasets": [{"name": "D", "classes": names}]}), encoding="utf-8")
    return path


def one_line_error(result) -> str:
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    return result.stderr.strip()


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (("--source", "wimbd", "--corpus", "x.json"), "--corpus: is for the corpus source, not wimbd"),
        (("--source", "corpus", "--es-url", "http://x"), "--es-url: is for the wimbd source, not corpus"),
        (("--source", "wordfreq", "--api-url", "http://x"), "--api-url: is for the infinigram source"),
        (("--source", "wimbd", "--case", "exact"), "--case: is for the infinigram source, not wimbd"),
        (("--source", "wimbd", "--count", "occurrences"), "--count: wimbd counts documents"),
        (("--source", "wordfreq", "--count", "documents"), "--count: wordfreq gives an estimate"),
        (("--source", "corpus"), "--corpus: the corpus source needs at least one corpus file or directory"),
        (("--source", "corpus", "--corpus", "missing.json"), "missing.json: corpus path not found"),
        (("--source", "corpus", "--corpus", ".", "--index", "c4"), "--index: is not used by the corpus source"),
        (("--source", "infinigram", "--api-url", "ftp://x"), "--api-url: 'ftp://x' is not an http(s) URL"),
        (("--source", "wordfreq", "--check", "--refresh"), "--refresh: asks the servers again"),
    ],
)
def test_option_mistakes_are_one_line_in_flags_and_write_nothing(run_cli, tmp_path: Path, extra, problem) -> None:
    out = tmp_path / "freqs.json"
    result = run_cli("fetch-frequencies", DEMO_CATALOG, "-o", out, *extra, "--cache-dir", tmp_path / "c")
    assert result.exit_code == 2, result.output
    assert problem in one_line_error(result)
    assert not out.exists()


@pytest.mark.parametrize("extra", [("--source", "google"), ("--count", "lines"), ("--case", "upper"),
                                   ("--concurrency", "0"), ("--tries", "0")])
def test_typer_refuses_what_is_not_a_choice(run_cli, tmp_path: Path, extra) -> None:
    result = run_cli("fetch-frequencies", DEMO_CATALOG, "-o", tmp_path / "f.json", *extra)
    assert result.exit_code == 2 and not (tmp_path / "f.json").exists()


def test_missing_credentials_name_every_way_to_give_them(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "freqs.json"
    result = run_cli("fetch-frequencies", catalog_file(tmp_path, ["a"]), "-o", out, "--cache-dir", tmp_path / "c")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert line.startswith("error: --source: wimbd: no Elasticsearch credentials")
    for name in ("ES_CLOUD_ID", "ES_API_KEY", "--es-url", "--es-config", "infinigram", "corpus", "wordfreq"):
        assert name in line
    assert not out.exists()


def test_operator_words_with_case_exact_name_the_flags_that_help(run_cli, tmp_path: Path) -> None:
    with InfinigramStandIn() as api:
        result = run_cli("fetch-frequencies", catalog_file(tmp_path, ["logic AND gate"]), "-o", tmp_path / "f.json",
                         "--source", "infinigram", "--api-url", api.url + "/", "--case", "exact")
        assert api.requests == []
    assert result.exit_code == 2
    line = one_line_error(result)
    assert line.startswith("error: --case: exact: 1 queries hold ' AND ' or ' OR '")
    assert "'logic AND gate'" in line and "--case variants" in line and "--queries FILE" in line


def test_a_server_refusing_the_run_is_exit_2_in_its_own_words(run_cli, es, tmp_path: Path) -> None:
    out = tmp_path / "freqs.json"
    result = run_cli("fetch-frequencies", catalog_file(tmp_path, ["a", "b"]), "-o", out, "--es-url", es.url,
                     "--index", "c5")
    assert result.exit_code == 2
    assert one_line_error(result) == f"error: {es.url}: HTTP 404: index_not_found_exception: no such index [c5]"
    assert not out.exists()


def test_missing_counts_of_one_cause_are_exit_3_with_one_note_and_one_error_line(run_cli, es, tmp_path: Path) -> None:
    out = tmp_path / "freqs.json"
    es.inject(Fault("500"), Fault("500"))
    names = [f"thing {i}" for i in range(14)]
    result = run_cli("fetch-frequencies", catalog_file(tmp_path, names), "-o", out, "--es-url", es.url,
                     "--tries", 2, "--concurrency", 1)
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr  # the retry note (the reporter's notes reach stderr), then the error
    assert "HTTP 500" in lines[0] and "retrying 14 queries" in lines[0]
    assert lines[-1].startswith("error: 14 of 14 queries have no count (first: 'thing 0': HTTP 500")
    assert "gave up after 2 tries" in lines[-1] and "rerun the same command" in lines[-1]
    assert not out.exists()


def test_missing_counts_of_several_causes_list_one_line_per_cause(run_cli, es, tmp_path: Path) -> None:
    out = tmp_path / "freqs.json"
    es.inject(Fault("500"), Fault("503"))  # batch 1 and batch 2 fail, each once and for good (--tries 1)
    names = [f"thing {i}" for i in range(14)]
    result = run_cli("fetch-frequencies", catalog_file(tmp_path, names), "-o", out, "--es-url", es.url,
                     "--tries", 1, "--concurrency", 1, "--batch-size", 5)
    assert result.exit_code == 3
    lines = result.stderr.rstrip().splitlines()
    causes = [line for line in lines if line.startswith("  no count for 5 queries")]
    assert len(causes) == 2 and "(first: 'thing 0'): HTTP 500" in causes[0] and "HTTP 503" in causes[1]
    assert lines[-1].startswith("error: 10 of 14 queries have no count") and len(lines) == 3
    es.inject(Fault("500"), Fault("503"))
    quiet = run_cli("fetch-frequencies", catalog_file(tmp_path, names), "-o", out, "--es-url", es.url,
                    "--tries", 1, "--concurrency", 1, "--batch-size", 5, "--cache-dir", tmp_path / "c2", "-q")
    assert quiet.exit_code == 3 and one_line_error(quiet).startswith("error: 10 of 14 queries have no count")
    assert not out.exists()


def test_unusable_cache_directory_is_one_line(run_cli, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", encoding="utf-8")
    out = tmp_path / "freqs.json"
    result = run_cli(
        "fetch-frequencies", DEMO_CATALOG, "-o", out, "--source", "infinigram", "--api-url", "http://127.0.0.1:9/",
        "--cache-dir", blocker,
    )
    assert result.exit_code == 2 and one_line_error(result).startswith(f"error: {blocker}") and not out.exists()


def test_summary_line_and_quiet(run_cli, es, tmp_path: Path) -> None:
    catalog, out, cache = catalog_file(tmp_path, ["a", "b", "a "]), tmp_path / "freqs.json", tmp_path / "cache"
    args = ("fetch-frequencies", catalog, "-o", out, "--es-url", es.url, "--cache-dir", cache)
    result = run_cli(*args)
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == f"wrote {out}: 3 concepts, 2 distinct queries (0 from cache, 2 counted in 1 requests)\n"
    quiet = run_cli(*args, "--quiet")
    assert quiet.exit_code == 0 and quiet.output == ""


def test_meta_records_the_command_line_that_remakes_and_checks_it(run_cli, es, tmp_path: Path) -> None:
    catalog, out, cache = catalog_file(tmp_path, ["a", "b"]), tmp_path / "freqs.json", tmp_path / "cache"
    result = run_cli("fetch-frequencies", catalog, "-o", out, "--es-url", es.url, "--cache-dir", cache,
                     "--batch-size", 50, "--refresh", "--quiet")
    assert result.exit_code == 0, result.output
    meta = json.loads(out.read_text(encoding="utf-8"))
    assert list(meta)[:5] == ["tool", "version", "command", "argv", "inputs"] and "meta" not in meta
    assert meta["command"] == "fetch-frequencies"
    assert meta["argv"] == ["fetch-frequencies", str(catalog), "--output", str(out), "--es-url", es.url,
                            "--batch-size", "50", "--cache-dir", str(cache)]  # no --refresh, --quiet: same output
    es.clear()
    check = run_cli(*meta["argv"], "--check")
    assert check.exit_code == 0, check.output
    assert check.stderr.startswith(f"{out} is current: 2 concepts") and es.requests == []


def test_check_with_a_network_source_asks_no_server_and_writes_nothing(run_cli, es, tmp_path: Path) -> None:
    catalog, out, cache = catalog_file(tmp_path, ["a", "b"]), tmp_path / "freqs.json", tmp_path / "cache"
    args = ("fetch-frequencies", catalog, "-o", out, "--es-url", es.url, "--cache-dir", cache)
    missing = run_cli(*args, "--check")  # nothing cached: the counts cannot be known without asking
    assert missing.exit_code == 3 and "offline run asks no server" in missing.stderr
    assert es.requests == [] and not out.exists() and not cache.exists()
    assert run_cli(*args).exit_code == 0
    es.clear()
    assert run_cli(*args, "--check").exit_code == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    document["counts"]["D+++a"] += 1
    out.write_text(json.dumps(document, indent=4), encoding="utf-8")
    before = out.read_bytes()
    differs = run_cli(*args, "--check")
    assert differs.exit_code == 1 and "differs in counts" in differs.stderr
    assert out.read_bytes() == before and es.requests == []
    out.unlink()
    gone = run_cli(*args, "--check")
    assert gone.exit_code == 1 and f"{out}: missing" in gone.stderr and not out.exists()


def test_the_committed_demo_frequencies_are_current(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    freqs = REPO / "streams" / "frequencies.json"
    meta = json.loads(freqs.read_text(encoding="utf-8"))
    assert list(meta)[:5] == ["tool", "version", "command", "argv", "inputs"]
    assert list(meta)[-2:] == ["queries", "counts"]
    assert meta["command"] == "fetch-frequencies" and meta["source"] == "wordfreq"
    monkeypatch.chdir(REPO)  # recorded paths are relative to the repository root, as `make streams` ran
    result = run_cli(*meta["argv"], "--check")
    assert result.exit_code == 0, result.output


def test_the_api_and_the_cli_write_byte_identical_files(run_cli, tmp_path: Path) -> None:
    from fomo_order import FetchOptions, fetch_frequencies, load_catalog

    catalog, out = catalog_file(tmp_path, ["apple", "pear", "Apple"]), tmp_path / "cli.json"
    assert run_cli("fetch-frequencies", catalog, "-o", out, "--source", "wordfreq", "-q").exit_code == 0
    argv = json.loads(out.read_text(encoding="utf-8"))["argv"]
    result = fetch_frequencies(load_catalog(catalog), FetchOptions(source="wordfreq"), argv=argv)
    result.write(tmp_path / "api.json")
    assert (tmp_path / "api.json").read_bytes() == out.read_bytes()
    result.write(out, check=True)  # and the API's check agrees with the CLI's file


def test_output_dash_writes_the_document_to_standard_output_and_no_file(tmp_path: Path) -> None:
    from tests.conftest import run_subprocess

    catalog = catalog_file(tmp_path, ["apple", "pear"])
    work = tmp_path / "work"
    work.mkdir()
    piped = run_subprocess("fetch-frequencies", catalog, "-o", "-", "--source", "wordfreq", cwd=work)
    assert piped.returncode == 0, piped.stderr
    assert list(work.iterdir()) == []  # no file named "-"
    document = json.loads(piped.stdout)
    assert list(document)[:4] == ["tool", "version", "command", "argv"]
    assert document["argv"][2:4] == ["--output", "-"] and list(document["counts"]) == ["D+++apple", "D+++pear"]
    assert piped.stderr.startswith("wrote standard output: 2 concepts")
    quiet = run_subprocess("fetch-frequencies", catalog, "-o", "-", "--source", "wordfreq", "-q", cwd=work)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == piped.stdout
    check = run_subprocess("fetch-frequencies", catalog, "-o", "-", "--source", "wordfreq", "--check", cwd=work)
    assert check.returncode == 2 and check.stderr.count("\n") == 1 and "standard output" in check.stderr
    assert check.stdout == "" and list(work.iterdir()) == []


def test_an_unreachable_server_is_one_retry_note_and_one_short_error_line(run_cli, tmp_path: Path) -> None:
    with InfinigramStandIn() as gone:
        url = gone.url  # a loopback port that refuses connections once the server is stopped
    out = tmp_path / "freqs.json"
    names = [f"thing {i}" for i in range(12)]
    result = run_cli("fetch-frequencies", catalog_file(tmp_path, names), "-o", out, "--source", "infinigram",
                     "--api-url", url, "--tries", 3, "--concurrency", 1, "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 3
    lines = result.stderr.rstrip().splitlines()
    assert len(lines) == 2, result.stderr  # one note for the one cause, then the error
    assert "connection failed" in lines[0] and "retrying" in lines[0]
    error = lines[1]
    assert error.startswith("error: 12 of 12 queries have no count (stopped early: 3 requests in a row failed")
    assert f"rerun the same command once {url} answers" in error and len(error) < 300
    assert "HTTPConnection(" not in result.stderr and not out.exists()
