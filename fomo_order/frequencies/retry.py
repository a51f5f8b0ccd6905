"""Failures of a count request, and when to try again.

Every network source sorts what goes wrong into :class:`TransientError` (429, 5xx, timeouts, dropped
connections, malformed answers: worth another try) and :class:`PermanentError` (the server refused the
request: report it as the server said it). Retrying happens in one place, ``remote.fetch_remote``, with
:class:`RetryPolicy`: exponential backoff with jitter, at least as long as the server's ``Retry-After``.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from fomo_order.errors import FomoOrderError

EXIT_QUERIES_FAILED = 3

# Internal knobs (seconds) so tests and benchmarks need not sleep for real-world backoff times.
ENV_BACKOFF_BASE = "FOMO_ORDER_BACKOFF_BASE"
ENV_BACKOFF_CAP = "FOMO_ORDER_BACKOFF_CAP"


class TransientError(Exception):
    """A request failed in a way that another try may fix; ``retry_after`` is the server's wish, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class PermanentError(Exception):
    """The server refused the request (bad credentials, unknown index, ...): trying again will not help."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QueriesFailed(FomoOrderError):  # noqa: N818 (named like the other CLI outcomes, e.g. CheckFailed)
    """Some counts could not be fetched; what succeeded is cached, so a rerun asks only for the rest."""

    exit_code = EXIT_QUERIES_FAILED


@dataclass(frozen=True)
class RetryPolicy:
    """``tries`` attempts per request; before attempt k+1 wait ~``base * 2**(k-1)`` (at most ``cap``) seconds."""

    tries: int = 6
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 600.0

    @classmethod
    def from_environment(cls, tries: int = 6) -> RetryPolicy:
        return cls(
            tries=tries,
            base=_env_seconds(ENV_BACKOFF_BASE, cls.base),
            cap=_env_seconds(ENV_BACKOFF_CAP, cls.cap),
        )

    def delay(self, failed_attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after ``failed_attempts`` failures: "equal jitter" backoff, never below Retry-After."""
        ceiling = min(self.cap, self.base * 2 ** max(failed_attempts - 1, 0))
        wait = ceiling / 2 + rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    from datetime import datetime, timezone

    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value >= 0 else default
