"""The attempt loop without I/O: fed outcomes, it answers Wait / Done / Fail (no client, no sleep)."""

from __future__ import annotations

import httpx
import pytest
from _support import APIFY_TOKEN, FakeClock, apify_error, apify_ok

from airflow_provider_jobs._attempts import Attempts, Done, Fail, Wait
from airflow_provider_jobs._call import Call
from airflow_provider_jobs._classify import Problem, classify
from airflow_provider_jobs._connection import build_settings
from airflow_provider_jobs._retry import Idempotency, RetryPolicy
from airflow_provider_jobs.exceptions import (
    NotFoundError,
    RateLimitError,
    ServerError,
    StartOutcomeUnknownError,
    TransportError,
)
from airflow_provider_jobs.hooks.apify import APIFY_SERVICE

SETTINGS = build_settings("apify_test", APIFY_SERVICE, host="http://127.0.0.1:9", port=None,
                          password=APIFY_TOKEN, extra={})
GET = Call("GET", "/v2/actor-runs/r1", "Get of Apify run r1", "Apify run id", job_id="r1")
START = Call("POST", "/v2/actors/a~b/runs", "Start of a run of Apify actor a~b", "Apify actor id",
             idempotency=Idempotency.CREATE)
REQ = httpx.Request("GET", "http://127.0.0.1:9/v2/actor-runs/r1")


def attempts(call: Call, clock: FakeClock, **policy: float) -> Attempts:
    return Attempts(call, SETTINGS, RetryPolicy(**{"max_retries": 3, "base_delay": 1.0, **policy}),
                    clock=clock, rng=lambda: 0.5)


def test_transient_failures_wait_with_backoff_then_the_result_is_done(fake_clock: FakeClock) -> None:
    loop = attempts(GET, fake_clock)
    assert loop.after(httpx.Response(503, text="down")) == Wait(0.75)
    assert loop.after(httpx.ReadError("reset", request=REQ)) == Wait(1.5)
    step = loop.after(apify_ok({"id": "r1"}))
    assert step == Done({"data": {"id": "r1"}}) and step.unwrap() == {"data": {"id": "r1"}}
    assert loop.number == 3 and fake_clock.sleeps == []  # it decides; it never sleeps


def test_the_budget_spent_fails_with_the_worded_error(fake_clock: FakeClock) -> None:
    loop = attempts(GET, fake_clock, max_retries=1)
    assert isinstance(loop.after(httpx.Response(503, text="down")), Wait)
    step = loop.after(httpx.Response(503, text="down"))
    assert isinstance(step, Fail) and type(step.error) is ServerError and step.error.attempts == 2
    assert "Get of Apify run r1 failed on connection 'apify_test': HTTP 503: 'down' after 2 attempts." in str(
        step.error)
    with pytest.raises(ServerError):
        step.unwrap()


def test_a_rate_limit_waits_as_long_as_retry_after_says(fake_clock: FakeClock) -> None:
    step = attempts(GET, fake_clock).after(apify_error(429, "rate-limit-exceeded", "x", **{"Retry-After": "4"}))
    assert isinstance(step, Wait) and 4.0 <= step.delay <= 4.5
    late = attempts(GET, fake_clock)
    fake_clock.now += 200.0  # past the elapsed budget (120 s) since the first attempt: no more waiting
    assert isinstance(fail := late.after(apify_error(429, "rate-limit-exceeded", "x")), Fail)
    assert type(fail.error) is RateLimitError


def test_a_start_that_may_have_arrived_fails_at_once(fake_clock: FakeClock) -> None:
    step = attempts(START, fake_clock).after(httpx.ReadTimeout("slow", request=REQ))
    assert isinstance(step, Fail) and type(step.error) is StartOutcomeUnknownError
    assert isinstance(step.error.__cause__, httpx.ReadTimeout)
    assert isinstance(attempts(START, fake_clock).after(httpx.ConnectError("refused", request=REQ)), Wait)


def test_a_final_status_fails_without_waiting(fake_clock: FakeClock) -> None:
    step = attempts(GET, fake_clock).after(apify_error(404, "record-not-found", "Run was not found"))
    assert isinstance(step, Fail) and type(step.error) is NotFoundError and step.error.attempts == 1


def test_classification_holds_facts_and_no_wording() -> None:
    c = classify(GET, apify_error(503, "server-error", f"down {APIFY_TOKEN}", **{"x-request-id": "q1"}), APIFY_SERVICE)
    assert (c.problem, c.error_class, c.retryable, c.status, c.error_type, c.request_id) == (
        Problem.STATUS, ServerError, True, 503, "server-error", "q1")
    assert c.api_message == f"down {APIFY_TOKEN}"  # as sent: scrubbing is the wording's job
    t = classify(GET, httpx.ConnectError("refused", request=REQ), APIFY_SERVICE)
    assert (t.problem, t.error_class, t.retryable, t.status) == (Problem.TRANSPORT, TransportError, True, None)
