"""``TrackedJob`` and the task rules of lifecycle/task.py, through the operators and sensors that compose them:
the own id from XCom, abort once (tried again when not delivered), settling a trigger event, no retry
when pointless or harmful."""

from __future__ import annotations

import httpx
import pytest
from _kinds import KindCase, aborts, fake_context, run_trigger, start_response
from _support import Recorder

from airflow_provider_jobs._compat import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowTaskTimeout,
    TaskDeferralTimeout,
)
from airflow_provider_jobs.lifecycle import EVENT_TIMEOUT


def test_the_own_id_is_pulled_for_this_map_index_only(job_kind: KindCase, api: Recorder) -> None:
    """A mapped task instance must read its own job id, not the list of every map index's ids."""
    api.default = job_kind.response(job_kind.aborted)
    ctx = fake_context(xcom={job_kind.kind.xcom_key: job_kind.job_id})
    ctx["ti"].map_index = 2
    with pytest.raises(TaskDeferralTimeout):
        job_kind.operator(deferrable=True).resume_execution("__fail__", {"error": "Trigger timeout"}, ctx)
    job_kind.notifier()(ctx)
    pulls = [c.kwargs for c in ctx["ti"].xcom_pull.call_args_list]
    assert pulls and all(c.get("map_indexes") == 2 for c in pulls), pulls


def test_an_interrupted_or_failed_abort_is_tried_again_by_on_kill(job_kind: KindCase, api: Recorder) -> None:
    """execution_timeout (a BaseException) lands while the wait_timeout abort is retrying: on_kill,
    which Airflow calls next, must still abort; likewise after an abort that failed outright."""
    op = job_kind.operator(poll_interval=0, wait_timeout=0.01)

    interrupted: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == job_kind.abort_path and not interrupted:
            interrupted.append(request)
            raise AirflowTaskTimeout("Timeout, PID: 1")  # SIGALRM lands during the abort
        return job_kind.response(job_kind.aborted if request.url.path == job_kind.abort_path else job_kind.running)

    api.responses = [start_response(job_kind, job_kind.running)]
    api.default = server
    with pytest.raises(AirflowTaskTimeout):
        op.execute(fake_context())
    op.on_kill()
    assert len(aborts(api, job_kind)) == 2  # the interrupted one, then on_kill's

    op = job_kind.operator(poll_interval=0)
    op._track(fake_context()).own(job_kind.job_id)  # a job this task owns
    api.requests.clear()
    api.default = job_kind.response(job_kind.aborted)
    api.responses = [httpx.Response(401, json={"error": {"type": "token-not-provided", "message": "no"}})]
    op.on_kill()  # refused: logged, not delivered
    op.on_kill()
    op.on_kill()  # delivered on the second call; the third sends nothing
    assert len(aborts(api, job_kind)) == 2


def test_a_trigger_abort_that_fails_at_the_deadline_is_sent_again_by_the_task(
        job_kind: KindCase, api: Recorder) -> None:
    import time

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == job_kind.abort_path:  # the abort is refused at the deadline
            return httpx.Response(401, json={"error": {"type": "token-not-provided", "message": "no"}})
        return job_kind.response(job_kind.running)

    api.default = server
    conn = job_kind.kind.hook_class.default_conn_name
    payload = run_trigger(job_kind.trigger(job_id=job_kind.job_id, conn_id=conn, end_time=time.time() + 0.1,
                                           poll_interval=0.05))
    assert payload["outcome"] == EVENT_TIMEOUT and payload["aborted"] is False
    assert "failed" in payload["message"] and "sent" not in payload["message"]
    api.requests.clear()
    api.default = job_kind.response(job_kind.aborted)
    with pytest.raises(AirflowException):
        job_kind.operator(deferrable=True).execute_complete(fake_context(), payload)
    assert len(aborts(api, job_kind)) == 1
    with pytest.raises(AirflowSensorTimeout):
        job_kind.sensor(deferrable=True).execute_complete(fake_context(), payload)
    assert len(aborts(api, job_kind)) == 2
    with pytest.raises(AirflowException):  # the trigger's abort went through: nothing more
        job_kind.operator(deferrable=True).execute_complete(fake_context(), {**payload, "aborted": True})
    assert len(aborts(api, job_kind)) == 2


def test_a_start_with_an_unknown_outcome_fails_without_retry(job_kind: KindCase, api: Recorder) -> None:
    api.responses = [httpx.Response(503, text="upstream reset")]
    with pytest.raises(AirflowFailException, match="cannot start a duplicate"):
        job_kind.operator(poll_interval=0).execute(fake_context())
    assert [r.method for r in api.requests] == ["POST"]


def test_bad_rendered_input_fails_without_retry(job_kind: KindCase, api: Recorder) -> None:
    bad = {"apify_run": {"actor_id": "a/b/c"}, "apify_build": {"actor_id": ""},
           "template_build": {"build_request": ["not", "a", "dict"]}}[job_kind.name]
    op = job_kind.operator(poll_interval=0)
    for key, value in bad.items():
        setattr(op, key, value)
    with pytest.raises(AirflowFailException, match="not retried"):
        op.execute(fake_context())
    sensor = job_kind.sensor()
    setattr(sensor, job_kind.kind.xcom_key, "../etc")  # run_id / build_id
    with pytest.raises(AirflowFailException, match="not retried"):
        sensor.execute(fake_context())
    assert not api.requests
