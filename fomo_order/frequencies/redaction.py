"""Keeping credentials out of everything ``fetch-frequencies`` says: one :class:`Redactor` per network source.

A secret can come back from a server in many spellings: a proxy or a careless error page repeats the
request's ``Authorization`` header (``Basic`` + base64 of ``user:password``, ``ApiKey`` + the key), a URL
echoes it percent-encoded, a JSON body escapes it. :class:`Redactor` knows the run's secrets (the password,
or token, in a URL's ``user:password@`` part; the API key and the ``id:key`` it encodes) and replaces each of
them, in all those spellings, by ``[redacted]``; whatever the secrets, it also blanks any value that follows
``Authorization:`` or an auth scheme (``Basic``, ``Bearer``, ``ApiKey``), since requests may add credentials of
its own (``~/.netrc``). Every message a network backend gives passes through its redactor in one place
(``remote._Run.count``); the backends also redact server text before cutting it short (:meth:`Redactor.excerpt`),
so that no cut leaves half a secret behind.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

REDACTED = "[redacted]"

# A credential after an auth scheme (``Basic dXNl...``), and any value of an Authorization header. The
# token is at least 8 characters so that prose ("Basic realm") is left alone.
_SCHEME_TOKEN = re.compile(r"\b(Basic|Bearer|ApiKey|Token)(\s+)[A-Za-z0-9+/_.~-]{8,}=*")
_HEADER_VALUE = re.compile(
    r"(?i)(\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)(?!(?:Basic|Bearer|ApiKey|Token)\s)"
    r"(?!\[redacted\])[^\s\"',;)}\]]+"
)


def url_userinfo(url: str | None) -> tuple[str, str | None] | None:
    """The ``user`` and ``password`` (percent-decoded; None when absent) of ``url``'s ``user:password@`` part.

    Read by hand when ``urlsplit`` refuses the URL (a bad port or IPv6 host): the URL still carries the password.
    """
    if not url:
        return None
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        rest = url.split("//", 1)[1] if "//" in url else url
        netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" not in netloc:
        return None
    userinfo = netloc.rsplit("@", 1)[0]
    user, colon, password = userinfo.partition(":")
    return unquote(user), (unquote(password) if colon else None)


def redact_url(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part (or a bare token ``token@``) replaced by
    ``[redacted]``: what the meta's argv, the cache key and messages show."""
    info = url_userinfo(url)
    if info is None or info[1] == REDACTED:  # none, or redacted already (a recorded command line run again)
        return url
    user, password = info
    try:
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[1]
        shown = f"{quote(user, safe='')}:{REDACTED}" if password else REDACTED
        return urlunsplit(parts._replace(netloc=f"{shown}@{host}"))
    except ValueError:
        return Redactor.of(url)(url)


class Redactor:
    """Replaces the given secrets, in every spelling a server or a library may give them, by ``[redacted]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        bases = {secret for secret in secrets if secret}
        forms: set[str] = set()
        for base in bases:
            forms.update(_spellings(base))
        forms.discard("")
        # "[redacted]" itself first: text already redacted stays as it is, whatever the secrets' letters.
        ordered = [REDACTED, *sorted(forms, key=len, reverse=True)]
        self._pattern = re.compile("|".join(re.escape(form) for form in ordered)) if forms else None

    @classmethod
    def of(cls, *urls: str | None, api_key: str | None = None) -> Redactor:
        """The secrets of a run: each URL's password (or bare token) and the pair ``user:password`` it is sent
        as; an API key and the ``id:key`` it encodes (base64), with its parts, when it is one."""
        secrets: list[str] = []
        for url in urls:
            info = url_userinfo(url)
            if info is None:
                continue
            user, password = info
            if password == REDACTED:
                continue
            if password:
                secrets += [password, f"{user}:{password}"]
            elif len(user) >= 8:  # a bare token (``https://TOKEN@host``); a short name is a user name
                secrets += [user, f"{user}:"]
        if api_key:
            secrets.append(api_key)
            try:
                decoded = base64.b64decode(api_key, validate=True).decode("ascii")
            except (binascii.Error, ValueError):
                decoded = ""
            if ":" in decoded:
                secrets.append(decoded)
                secrets.extend(part for part in decoded.split(":", 1) if len(part) >= 8)
        return cls(secrets)

    def __call__(self, text: str) -> str:
        text = str(text)
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        text = _SCHEME_TOKEN.sub(rf"\1\2{REDACTED}", text)
        return _HEADER_VALUE.sub(rf"\1{REDACTED}", text)

    def excerpt(self, text: str, limit: int) -> str:
        """Server text as a message quotes it: redacted, on one line, at most ``limit`` characters (cut after
        redacting, so that a cut never leaves part of a secret)."""
        return self(" ".join(self(text).split()))[:limit]


NO_SECRETS = Redactor()


def _spellings(secret: str) -> set[str]:
    """``secret`` as text (and its UTF-8 bytes read as Latin-1), percent-encoded (either case of hex), JSON-,
    Python- and HTML-escaped, and its base64 (standard and URL-safe, with and without padding, of its UTF-8 and
    Latin-1 bytes) in those forms."""
    encoded = {secret, secret.encode("utf-8").decode("latin-1")}  # UTF-8 read as Latin-1: HTTP headers' charset
    for charset in ("utf-8", "latin-1"):
        try:
            raw = secret.encode(charset)
        except UnicodeEncodeError:
            continue
        for b64 in (base64.b64encode(raw).decode("ascii"), base64.urlsafe_b64encode(raw).decode("ascii")):
            encoded.update((b64, b64.rstrip("=")))
    forms: set[str] = set()
    for text in encoded:
        for percent in (quote(text, safe=""), quote_plus(text, safe="")):
            forms.update((percent, re.sub(r"%[0-9A-F]{2}", lambda hexed: hexed.group().lower(), percent)))
        forms.update((
            text,
            json.dumps(text)[1:-1],
            json.dumps(text, ensure_ascii=False)[1:-1],
            repr(text)[1:-1],
            html.escape(text),
        ))
    return forms
