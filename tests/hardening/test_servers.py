"""Issue 22, cases 9 and 10: servers that trickle their answers, and servers that repeat the credentials.

9. ``--timeout`` is a deadline for a whole request (connect, send, the full answer), for WIMBD over
   Elasticsearch and for infini-gram over HTTP: a server that sends its answer a byte at a time (each byte well
   within the timeout) is cut off at the timeout and retried as any timeout, so the run ends within about
   ``tries x timeout``, in the one-line failure (exit 3: the counts are missing), or succeeds once the server
   answers properly.
10. A secret (the password of ``user:password@`` in the URL, the ``user:password`` pair, the API key, their
   base64 with or without padding, standard or URL-safe, percent-encoded, and any ``Authorization`` value) is
   in no output: stdout, stderr, FREQS.json, the cache; not even when the server repeats the request's
   headers in its error.
"""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from fomo_order.frequencies.redaction import REDACTED, Redactor, redact_url
from tests.hardening.test_frequencies import catalog_file, one_line
from tests.servers import ElasticsearchStandIn, Fault, InfinigramStandIn, es_count, infinigram_count

pytestmark = pytest.mark.usefixtures("quiet_network_environment")

NAMES = ["apple", "pear", "plum"]
TIMEOUT = 1.0
# A byte every PAUSE seconds: each read gets a byte long before the timeout, the whole answer comes after many.
PAUSE = 0.04


def standin(source: str):
    return ElasticsearchStandIn() if source == "wimbd" else InfinigramStandIn()


def server_flags(source: str, url: str) -> list[str]:
    return ["--es-url", url] if source == "wimbd" else ["--source", "infinigram", "--api-url", url, "--case", "exact"]


def expected_counts(source: str, names: list[str] = NAMES) -> dict[str, int]:
    if source == "wimbd":
        return {f"D+++{name}": es_count(name) for name in names}
    return {f"D+++{name}": infinigram_count(name) for name in names}


# 9. A trickling server ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["trickle", "trickle-body"])
@pytest.mark.parametrize("source", ["wimbd", "infinigram"])
def test_a_trickling_server_is_cut_off_at_the_timeout(run_cli, tmp_path: Path, source: str, kind: str) -> None:
    """Was: each byte reset the read timeout, so the run waited as long as the server pleased (here >10 s a try)."""
    out = tmp_path / "freqs.json"
    tries = 2
    with standin(source) as server:
        server.inject(*[Fault(kind, seconds=PAUSE)] * 40)
        started = time.monotonic()
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, *server_flags(source, server.url),
                         "--tries", tries, "--timeout", TIMEOUT, "--cache-dir", tmp_path / "cache")
        elapsed = time.monotonic() - started
        answered = [request for request in server.requests if request.answered]
    assert result.exit_code == 3, result.output
    line = one_line(result.stderr)
    assert f"no complete answer within {TIMEOUT:g}s (gave up after {tries} tries)" in line
    assert f"no complete answer within {TIMEOUT:g}s; retrying" in result.stderr
    assert not answered and not out.exists()
    # Every query's tries run side by side (the default concurrency), each cut at the timeout; one trickled
    # answer alone would take more than 10 s.
    assert elapsed < tries * TIMEOUT + 2.0, elapsed


@pytest.mark.parametrize("source", ["wimbd", "infinigram"])
def test_a_server_that_trickles_once_is_retried_and_the_run_succeeds(run_cli, tmp_path: Path, source: str) -> None:
    out = tmp_path / "freqs.json"
    with standin(source) as server:
        server.inject(Fault("trickle", seconds=PAUSE))
        started = time.monotonic()
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, *server_flags(source, server.url),
                         "--concurrency", 1, "--timeout", TIMEOUT,
                         "--cache-dir", tmp_path / "cache")
        elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert f"no complete answer within {TIMEOUT:g}s; retrying" in result.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["counts"] == expected_counts(source)
    assert elapsed < TIMEOUT + 2.0, elapsed


@pytest.mark.parametrize("source", ["wimbd", "infinigram"])
def test_a_slow_but_whole_answer_within_the_timeout_is_taken(run_cli, tmp_path: Path, source: str) -> None:
    """The deadline cuts only what overruns it: an answer that takes half the timeout is kept, not retried."""
    out = tmp_path / "freqs.json"
    with standin(source) as server:
        server.inject(*[Fault("timeout", seconds=TIMEOUT / 2)] * 3)
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, *server_flags(source, server.url),
                         "--timeout", TIMEOUT, "--tries", 1, "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert "retrying" not in result.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["counts"] == expected_counts(source)


def test_the_deadline_bounds_a_plain_requests_session(tmp_path: Path) -> None:
    """The library piece alone: a session on :func:`http_adapter` under a RequestDeadline ends in time."""
    import requests

    from fomo_order.frequencies.deadline import RequestDeadline, http_adapter

    session = requests.Session()
    session.mount("http://", http_adapter(max_retries=0))
    with InfinigramStandIn() as server:
        server.inject(Fault("trickle-body", seconds=PAUSE))
        body = json.dumps({"index": "v4_c4train_llama", "query_type": "count", "query": "apple"})
        started = time.monotonic()
        with RequestDeadline(0.5) as deadline, pytest.raises(requests.RequestException):
            session.post(server.url, data=body, timeout=5).content  # noqa: B018 (reading the body is the point)
        assert deadline.expired and time.monotonic() - started < 1.5
        answer = session.post(server.url, data=body, timeout=5).json()  # the session goes on working
    session.close()
    assert answer["count"] == infinigram_count("apple")


# 10. Secrets ----------------------------------------------------------------------------------------------------

PASSWORDS = ["pa55-SECRET-word", "p@ss w/rd%SECRET:é"]
API_KEY = base64.b64encode(b"key-id-SECRET:key-value-SECRET-0123").decode()  # the form Elasticsearch hands out


def spellings(*secrets: str) -> list[str]:
    """Every spelling a secret must never appear in."""
    found: set[str] = set()
    for secret in secrets:
        for charset in ("utf-8", "latin-1"):
            raw = secret.encode(charset, "ignore")
            for b64 in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
                found.update((b64, b64.rstrip("=")))
        # As text, percent-encoded, JSON-escaped, and its UTF-8 bytes read as Latin-1 (HTTP headers' charset).
        mojibake = secret.encode("utf-8").decode("latin-1")
        found.update((secret, quote(secret, safe=""), json.dumps(secret)[1:-1], mojibake))
    return sorted(found)


def leaks(result, root: Path, secrets: list[str]) -> list[str]:
    """The spellings found in stdout, stderr or any file under ``root`` (UTF-8 or UTF-16); every test secret
    holds ``SECRET``, which is looked for too (a part of a secret is a leak)."""
    secrets = [*secrets, "SECRET"]
    blobs = [result.output.encode("utf-8")]
    blobs += [path.read_bytes() for path in root.rglob("*") if path.is_file()]
    return [form for form in secrets
            if any(needle in blob for blob in blobs for needle in (form.encode(), form.encode("utf-16-le")))]


def with_password(url: str, password: str) -> str:
    return url.replace("http://", f"http://user:{quote(password, safe='')}@")


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("source", ["wimbd", "infinigram"])
@pytest.mark.parametrize("status", [500, 400])
def test_a_server_that_echoes_the_basic_credentials_never_gets_them_shown(
    run_cli, tmp_path: Path, source: str, password: str, status: int
) -> None:
    """Was: ``Authorization: Basic dXNlcjpw...`` (base64 of ``user:password``) printed in the retry note."""
    out = tmp_path / "freqs.json"
    with standin(source) as server:
        server.inject(*[Fault("echo", status=status)] * 20)
        url = with_password(server.url, password)
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, *server_flags(source, url),
                         "--tries", 2, "--cache-dir", tmp_path / "cache")
        sent = {request.headers.get("Authorization") or request.headers.get("authorization")
                for request in server.requests}
    # The server did get the credentials (else there is nothing to leak), and said so in its error.
    charset = "latin-1" if source == "infinigram" else "utf-8"  # requests' choice, and elastic-transport's
    header = f"Basic {base64.b64encode(f'user:{password}'.encode(charset)).decode()}"
    assert sent == {header}
    assert result.exit_code == (3 if status == 500 else 2), result.output
    line = one_line(result.stderr)
    assert "request rejected; it had Authorization: Basic [redacted]" in line
    assert not leaks(result, tmp_path, [*spellings(password, f"user:{password}"), header]), result.output
    assert not out.exists()


@pytest.mark.parametrize("status", [500, 400])
def test_a_server_that_echoes_the_api_key_never_gets_it_shown(run_cli, monkeypatch, tmp_path: Path, status) -> None:
    monkeypatch.setenv("ES_API_KEY", API_KEY)
    out = tmp_path / "freqs.json"
    with ElasticsearchStandIn(api_key=API_KEY) as server:
        server.inject(*[Fault("echo", status=status)] * 20)
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--es-url", server.url,
                         "--tries", 2, "--cache-dir", tmp_path / "cache")
        assert {request.headers.get("authorization") for request in server.requests} == {f"ApiKey {API_KEY}"}
    assert result.exit_code == (3 if status == 500 else 2), result.output
    assert "request rejected; it had Authorization: ApiKey [redacted]" in one_line(result.stderr)
    decoded = base64.b64decode(API_KEY).decode()
    secrets = spellings(API_KEY, decoded, *decoded.split(":"))
    assert not leaks(result, tmp_path, [*secrets, f"ApiKey {API_KEY}"]), result.output


def test_an_api_key_and_a_url_password_together_are_both_kept_out(run_cli, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ES_API_KEY", API_KEY)
    password = PASSWORDS[0]
    with ElasticsearchStandIn() as server:
        server.inject(*[Fault("echo", status=503)] * 20)
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", tmp_path / "freqs.json",
                         "--es-url", with_password(server.url, password), "--tries", 2,
                         "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 3, result.output
    decoded = base64.b64decode(API_KEY).decode()
    assert not leaks(result, tmp_path, spellings(password, f"user:{password}", API_KEY, decoded)), result.output


def test_a_password_in_api_url_stays_out_of_the_meta_the_cache_and_a_check(run_cli, tmp_path: Path) -> None:
    password = PASSWORDS[1]
    out = tmp_path / "freqs.json"
    with InfinigramStandIn() as server:
        url = with_password(server.url, password)
        result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", out, "--source", "infinigram",
                         "--api-url", url, "--cache-dir", tmp_path / "cache")
        assert result.exit_code == 0, result.output
        document = json.loads(out.read_text(encoding="utf-8"))
        argv = document["argv"]
        assert argv[argv.index("--api-url") + 1] == server.url.replace("http://", f"http://user:{REDACTED}@")
        assert document["endpoint"] == argv[argv.index("--api-url") + 1]
        check = run_cli(*argv, "--check")  # asks no server: the cache is keyed without the password
    assert check.exit_code == 0, check.output
    assert not leaks(result, tmp_path, spellings(password, f"user:{password}")), result.output


# The one redaction every message passes -----------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["pa55-SECRET-word", "p@ss w/rd%SECRET:é\"\\", "redacted"])
def test_the_redactor_replaces_every_spelling_of_a_secret(secret: str) -> None:
    redact = Redactor([secret])
    for form in spellings(secret):
        assert redact(f"before {form} after") == f"before {REDACTED} after", form
    lower_hex = re.sub(r"%[0-9A-F]{2}", lambda hexed: hexed.group().lower(), quote(secret, safe=""))
    assert redact(f"x {lower_hex} y") == f"x {REDACTED} y"
    assert redact(f"{REDACTED} stays") == f"{REDACTED} stays"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", f"Authorization: Basic {REDACTED}"),
        ("had authorization=Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", f"had authorization=Bearer {REDACTED}"),
        ('{"Authorization": "s3cr3t-t0ken"}', f'{{"Authorization": "{REDACTED}"}}'),
        ("Proxy-Authorization: Digest-less-token", f"Proxy-Authorization: {REDACTED}"),
        ('WWW-Authenticate: ApiKey, Basic realm="security"', 'WWW-Authenticate: ApiKey, Basic realm="security"'),
        ("HTTP 500: internal failure", "HTTP 500: internal failure"),
    ],
)
def test_any_authorization_value_is_redacted_whatever_the_secrets(text: str, expected: str) -> None:
    """Credentials the run did not give (requests adds ~/.netrc's) are blanked too."""
    assert Redactor()(text) == expected


def test_an_excerpt_is_cut_after_redacting() -> None:
    secret = "pa55-SECRET-word"
    text = "x" * 190 + secret + "y" * 100
    assert Redactor([secret]).excerpt(text, 200) == "x" * 190 + REDACTED


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pa55@host:9200", f"http://user:{REDACTED}@host:9200"),
        ("https://u%40x:p%2Fw@host/path?q=1", f"https://u%40x:{REDACTED}@host/path?q=1"),
        ("https://a-long-bare-token-0123@host", f"https://{REDACTED}@host"),
        (f"http://user:{REDACTED}@host", f"http://user:{REDACTED}@host"),
        ("http://host:9200", "http://host:9200"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_url_that_urlsplit_refuses_still_loses_its_password() -> None:
    """``http://user:pw@[bad`` is no URL to urlsplit, yet a message quoting it must not show the password."""
    url = "http://user:pa55-SECRET@[bad:9200"
    assert "pa55" not in redact_url(url)
    assert "pa55" not in Redactor.of(url)(f"Could not parse URL {url!r}")


@pytest.mark.parametrize("url", ["http://user:pa55-SECRET@[bad:9200", "http://user:pa55-SECRET@host:99999",
                                 "http://user:pa55-SECRET@host:x"])
@pytest.mark.parametrize("source", ["wimbd", "infinigram"])
def test_a_bad_url_with_a_password_is_one_line_without_it(run_cli, tmp_path: Path, source: str, url: str) -> None:
    result = run_cli("fetch-frequencies", catalog_file(tmp_path), "-o", tmp_path / "freqs.json",
                     *server_flags(source, url), "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert line.startswith("error: --es-url: " if source == "wimbd" else "error: --api-url: ") and REDACTED in line
    assert not leaks(result, tmp_path, spellings("pa55-SECRET", "user:pa55-SECRET")), result.output
