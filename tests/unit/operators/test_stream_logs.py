"""``stream_logs`` on the Apify start operators (JobOperator), blocking and deferred, and the log tail
in the failure of a run or build, from the operator and from the trigger."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from _kinds import KINDS, KindCase, fake_context, run_trigger, start_response
from _support import Recorder

from airflow_provider_jobs._compat import AirflowException, TaskDeferred
from airflow_provider_jobs.exceptions import JobFailedError
from airflow_provider_jobs.lifecycle import EVENT_TERMINAL

pytestmark = pytest.mark.usefixtures("mock_connections")

APIFY = [KINDS["apify_run"], KINDS["apify_build"]]
LOG = b"2026-12-05T10:00:00.000Z ACTOR: Pulling Docker image.\n2026-12-05T10:00:01.000Z INFO  Progress: 1 of 2 done.\n"
LINES = [line.decode() for line in LOG.splitlines()]


def log_path(kind: KindCase) -> str:
    return f"/v2/logs/{kind.job_id}"


def log_body(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=LOG)


def requests_of(api: Recorder, kind: KindCase) -> list[str]:
    out = []
    for r in api.requests:
        if r.url.path == log_path(kind):
            out.append("log-stream" if r.url.params.get("stream") else "log")
        elif r.method == "GET":
            out.append("status/" + r.url.params.get("waitForFinish", "0"))
        else:
            out.append(r.method)
    return out


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Callable[[], list[str]]:
    """What was logged so far, per destination: the task's and the trigger's loggers may be
    structlog's (printed), stdlib's (captured) or both."""
    caplog.set_level(logging.INFO)
    return lambda: [caplog.text, capsys.readouterr().out]


def once_each(texts: list[str]) -> bool:
    """Each log line is in the logs, and no destination has it twice."""
    return all(any(line in text for text in texts) and all(text.count(line) <= 1 for text in texts)
               for line in LINES)


@pytest.mark.parametrize("kind", APIFY, ids=lambda k: k.name)
def test_blocking_wait_follows_the_log_into_the_task_log(kind: KindCase, api: Recorder,
                                                         logged: Callable[[], list[str]]) -> None:
    api.responses = [start_response(kind, kind.running), log_body, kind.response(kind.succeeded)]
    op = kind.operator(stream_logs=True, poll_interval=0)
    assert op.stream_logs is True
    assert op.execute(fake_context())["status"] == kind.succeeded
    assert once_each(logged())
    assert requests_of(api, kind) == ["POST", "log-stream", "status/0"]  # the stream replaces the long poll


@pytest.mark.parametrize("kind", APIFY, ids=lambda k: k.name)
def test_without_stream_logs_the_wait_reads_no_log(kind: KindCase, api: Recorder) -> None:
    api.responses = [start_response(kind, kind.running), kind.response(kind.succeeded)]
    op = kind.operator(poll_interval=0)
    assert op.stream_logs is False and op.log_line() is None
    op.execute(fake_context())
    assert requests_of(api, kind) == ["POST", "status/60"]


@pytest.mark.parametrize("kind", APIFY, ids=lambda k: k.name)
def test_deferred_wait_follows_the_log_from_the_trigger(kind: KindCase, api: Recorder,
                                                        logged: Callable[[], list[str]]) -> None:
    api.responses = [start_response(kind, kind.running), kind.response(kind.running)]
    with pytest.raises(TaskDeferred) as deferred:
        kind.operator(deferrable=True, stream_logs=True).execute(fake_context())
    trigger = deferred.value.trigger
    classpath, kwargs = trigger.serialize()
    assert kwargs["stream_logs"] is True
    api.requests.clear()
    api.responses = [lambda r: httpx.Response(200, content=LOG[:30]), kind.response(kind.running),
                     log_body, kind.response(kind.succeeded)]
    assert run_trigger(type(trigger)(**kwargs))["outcome"] == EVENT_TERMINAL
    assert once_each(logged())  # the line cut at a chunk boundary comes out whole
    assert requests_of(api, kind) == ["log-stream", "status/0", "log-stream", "status/0"]


@pytest.mark.parametrize("kind", APIFY, ids=lambda k: k.name)
@pytest.mark.parametrize("stream_logs", [False, True])
def test_a_bad_end_fails_with_the_last_log_lines(kind: KindCase, api: Recorder, stream_logs: bool) -> None:
    api.responses = [start_response(kind, kind.running)]
    if stream_logs:
        api.responses.append(log_body)
    api.responses += [kind.response(kind.failed), log_body]
    with pytest.raises(JobFailedError) as err:
        kind.operator(stream_logs=stream_logs, poll_interval=0).execute(fake_context())
    assert err.value.log_tail == tuple(LINES)
    assert str(err.value).endswith("\n".join(f"    {line}" for line in LINES))
    assert requests_of(api, kind)[-1] == "log"


@pytest.mark.parametrize("kind", APIFY, ids=lambda k: k.name)
def test_a_deferred_bad_end_fails_with_the_last_log_lines(kind: KindCase, api: Recorder) -> None:
    api.responses = [kind.response(kind.failed), log_body]
    conn = kind.kind.hook_class.default_conn_name
    event = run_trigger(kind.trigger(job_id=kind.job_id, conn_id=conn, poll_interval=0))
    assert LINES[-1] in event["failure"] and requests_of(api, kind) == ["status/60", "log"]
    with pytest.raises(AirflowException, match="Progress: 1 of 2 done"):
        kind.operator().execute_complete(fake_context(), event)


@pytest.mark.parametrize("kind", APIFY, ids=lambda k: k.name)
def test_a_success_reads_no_log_tail(kind: KindCase, api: Recorder) -> None:
    api.responses = [kind.response(kind.succeeded)]
    conn = kind.kind.hook_class.default_conn_name
    assert run_trigger(kind.trigger(job_id=kind.job_id, conn_id=conn))["outcome"] == EVENT_TERMINAL
    assert requests_of(api, kind) == ["status/60"]


def test_template_builds_keep_streaming_by_default() -> None:
    kind: Any = KINDS["template_build"]
    assert kind.operator().stream_logs is True and kind.operator(stream_logs=False).log_line() is None


@pytest.mark.parametrize("kind", APIFY, ids=lambda k: k.name)
def test_on_kill_while_following_the_log_aborts_and_stops(kind: KindCase, api: Recorder) -> None:
    op = kind.operator(stream_logs=True, poll_interval=0)

    def sigterm_while_streaming(request: httpx.Request) -> httpx.Response:
        op.on_kill()  # what the SIGTERM handler does, in the middle of the wait
        return log_body(request)

    api.responses = [start_response(kind, kind.running), sigterm_while_streaming, kind.response(kind.aborted)]
    with pytest.raises(AirflowException, match="stopped while waiting"):
        op.execute(fake_context())
    assert requests_of(api, kind) == ["POST", "log-stream", "POST"] and api.requests[-1].url.path == kind.abort_path


def silent(request: httpx.Request) -> Iterator[bytes]:
    """A log stream's body: the log so far, then silence until the read timeout."""
    yield LOG
    raise httpx.ReadTimeout("quiet", request=request)


@pytest.mark.parametrize("kind", APIFY, ids=lambda k: k.name)
def test_wait_timeout_while_the_log_is_quiet_aborts(kind: KindCase, api: Recorder) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == log_path(kind):
            return httpx.Response(200, content=silent(request))
        if request.method == "POST":
            return kind.response(kind.aborted)
        return kind.response(kind.running)

    api.responses = [start_response(kind, kind.running)]
    api.default = answer
    with pytest.raises(AirflowException, match="gave up waiting"):
        kind.operator(stream_logs=True, poll_interval=0.05, wait_timeout=0.3).execute(fake_context())
    assert [r.url.path for r in api.requests if r.method == "POST"][-1] == kind.abort_path
    assert "log-stream" in requests_of(api, kind)
