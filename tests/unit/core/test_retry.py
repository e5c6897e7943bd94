"""The retry policy's pure decisions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from airflow_provider_jobs._retry import (
    Idempotency,
    RetryPolicy,
    parse_retry_after,
    reached_server_maybe,
    should_retry_exception,
    should_retry_status,
)

SAFE, CREATE = Idempotency.SAFE, Idempotency.CREATE
REQ = httpx.Request("GET", "http://127.0.0.1/x")


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_safe_calls_retry_transient_statuses(status: int) -> None:
    assert should_retry_status(status, SAFE)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 422, 501, 505])
def test_other_statuses_are_final(status: int) -> None:
    assert not should_retry_status(status, SAFE)
    assert not should_retry_status(status, CREATE)


def test_starts_retry_only_429() -> None:
    assert should_retry_status(429, CREATE)
    for status in (500, 502, 503, 504):
        assert not should_retry_status(status, CREATE)


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused", request=REQ), httpx.ConnectTimeout("t", request=REQ),
            httpx.PoolTimeout("p", request=REQ)]
)
def test_never_sent_errors_retry_even_for_starts(exc: Exception) -> None:
    assert should_retry_exception(exc, CREATE)
    assert should_retry_exception(exc, SAFE)
    assert not reached_server_maybe(exc)


@pytest.mark.parametrize(
    "exc",
    [httpx.ReadTimeout("t", request=REQ), httpx.RemoteProtocolError("gone", request=REQ),
     httpx.ReadError("reset", request=REQ), httpx.WriteTimeout("w", request=REQ)],
)
def test_maybe_sent_errors_retry_only_safe_calls(exc: Exception) -> None:
    assert should_retry_exception(exc, SAFE)
    assert not should_retry_exception(exc, CREATE)
    assert reached_server_maybe(exc)


def test_local_mistakes_never_retry() -> None:
    assert not should_retry_exception(httpx.UnsupportedProtocol("ftp", request=REQ), SAFE)
    assert not should_retry_exception(ValueError("x"), SAFE)


def test_retry_after_seconds_and_dates() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 12 ") == 12.0
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0
    for junk in (None, "", "soon", "nan"):
        assert parse_retry_after(junk) is None


@pytest.mark.parametrize(
    "value",
    ["-5", "-3", "1.5", " 1.5 ", "1e3", "+3", "0x10", "inf", "3 s", "\u0663", "\u0661\u0662", "\uff13", "\u0969",
     "Wed, 21 Oct 2015 07:28:\u0660\u0660 GMT"],
)
def test_retry_after_other_than_ascii_digits_or_an_http_date_is_ignored(value: str) -> None:
    """A sign, a fraction, an exponent or non-ASCII digits (Arabic-Indic 3, fullwidth 3, Devanagari 3)
    make no valid Retry-After: it is ignored, so the backoff applies (not 0 s, not 1000 s, not 3 s)."""
    assert parse_retry_after(value) is None


def test_backoff_grows_exponentially_with_jitter_and_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    low = [policy.backoff(n, rng=lambda: 0.0) for n in range(1, 7)]
    high = [policy.backoff(n, rng=lambda: 1.0) for n in range(1, 7)]
    assert low == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert high == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_budget_bounds_retries_count_and_time() -> None:
    policy = RetryPolicy(max_retries=3, base_delay=1.0, max_elapsed=10.0)
    assert policy.next_delay(3, elapsed=0.0, rng=lambda: 0.0) is not None
    assert policy.next_delay(4, elapsed=0.0) is None
    assert policy.next_delay(1, elapsed=9.9, rng=lambda: 1.0) is None


def test_retry_after_wins_and_is_bounded() -> None:
    policy = RetryPolicy(max_retry_after=30.0, max_elapsed=100.0)
    delay = policy.next_delay(1, 0.0, retry_after=5.0, rng=lambda: 0.5)
    assert delay is not None and 5.0 <= delay <= 6.0
    assert policy.next_delay(1, 0.0, retry_after=31.0) is None
    assert policy.next_delay(1, 90.0, retry_after=20.0) is None


def test_a_short_retry_after_does_not_undercut_the_backoff() -> None:
    """'Retry-After: 0' (or a date already past) must not turn the retries into a burst."""
    policy = RetryPolicy(base_delay=0.5, max_delay=20.0)
    delays = [policy.next_delay(n, 0.0, retry_after=0.0, rng=lambda: 0.0) for n in (1, 2, 3, 4)]
    assert delays == [policy.backoff(n, rng=lambda: 0.0) for n in (1, 2, 3, 4)]
    assert delays[-1] is not None and delays[-1] >= 2.0


def test_default_policy_has_at_least_three_retries() -> None:
    assert RetryPolicy().max_retries >= 3
