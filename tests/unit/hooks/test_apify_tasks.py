"""ApifyHook starts: actor-task runs, restartOnError and ad-hoc webhooks, capacity refusals, no retried start."""

from __future__ import annotations

import base64
import json
import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest
from _spec import validate_apify_request
from _support import Recorder, apify_error, apify_ok
from test_apify_storage_reads import MODES, call, hook

from airflow_provider_jobs.exceptions import (
    InvalidArgumentError,
    InvalidIdError,
    PaymentRequiredError,
    StartOutcomeUnknownError,
)
from airflow_provider_jobs.models import ApifyRun

RUN = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "apify" / "run_aborted.json").read_text())["data"]
WEBHOOKS = [{"eventTypes": ["ACTOR.RUN.FAILED", "ACTOR.RUN.TIMED_OUT"], "requestUrl": "https://example.com/hook",
             "payloadTemplate": '{"run": {{resource}}}'}]

pytestmark = pytest.mark.usefixtures("mock_connections")


def decoded_webhooks(request: httpx.Request) -> Any:
    return json.loads(base64.b64decode(request.url.params["webhooks"]))


@pytest.mark.parametrize("mode", MODES)
def test_start_task_run_posts_the_input_and_options(recorder: Recorder, mode: str) -> None:
    recorder.default = apify_ok({**RUN, "actorTaskId": "t1"}, status=201)
    run = call(hook(recorder), mode, "start_task_run", "janedoe/my-task", {"url": "https://x"}, build="latest",
               timeout_secs=60, memory_mbytes=512, max_items=10, max_total_charge_usd=2.5, restart_on_error=True,
               webhooks=WEBHOOKS, wait_for_finish=5)
    assert isinstance(run, ApifyRun) and run.actor_task_id == "t1"
    req = recorder.last
    assert (req.method, req.url.path) == ("POST", "/v2/actor-tasks/janedoe~my-task/runs")
    params = dict(req.url.params)
    assert decoded_webhooks(req) == WEBHOOKS
    del params["webhooks"]
    assert params == {"build": "latest", "timeout": "60", "memory": "512", "maxItems": "10",
                      "maxTotalChargeUsd": "2.5", "restartOnError": "true", "waitForFinish": "5"}
    assert json.loads(req.content) == {"url": "https://x"}
    assert req.headers["content-type"] == "application/json"
    validate_apify_request(req)


@pytest.mark.parametrize("mode", MODES)
def test_start_task_run_without_input_sends_an_empty_object(recorder: Recorder, mode: str) -> None:
    recorder.default = apify_ok(RUN, status=201)
    call(hook(recorder), mode, "start_task_run", "t1")
    assert json.loads(recorder.last.content) == {} and dict(recorder.last.url.params) == {}


@pytest.mark.parametrize("mode", MODES)
def test_start_run_sends_restart_on_error_and_webhooks(recorder: Recorder, mode: str) -> None:
    recorder.default = apify_ok(RUN, status=201)
    call(hook(recorder), mode, "start_run", "a1", restart_on_error=False, webhooks=WEBHOOKS)
    assert recorder.last.url.params["restartOnError"] == "false"
    assert decoded_webhooks(recorder.last) == WEBHOOKS
    validate_apify_request(recorder.last)


def test_an_empty_webhook_list_sends_none(recorder: Recorder) -> None:
    recorder.default = apify_ok(RUN, status=201)
    hook(recorder).start_run("a1", webhooks=[])
    assert "webhooks" not in recorder.last.url.params


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "first",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), apify_error(502, "bad-gateway", "x")],
)
def test_a_task_start_that_may_have_arrived_is_never_retried(recorder: Recorder, mode: str, first: Any) -> None:
    recorder.responses = [first, apify_ok(RUN, status=201)]
    with pytest.raises(StartOutcomeUnknownError):
        call(hook(recorder), mode, "start_task_run", "t1")
    assert len(recorder.requests) == 1


def test_a_task_start_that_never_left_is_retried(recorder: Recorder) -> None:
    recorder.responses = [httpx.ConnectError("refused"), apify_ok(RUN, status=201)]
    assert hook(recorder).start_task_run("t1").id == RUN["id"]
    assert len(recorder.requests) == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("status", "error_type"), [(402, "actor-memory-limit-exceeded"),
                                                    (400, "concurrent-runs-limit-exceeded")])
def test_capacity_refusals_are_told_apart_so_a_caller_can_wait_and_retry(
    recorder: Recorder, mode: str, status: int, error_type: str
) -> None:
    recorder.default = apify_error(status, error_type, "By launching this job you will exceed the memory limit")
    with pytest.raises(PaymentRequiredError) as err:
        call(hook(recorder), mode, "start_task_run", "t1")
    assert err.value.is_capacity_refusal and err.value.error_type == error_type
    assert len(recorder.requests) == 1
    assert pickle.loads(pickle.dumps(err.value)).is_capacity_refusal


def test_other_payment_refusals_are_not_capacity_refusals(recorder: Recorder) -> None:
    recorder.default = apify_error(402, "not-enough-usage-to-run-paid-actor", "pay")
    with pytest.raises(PaymentRequiredError) as err:
        hook(recorder).start_run("a1")
    assert not err.value.is_capacity_refusal


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [(("a/b/c",), {}, InvalidIdError), (("t~",), {}, InvalidIdError), ((None,), {}, InvalidIdError),
     (("t1", [1]), {}, InvalidArgumentError), (("t1",), {"webhooks": {"eventTypes": []}}, InvalidArgumentError),
     (("t1",), {"webhooks": [{"requestUrl": "https://x"}]}, InvalidArgumentError),
     (("t1",), {"webhooks": [{"eventTypes": ["ACTOR.RUN.FAILED"], "requestUrl": "ftp://x"}]}, InvalidArgumentError),
     (("t1",), {"webhooks": [{"event_types": ["ACTOR.RUN.FAILED"], "request_url": "https://x"}]},
      InvalidArgumentError),
     (("t1",), {"webhooks": "W3t9XQ=="}, InvalidArgumentError),
     (("t1",), {"restart_on_error": 1}, InvalidArgumentError), (("t1",), {"memory_mbytes": 0}, InvalidArgumentError),
     (("t1",), {"max_total_charge_usd": -1}, InvalidArgumentError),
     (("t1",), {"build": "a b"}, InvalidIdError)],
)
@pytest.mark.parametrize("mode", MODES)
def test_bad_start_arguments_are_refused_before_any_request(
    recorder: Recorder, mode: str, args: tuple, kwargs: dict, error: type[Exception]
) -> None:
    with pytest.raises(error):
        call(hook(recorder), mode, "start_task_run", *args, **kwargs)
    assert recorder.requests == []
