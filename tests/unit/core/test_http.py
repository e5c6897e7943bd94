"""The HTTP core: retries, Retry-After, budgets, starts never duplicated, error mapping, redaction."""

from __future__ import annotations

import asyncio
import logging
import pickle
from dataclasses import replace
from typing import Any

import httpx
import pytest
from _support import APIFY_TOKEN, FakeClock, Recorder, apify_error, apify_ok

from airflow_provider_jobs._call import NO_BODY, Call
from airflow_provider_jobs._connection import ErrorBody, ServiceInfo, build_settings
from airflow_provider_jobs._http import HttpCore, aclose_shared_clients
from airflow_provider_jobs._pools import SHARED_POOLS, AsyncPools, ssl_context, user_agent
from airflow_provider_jobs._retry import Idempotency, RetryPolicy
from airflow_provider_jobs.exceptions import (
    AuthError,
    ConflictError,
    JobsApiError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    RequestRejectedError,
    ServerError,
    StartOutcomeUnknownError,
    TransportError,
    UnexpectedResponseError,
)
from airflow_provider_jobs.hooks.apify import APIFY_SERVICE
from airflow_provider_jobs.hooks.template_builds import TEMPLATE_BUILDS_SERVICE

SERVICE = APIFY_SERVICE
GET = Call("GET", "/v2/actor-runs/r1", "Get of Apify run r1", "Apify run id", job_id="r1")
ABORT = Call("POST", "/v2/actor-runs/r1/abort", "Abort of Apify run r1", "Apify run id", job_id="r1")
START = Call("POST", "/v2/actors/a~b/runs", "Start of a run of Apify actor a~b", "Apify actor id",
             json={"x": 1}, idempotency=Idempotency.CREATE)
REQ = httpx.Request("GET", "http://127.0.0.1/")


def make_core(recorder: Recorder, clock: FakeClock, service: ServiceInfo = SERVICE, **policy: Any) -> HttpCore:
    settings = build_settings("apify_test", service, host="http://127.0.0.1:9", port=None,
                              password=APIFY_TOKEN, extra={})
    return HttpCore(
        settings, policy=RetryPolicy(**{"max_retries": 4, **policy}), transport=recorder.transport(),
        async_transport=recorder.async_transport(), sleep=clock.sleep, asleep=clock.asleep, clock=clock,
        rng=lambda: 0.5,
    )


def test_success_sends_token_only_in_the_header(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.responses = [apify_ok({"id": "r1"})]
    core = make_core(recorder, fake_clock)
    assert core.request(GET) == {"data": {"id": "r1"}}
    req = recorder.last
    assert req.headers["Authorization"] == f"Bearer {APIFY_TOKEN}"
    assert APIFY_TOKEN not in str(req.url)
    assert req.headers["User-Agent"].startswith("airflow-provider-jobs/")
    assert APIFY_TOKEN not in repr(core)


def test_user_agent_names_provider_and_versions() -> None:
    ua = user_agent()
    assert ua.startswith("airflow-provider-jobs/0.1.0 (")
    assert "apache-airflow/" in ua and "httpx/" in ua and "python/" in ua


def test_body_is_json_with_content_type(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.responses = [apify_ok({"id": "r1"}, status=201)]
    make_core(recorder, fake_clock).request(START)
    assert recorder.last.headers["Content-Type"] == "application/json"
    assert recorder.last.content == b'{"x":1}'


def test_no_body_sends_nothing(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.responses = [apify_ok({"id": "r1"})]
    make_core(recorder, fake_clock).request(ABORT)
    assert recorder.last.content == b""
    assert ABORT.json is NO_BODY


def test_429_retry_after_seconds_is_honoured(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.responses = [
        apify_error(429, "rate-limit-exceeded", "slow down", **{"Retry-After": "3"}),
        apify_error(429, "rate-limit-exceeded", "slow down", **{"Retry-After": "1"}),
        apify_ok({"id": "r1"}),
    ]
    assert make_core(recorder, fake_clock).request(GET)["data"]["id"] == "r1"
    assert len(recorder.requests) == 3
    assert 3.0 <= fake_clock.sleeps[0] <= 3.5 and 1.0 <= fake_clock.sleeps[1] <= 1.2


def test_429_retry_after_http_date(recorder: Recorder, fake_clock: FakeClock) -> None:
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)
    recorder.responses = [apify_error(429, "rate-limit-exceeded", "x", **{"Retry-After": when}), apify_ok({})]
    make_core(recorder, fake_clock).request(GET)
    assert 18.0 <= fake_clock.sleeps[0] <= 22.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_retried_with_growing_backoff(recorder: Recorder, fake_clock: FakeClock, status: int) -> None:
    recorder.responses = [httpx.Response(status, text="oops")] * 3 + [apify_ok({"id": "r1"})]
    make_core(recorder, fake_clock, base_delay=1.0).request(ABORT)
    assert len(recorder.requests) == 4
    assert fake_clock.sleeps == [0.75, 1.5, 3.0]  # equal jitter at rng=0.5, doubling


def test_budget_exhausted_gives_typed_error_with_attempts(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.default = httpx.Response(503, json={"error": {"type": "server-error", "message": "down"}},
                                      headers={"x-request-id": "req-9"})
    with pytest.raises(ServerError) as err:
        make_core(recorder, fake_clock, max_retries=3).request(ABORT)
    e = err.value
    assert (e.status, e.error_type, e.request_id, e.job_id, e.conn_id, e.attempts) == (
        503, "server-error", "req-9", "r1", "apify_test", 4)
    assert "Abort of Apify run r1 failed on connection 'apify_test': HTTP 503 server-error: down" in str(e)
    assert "after 4 attempts" in str(e)
    assert len(recorder.requests) == 4


def test_429_after_budget_is_rate_limit_error(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.default = apify_error(429, "rate-limit-exceeded", "Too many", **{"Retry-After": "2"})
    with pytest.raises(RateLimitError) as err:
        make_core(recorder, fake_clock, max_retries=2).request(GET)
    assert err.value.retry_after == 2.0 and err.value.attempts == 3


@pytest.mark.parametrize("value", ["-5", "1e3", "\u0663"])
def test_an_invalid_retry_after_is_ignored_and_the_backoff_applies(
    recorder: Recorder, fake_clock: FakeClock, value: str
) -> None:
    limited = httpx.Response(429, json={"error": {"type": "rate-limit-exceeded", "message": "x"}},
                             headers=[(b"Retry-After", value.encode())])  # UTF-8 on the wire, read back as sent
    assert limited.headers["Retry-After"] == value
    recorder.responses = [limited, apify_ok({})]
    make_core(recorder, fake_clock, base_delay=1.0).request(GET)
    assert fake_clock.sleeps == [0.75]  # the backoff at rng=0.5: not 0 s, 1000 s (over budget) or 3 s


def test_elapsed_budget_stops_retries(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.default = apify_error(429, "rate-limit-exceeded", "x", **{"Retry-After": "50"})
    with pytest.raises(RateLimitError):
        make_core(recorder, fake_clock, max_retries=10, max_elapsed=120.0).request(GET)
    assert len(recorder.requests) == 3  # 0 s, ~50 s, ~100 s; a third wait would pass 120 s


def test_huge_retry_after_is_not_slept(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.default = apify_error(429, "rate-limit-exceeded", "x", **{"Retry-After": "3600"})
    with pytest.raises(RateLimitError):
        make_core(recorder, fake_clock).request(GET)
    assert fake_clock.sleeps == [] and len(recorder.requests) == 1


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused", request=REQ), httpx.ReadTimeout("slow", request=REQ),
            httpx.RemoteProtocolError("Server disconnected", request=REQ), httpx.ReadError("reset", request=REQ)]
)
def test_transport_errors_retried_for_safe_calls(recorder: Recorder, fake_clock: FakeClock, exc: Exception) -> None:
    recorder.responses = [exc, exc, apify_ok({"id": "r1"})]
    assert make_core(recorder, fake_clock).request(ABORT)["data"]["id"] == "r1"
    assert len(recorder.requests) == 3


def test_transport_error_after_budget(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.default = httpx.ConnectError("Connection refused", request=REQ)
    with pytest.raises(TransportError) as err:
        make_core(recorder, fake_clock, max_retries=3).request(GET)
    assert err.value.status is None and err.value.attempts == 4
    assert "ConnectError: Connection refused" in str(err.value)
    assert isinstance(err.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow", request=REQ), httpx.RemoteProtocolError("Server disconnected", request=REQ),
     httpx.WriteError("broken pipe", request=REQ), httpx.Response(500, text="boom"),
     httpx.Response(502, text="<html>Bad gateway</html>"), httpx.Response(504, text=""),
     httpx.Response(201, text='{"data": {"id": "r')],
)
def test_start_is_not_retried_once_it_may_have_arrived(
    recorder: Recorder, fake_clock: FakeClock, failure: Any
) -> None:
    recorder.responses = [failure, apify_ok({"id": "dup"}, status=201)]
    with pytest.raises(StartOutcomeUnknownError) as err:
        make_core(recorder, fake_clock).request(START)
    assert len(recorder.requests) == 1
    assert "may have been created" in str(err.value)


def _strict_run(body: bytes) -> Any:
    """A decoder like the hooks': valid JSON of the wrong shape is a final, typed error."""
    import json

    data = json.loads(body).get("data") or {}
    if not isinstance(data.get("startedAt"), str) or data["startedAt"].startswith("2024-13"):
        raise UnexpectedResponseError("bad shape")
    return data


@pytest.mark.parametrize(
    ("service", "answer", "named"),
    [(APIFY_SERVICE, apify_ok({"id": "RUN1", "status": "RUNNING", "startedAt": "2024-13-45"}, status=201), "RUN1"),
     (TEMPLATE_BUILDS_SERVICE, httpx.Response(201, json={"build_id": "tb_1", "status": 7}), "tb_1"),
     (APIFY_SERVICE, httpx.Response(201, text="<html>created</html>"), None),
     (TEMPLATE_BUILDS_SERVICE, httpx.Response(201, text="<html>created</html>"), None)],
)
def test_a_start_answered_2xx_with_an_unreadable_body_is_an_unknown_outcome_naming_the_job(
    recorder: Recorder, fake_clock: FakeClock, service: ServiceInfo, answer: httpx.Response, named: str | None
) -> None:
    """The job exists even though its answer cannot be read: never a plain (retryable) error, and
    the id, when the raw body shows one, is carried so that the job can be found and aborted."""
    recorder.responses = [answer, apify_ok({"id": "dup"}, status=201)]
    with pytest.raises(StartOutcomeUnknownError) as err:
        make_core(recorder, fake_clock, service).request(replace(START, decode=_strict_run))
    assert len(recorder.requests) == 1 and err.value.job_id == named
    if named:
        assert f"names the job {named}" in str(err.value)
        assert pickle.loads(pickle.dumps(err.value)).job_id == named


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [(400, "concurrent-runs-limit-exceeded", PaymentRequiredError), (400, "actor-memory-limit-exceeded",
     PaymentRequiredError), (402, "not-enough-usage-to-run-paid-actor", PaymentRequiredError),
     (400, "invalid-token", AuthError), (401, "invalid-token", AuthError),
     (400, "invalid-input", RequestRejectedError)],
)
def test_error_type_refines_the_class_where_apify_varies_the_status(
    recorder: Recorder, fake_clock: FakeClock, status: int, error_type: str, cls: type
) -> None:
    recorder.default = apify_error(status, error_type, "limit")
    with pytest.raises(cls) as err:
        make_core(recorder, fake_clock).request(GET)
    assert type(err.value) is cls and err.value.status == status


@pytest.mark.parametrize(
    "first", [httpx.ConnectError("refused", request=REQ), httpx.ConnectTimeout("t", request=REQ),
              apify_error(429, "rate-limit-exceeded", "x", **{"Retry-After": "0"})]
)
def test_start_is_retried_when_it_never_arrived(recorder: Recorder, fake_clock: FakeClock, first: Any) -> None:
    recorder.responses = [first, apify_ok({"id": "r1"}, status=201)]
    assert make_core(recorder, fake_clock).request(START)["data"]["id"] == "r1"
    assert len(recorder.requests) == 2


@pytest.mark.parametrize(
    ("status", "cls", "hint"),
    [(400, RequestRejectedError, ""), (401, AuthError, "Check the API token in connection 'apify_test'"),
     (402, PaymentRequiredError, ""), (403, AuthError, "may do this"), (404, NotFoundError, "Check the Apify run id"),
     (405, JobsApiError, ""), (409, ConflictError, ""), (422, RequestRejectedError, ""), (501, ServerError, "")],
)
def test_status_mapping_is_immediate(
    recorder: Recorder, fake_clock: FakeClock, status: int, cls: type, hint: str
) -> None:
    recorder.default = apify_error(status, "some-type", "Some message")
    with pytest.raises(cls) as err:
        make_core(recorder, fake_clock).request(GET)
    assert type(err.value) is cls
    assert err.value.status == status and err.value.error_type == "some-type"
    assert err.value.api_message == "Some message"
    assert hint in str(err.value)
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("service", "body", "etype", "message", "request_id"),
    [
        (APIFY_SERVICE, {"error": {"type": "record-not-found", "message": "Run was not found"}}, "record-not-found",
         "Run was not found", "hdr-1"),
        (TEMPLATE_BUILDS_SERVICE, {"error": "template build not found", "code": "template_build_not_found",
                                   "request_id": "req_1", "build_id": "tb_1"},
         "template_build_not_found", "template build not found", "req_1"),
        (TEMPLATE_BUILDS_SERVICE, {"error": {"message": "nope", "code": "not_found", "request_id": "req_2"}},
         "not_found", "nope", "req_2"),
        (APIFY_SERVICE, {"message": "plain"}, None, "plain", "hdr-1"),
        (TEMPLATE_BUILDS_SERVICE, {"message": "plain"}, None, "plain", "hdr-1"),
    ],
)
def test_error_bodies_of_both_apis(
    recorder: Recorder, fake_clock: FakeClock, service: ServiceInfo, body: dict, etype: str | None, message: str,
    request_id: str,
) -> None:
    """Each service describes its error body (:attr:`ServiceInfo.read_error`); the core reads it through that."""
    recorder.default = httpx.Response(404, json=body, headers={"x-request-id": "hdr-1"})
    with pytest.raises(NotFoundError) as err:
        make_core(recorder, fake_clock, service).request(GET)
    assert (err.value.error_type, err.value.api_message, err.value.request_id) == (etype, message, request_id)


@pytest.mark.parametrize(
    "response",
    [httpx.Response(502, text="<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
                    headers={"content-type": "text/html"}),
     httpx.Response(500, content=b"\xff\xfe\x00garbage"), httpx.Response(503, text=""),
     httpx.Response(500, json=["not", "an", "object"])],
)
def test_non_json_error_bodies_still_clear(recorder: Recorder, fake_clock: FakeClock, response: httpx.Response) -> None:
    recorder.default = response
    with pytest.raises(ServerError) as err:
        make_core(recorder, fake_clock, max_retries=0).request(GET)
    text = str(err.value)
    assert f"HTTP {response.status_code}" in text and len(text) < 600
    if "Bad Gateway" in response.text:
        assert "502 Bad Gateway nginx" in text and "<h1>" not in text


def test_malformed_json_success_is_retried_for_safe_calls(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.responses = [httpx.Response(200, text='{"data": {"id": "r'), apify_ok({"id": "r1"})]
    assert make_core(recorder, fake_clock).request(GET)["data"]["id"] == "r1"
    recorder.default = httpx.Response(200, text="<html>captive portal</html>")
    with pytest.raises(UnexpectedResponseError, match="not valid JSON"):
        make_core(recorder, fake_clock, max_retries=1).request(GET)


def test_redirects_are_never_followed(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.default = httpx.Response(302, headers={"Location": "https://evil.example/steal"})
    with pytest.raises(UnexpectedResponseError, match="redirect refused"):
        make_core(recorder, fake_clock).request(GET)
    assert len(recorder.requests) == 1


def test_the_core_reads_a_service_as_the_service_describes_itself(recorder: Recorder, fake_clock: FakeClock) -> None:
    """Error body, created id and long-poll parameter come from the ServiceInfo, whatever the service."""
    other = ServiceInfo(
        "Other", "other", None, "a key", long_poll_param="holdFor",
        created_id=lambda body: body.get("job", {}).get("ref"),
        read_error=lambda body: ErrorBody(body.get("kind"), body.get("text"), body.get("trace")),
    )
    recorder.default = httpx.Response(409, json={"kind": "busy", "text": "try later", "trace": "t-1"})
    with pytest.raises(ConflictError) as err:
        make_core(recorder, fake_clock, other).request(GET)
    assert (err.value.error_type, err.value.api_message, err.value.request_id) == ("busy", "try later", "t-1")
    recorder.default = httpx.Response(201, json={"job": {"ref": "J-7"}, "status": "strange"})
    with pytest.raises(StartOutcomeUnknownError) as unknown:
        make_core(recorder, fake_clock, other).request(replace(START, decode=_strict_run))
    assert unknown.value.job_id == "J-7"
    recorder.default = httpx.Response(200, json={})
    make_core(recorder, fake_clock, other).request(replace(GET, long_poll=30.0))
    assert dict(recorder.last.url.params) == {"holdFor": "30"}
    make_core(recorder, fake_clock).request(replace(GET, long_poll=30.0))
    assert dict(recorder.last.url.params) == {"waitForFinish": "30"}  # Apify's, as ApifyHook declares it


def test_long_poll_raises_the_read_timeout(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.default = apify_ok({})
    core = make_core(recorder, fake_clock)
    core.request(Call("GET", "/x", "a", long_poll=60))
    assert recorder.last.extensions["timeout"]["read"] >= 75
    core.request(GET)
    assert recorder.last.extensions["timeout"]["read"] == core.settings.timeouts.read


def test_token_never_in_errors_logs_or_pickles(
    recorder: Recorder, fake_clock: FakeClock, assert_no_secret: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder.responses = [
        httpx.Response(500, text=f"echo Authorization: Bearer {APIFY_TOKEN}"),
        httpx.Response(401, json={"error": {"type": "user-or-token-not-found", "message": f"bad {APIFY_TOKEN}"}}),
    ]
    with pytest.raises(AuthError) as err:
        make_core(recorder, fake_clock).request(GET)
    clone = pickle.loads(pickle.dumps(err.value))
    assert type(clone) is AuthError and clone.status == 401 and str(clone) == str(err.value)
    assert_no_secret(str(err.value), repr(err.value), err.value.api_message, repr(clone.__dict__))


def test_async_twin_retries_the_same_way(recorder: Recorder, fake_clock: FakeClock) -> None:
    recorder.responses = [httpx.Response(503), apify_error(429, "rate-limit-exceeded", "x", **{"Retry-After": "2"}),
                          apify_ok({"id": "r1"})]
    core = make_core(recorder, fake_clock)
    result = asyncio.run(core.arequest(ABORT))
    assert result["data"]["id"] == "r1" and len(recorder.requests) == 3
    assert fake_clock.sleeps[1] >= 2.0
    recorder.responses = [httpx.ReadTimeout("slow", request=REQ)]
    with pytest.raises(StartOutcomeUnknownError):
        asyncio.run(core.arequest(START))


def test_async_clients_are_shared_per_loop_and_base_url(recorder: Recorder, fake_clock: FakeClock) -> None:
    async def scenario() -> tuple[bool, bool]:
        a = SHARED_POOLS.client("http://127.0.0.1:1", None)
        b = SHARED_POOLS.client("http://127.0.0.1:1", None)
        c = SHARED_POOLS.client("http://127.0.0.1:2", None)
        await aclose_shared_clients()
        return a is b, a is c

    assert asyncio.run(scenario()) == (True, False)


def test_a_core_uses_the_pools_it_is_given(recorder: Recorder, fake_clock: FakeClock) -> None:
    """Pools are an object: a core given its own keeps its clients and gates there, not in the shared ones."""
    own = AsyncPools(short_limits=httpx.Limits(max_connections=3))
    settings = build_settings("c", SERVICE, host="http://127.0.0.1:9", port=None, password="t", extra={})
    core = HttpCore(settings, async_transport=recorder.async_transport(), pools=own)
    recorder.default = apify_ok({"id": "r1"})

    async def scenario() -> tuple[int, int, int]:
        await core.arequest(GET)
        loop = asyncio.get_running_loop()
        (client,) = own.clients(loop)
        _client, gate = own.client(settings.base_url, core._async_transport)
        kept = len(own.clients(loop)), len(SHARED_POOLS.clients(loop)), gate._value
        await own.aclose()
        return kept

    assert asyncio.run(scenario()) == (1, 0, 3)


def test_one_tls_context_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients reuse the process's TLS context: building one (CA bundle) costs ~25 ms per abort."""
    import ssl

    assert ssl_context() is ssl_context()

    def no_new_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        raise AssertionError("a client built a TLS context of its own")

    monkeypatch.setattr(ssl, "create_default_context", no_new_context)
    settings = build_settings("c", SERVICE, host="https://api.example.com", port=None, password="t", extra={})
    core = HttpCore(settings)
    core._sync_client()
    core.close()

    async def make_async() -> None:
        core._async_client()
        core._async_client(held_open=True)
        await aclose_shared_clients()

    asyncio.run(make_async())


@pytest.mark.parametrize("held_open", [True, False])
def test_an_async_stream_takes_the_held_open_lane_only_when_the_server_holds_it_open(
        recorder: Recorder, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch, held_open: bool) -> None:
    """A followed log stream may stay open for the job's life; a log read as it is now ends at once and
    must not queue behind other triggers' long polls on the held-open lane."""
    recorder.responses = [httpx.Response(200, text="line 1\n")]
    core = make_core(recorder, fake_clock)
    lanes: list[bool] = []
    choose = core._async_client

    def spy(*, held_open: bool = False) -> Any:
        lanes.append(held_open)
        return choose(held_open=held_open)

    monkeypatch.setattr(core, "_async_client", spy)
    call = Call("GET", "/v2/logs/r1", "Read of the log", expect_json=False, held_open=held_open)

    async def read() -> bytes:
        async with core.astream(call) as response:
            body = await response.aread()
        await aclose_shared_clients()
        return body

    assert asyncio.run(read()) == b"line 1\n"
    assert lanes == [held_open]
