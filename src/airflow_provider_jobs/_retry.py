"""The retry policy of the HTTP core: pure decisions, no I/O.

What is retried:

* **429** for every request, starts included: a rate-limited request was refused before any
  work was done. ``Retry-After`` (whole seconds in ASCII digits, or an HTTP date) is honoured;
  any other value is ignored and the backoff applies.
* **500, 502, 503, 504** and transport errors (reset, read timeout, broken body) only for
  idempotent requests: GET, abort, cancel.
* **Connection errors** (refused, connect timeout, no pool slot) for every request: the request
  provably never reached the server.

A start (POST that creates a run or build) is never retried once its request may have reached
the server. Delays grow exponentially from ``base_delay`` up to ``max_delay`` with "equal
jitter" (a uniform draw in the upper half of the window), and the whole budget is bounded by
``max_retries`` and ``max_elapsed`` seconds.
"""

from __future__ import annotations

import enum
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_DELAY_SECONDS = re.compile(r"[0-9]+")  # not \d, which also takes Arabic-Indic and other digits

# Raised before a single byte of the request left this machine.
NEVER_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)

# Mistakes on this side that no retry can fix.
_NEVER_RETRY_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


class Idempotency(enum.Enum):
    """Whether a request may be repeated safely."""

    SAFE = "safe"
    """GET, abort, cancel: repeating them changes nothing."""
    CREATE = "create"
    """A start: repeating it after the server saw it would create a second job."""


def should_retry_status(status: int, idempotency: Idempotency) -> bool:
    """Return True if a response with ``status`` may be retried."""
    if status == 429:
        return True
    return status in RETRY_STATUSES and idempotency is Idempotency.SAFE


def should_retry_exception(exc: BaseException, idempotency: Idempotency) -> bool:
    """Return True if a request that raised ``exc`` may be retried."""
    if isinstance(exc, NEVER_SENT_ERRORS):
        return True
    if isinstance(exc, _NEVER_RETRY_ERRORS):
        return False
    if isinstance(exc, (httpx.TransportError, httpx.DecodingError)):
        return idempotency is Idempotency.SAFE
    return False


def reached_server_maybe(exc: BaseException) -> bool:
    """Return True unless ``exc`` proves the request never left this machine."""
    return not isinstance(exc, NEVER_SENT_ERRORS)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header into seconds, or ``None`` when it is not a valid one.

    Valid (RFC 9110): ``delay-seconds``, one or more ASCII digits, or an HTTP date (a date past
    gives 0). Anything else (``-5``, ``1.5``, ``1e3``, ``+3``, non-ASCII digits such as ``٣``) is
    ignored: the caller's backoff applies.
    """
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        return float(int(value))
    if not value or not value.isascii():
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to retry.

    :param max_retries: retries after the first attempt (so ``max_retries + 1`` attempts)
    :param base_delay: delay window before the first retry, in seconds
    :param max_delay: cap of one backoff window
    :param max_elapsed: total seconds (attempts and sleeps) after which no retry is started
    :param max_retry_after: a ``Retry-After`` longer than this ends the retries at once
    """

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_elapsed: float = 120.0
    max_retry_after: float = 120.0

    def backoff(self, retry_number: int, rng: Callable[[], float] = random.random) -> float:
        """Return the jittered delay before retry number ``retry_number`` (1-based)."""
        window = min(self.max_delay, self.base_delay * (2 ** max(0, retry_number - 1)))
        return window / 2 + rng() * window / 2

    def next_delay(
        self,
        retry_number: int,
        elapsed: float,
        retry_after: float | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float | None:
        """Return the delay before retry ``retry_number``, or ``None`` when the budget is spent.

        :param retry_number: 1 for the first retry
        :param elapsed: seconds since the first attempt started
        :param retry_after: the server's hint, which wins over the backoff when longer
        """
        if retry_number > self.max_retries:
            return None
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        delay = self.backoff(retry_number, rng)
        if retry_after is not None:
            # Never earlier than asked, nor earlier than the backoff (a "Retry-After: 0" must not
            # turn the retries into a burst); a little spread so many clients do not return in step.
            delay = max(delay, retry_after + rng() * min(1.0, 0.1 * retry_after + 0.05))
        if elapsed + delay > self.max_elapsed:
            return None
        return delay
