"""``JobOperator`` (operators/_base.py) for each job kind: wait, kill, timeouts, deferral and resume."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _kinds import KindCase, aborts, fake_context, paths, start_response
from _support import Recorder

from airflow_provider_jobs._compat import AirflowException, TaskDeferralError, TaskDeferralTimeout, TaskDeferred
from airflow_provider_jobs.exceptions import AuthError, JobFailedError
from airflow_provider_jobs.lifecycle import EVENT_ERROR, EVENT_TERMINAL, EVENT_TIMEOUT


def test_blocking_run_pushes_id_before_waiting_and_returns_summary(job_kind: KindCase, api: Recorder) -> None:
    ctx = fake_context()
    seen_at_first_get: dict[str, Any] = {}

    def first_get(request: httpx.Request) -> httpx.Response:
        seen_at_first_get.update(ctx["pushed"])
        return job_kind.response(job_kind.running)

    api.responses = [start_response(job_kind, "READY" if job_kind.name != "template_build" else "waiting"),
                     first_get, job_kind.response(job_kind.succeeded)]
    op = job_kind.operator(poll_interval=0)
    result = op.execute(ctx)
    assert seen_at_first_get[job_kind.kind.xcom_key] == job_kind.job_id
    assert result["id"] == job_kind.job_id and result["status"] == job_kind.succeeded
    json.dumps(result)
    assert "entries" not in result and "items" not in result
    assert paths(api)[0] == f"POST {job_kind.start_path}"
    assert not aborts(api, job_kind)


def test_bad_terminal_status_is_reported_not_aborted(job_kind: KindCase, api: Recorder) -> None:
    api.responses = [start_response(job_kind, job_kind.running), job_kind.response(job_kind.failed)]
    with pytest.raises(JobFailedError) as err:
        job_kind.operator(poll_interval=0).execute(fake_context())
    assert job_kind.failed in str(err.value) and job_kind.job_id in str(err.value)
    if job_kind.name != "template_build":
        assert "console.apify.com" in str(err.value)
    assert not aborts(api, job_kind)


def test_on_kill_while_waiting_aborts_and_stops(job_kind: KindCase, api: Recorder) -> None:
    op = job_kind.operator(poll_interval=0)

    def sigterm_during_poll(request: httpx.Request) -> httpx.Response:
        op.on_kill()  # what the SIGTERM handler does, in the middle of the wait
        return job_kind.response(job_kind.running)

    api.responses = [start_response(job_kind, job_kind.running), sigterm_during_poll]
    api.default = job_kind.response(job_kind.aborted)
    with pytest.raises(AirflowException, match="stopped while waiting"):
        op.execute(fake_context())
    assert len(aborts(api, job_kind)) == 1


def test_opt_out_of_abort_on_kill(job_kind: KindCase, api: Recorder) -> None:
    op = job_kind.operator(poll_interval=0, abort_on_kill=False)

    def sigterm(request: httpx.Request) -> httpx.Response:
        op.on_kill()
        return job_kind.response(job_kind.running)

    api.responses = [start_response(job_kind, job_kind.running), sigterm]
    with pytest.raises(AirflowException):
        op.execute(fake_context())
    assert not aborts(api, job_kind)


def test_wait_timeout_aborts(job_kind: KindCase, api: Recorder) -> None:
    api.responses = [start_response(job_kind, job_kind.running)]
    api.default = job_kind.response(job_kind.running)
    with pytest.raises(AirflowException, match="gave up waiting"):
        job_kind.operator(poll_interval=0.05, wait_timeout=0.2).execute(fake_context())
    assert len(aborts(api, job_kind)) == 1


def test_api_failure_while_waiting_aborts_then_raises(job_kind: KindCase, api: Recorder) -> None:
    api.responses = [start_response(job_kind, job_kind.running),
                     httpx.Response(401, json={"error": {"type": "user-or-token-not-found", "message": "revoked"}}),
                     job_kind.response(job_kind.aborted)]
    with pytest.raises(AuthError):
        job_kind.operator(poll_interval=0).execute(fake_context())
    assert len(aborts(api, job_kind)) == 1


def test_no_wait_returns_after_start(job_kind: KindCase, api: Recorder) -> None:
    api.responses = [start_response(job_kind, job_kind.running)]
    op = job_kind.operator(wait_for_termination=False)
    ctx = fake_context()
    assert op.execute(ctx)["status"] == job_kind.running
    assert ctx["pushed"][job_kind.kind.xcom_key] == job_kind.job_id
    op.on_kill()
    assert len(api.requests) == 1  # no wait, and nothing to abort once the task is done


def test_deferrable_defers_with_a_deadline_and_serializable_trigger(job_kind: KindCase, api: Recorder) -> None:
    api.responses = [start_response(job_kind, job_kind.running), job_kind.response(job_kind.running)]
    ctx = fake_context()
    with pytest.raises(TaskDeferred) as exc:
        job_kind.operator(deferrable=True, wait_timeout=600).execute(ctx)
    assert ctx["pushed"][job_kind.kind.xcom_key] == job_kind.job_id
    deferred = exc.value
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout is not None and deferred.timeout.total_seconds() > 600
    path, kwargs = deferred.trigger.serialize()
    assert isinstance(deferred.trigger, job_kind.trigger)
    assert path == f"{job_kind.trigger.__module__}.{job_kind.trigger.__qualname__}"
    json.dumps(kwargs)
    assert kwargs["job_id"] == job_kind.job_id and kwargs["end_time"] and kwargs["abort_on_kill"]
    rebuilt = job_kind.trigger(**kwargs)
    assert rebuilt.serialize() == (path, kwargs)


def test_deferrable_stays_on_worker_when_already_done(job_kind: KindCase, api: Recorder) -> None:
    api.responses = [start_response(job_kind, job_kind.running), job_kind.response(job_kind.succeeded)]
    assert job_kind.operator(deferrable=True).execute(fake_context())["status"] == job_kind.succeeded


def event(jk: KindCase, outcome: str, status: str | None = None, **extra: Any) -> dict[str, Any]:
    e: dict[str, Any] = {"outcome": outcome, "kind": jk.kind.name, "job_id": jk.job_id, "message": "m"}
    if status:
        e.update(status=status, summary={"id": jk.job_id, "status": status}, failure=f"ended {status}")
    return {**e, **extra}


def test_execute_complete(job_kind: KindCase, api: Recorder) -> None:
    op = job_kind.operator(deferrable=True)
    assert op.execute_complete(fake_context(), event(job_kind, EVENT_TERMINAL, job_kind.succeeded))["id"]
    with pytest.raises(AirflowException, match=f"ended {job_kind.failed}"):
        op.execute_complete(fake_context(), event(job_kind, EVENT_TERMINAL, job_kind.failed))
    with pytest.raises(AirflowException, match="m"):
        op.execute_complete(fake_context(), event(job_kind, EVENT_TIMEOUT))
    assert not api.requests  # the trigger already aborted at its deadline
    api.default = job_kind.response(job_kind.aborted)
    with pytest.raises(AirflowException):
        job_kind.operator(deferrable=True).execute_complete(fake_context(), event(job_kind, EVENT_ERROR))
    assert len(aborts(api, job_kind)) == 1
    for bad in (None, {"outcome": "weird"}, event(job_kind, EVENT_TERMINAL, job_kind.succeeded, kind="other"),
                {"outcome": EVENT_TERMINAL, "kind": job_kind.kind.name, "job_id": "x"}):
        with pytest.raises(AirflowException):
            op.execute_complete(fake_context(), bad)


def test_defer_timeout_aborts_on_resume(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.aborted)
    ctx = fake_context(xcom={job_kind.kind.xcom_key: job_kind.job_id})
    with pytest.raises(TaskDeferralTimeout):
        job_kind.operator(deferrable=True).resume_execution("__fail__", {"error": "Trigger timeout"}, ctx)
    assert len(aborts(api, job_kind)) == 1


def test_a_failed_trigger_aborts_on_resume(job_kind: KindCase, api: Recorder) -> None:
    """A trigger that raised or could not be loaded on the triggerer fails the task: abort first."""
    api.default = job_kind.response(job_kind.aborted)
    ctx = fake_context(xcom={job_kind.kind.xcom_key: job_kind.job_id})
    with pytest.raises(TaskDeferralError):
        job_kind.operator(deferrable=True).resume_execution("__fail__", {"error": "Trigger failure"}, ctx)
    assert len(aborts(api, job_kind)) == 1
    with pytest.raises(TaskDeferralError):
        job_kind.operator(deferrable=True, abort_on_kill=False).resume_execution(
            "__fail__", {"error": "Trigger failure"}, ctx)
    assert len(aborts(api, job_kind)) == 1


@pytest.mark.usefixtures("mock_connections")
def test_graceful_abort_at_wait_timeout_waits_bounded_for_the_end(api: Recorder) -> None:
    from _kinds import KINDS

    kind = KINDS["apify_run"]
    api.responses = [start_response(kind, "RUNNING")] + [kind.response("RUNNING")] * 3
    api.default = kind.response("ABORTING")
    op = kind.operator(poll_interval=0.05, wait_timeout=0.1, gracefully=True)
    op.graceful_wait = 0.3
    with pytest.raises(AirflowException, match="gave up waiting"):
        op.execute(fake_context())
    abort = aborts(api, kind)
    assert len(abort) == 1 and abort[0].url.params["gracefully"] == "true"
    assert paths(api)[-1] == f"GET {kind.get_path}"  # kept watching the ABORTING run, bounded


@pytest.mark.usefixtures("mock_connections")
def test_killed_graceful_run_sends_graceful_abort_without_waiting(api: Recorder) -> None:
    from _kinds import KINDS

    kind = KINDS["apify_run"]
    op = kind.operator(poll_interval=0, gracefully=True)

    def sigterm(request: httpx.Request) -> httpx.Response:
        op.on_kill()
        return kind.response("ABORTING")

    api.responses = [start_response(kind, "RUNNING"), sigterm]
    api.default = kind.response("ABORTING")
    with pytest.raises(AirflowException):
        op.execute(fake_context())
    assert [r.url.params.get("gracefully") for r in aborts(api, kind)] == ["true"]
