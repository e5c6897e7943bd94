"""The job lifecycle, parametrised over Apify runs, Apify builds and template builds (MockTransport)."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
from typing import Any

import httpx
import pytest
from _kinds import KindCase, fake_context, start_response
from _support import Recorder

from airflow_provider_jobs._compat import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
    PokeReturnValue,
    TaskDeferralError,
    TaskDeferralTimeout,
    TaskDeferred,
)
from airflow_provider_jobs.exceptions import AuthError, JobFailedError
from airflow_provider_jobs.lifecycle import (
    EVENT_ERROR,
    EVENT_TERMINAL,
    EVENT_TIMEOUT,
    JobKind,
    Outcome,
    decide,
    read_event,
)


@pytest.fixture
def api(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Route every hook the lifecycle creates (operators, quick aborts, triggers) to the recorder."""
    original = JobKind.hook

    def hook(self: JobKind, conn_id: str, **kwargs: Any) -> Any:
        kwargs.setdefault("transport", recorder.transport())
        kwargs.setdefault("async_transport", recorder.async_transport())
        return original(self, conn_id, **kwargs)

    monkeypatch.setattr(JobKind, "hook", hook)
    return recorder


def paths(rec: Recorder) -> list[str]:
    return [f"{r.method} {r.url.path}" for r in rec.requests]


def aborts(rec: Recorder, kind: KindCase) -> list[httpx.Request]:
    return [r for r in rec.requests if r.method == "POST" and r.url.path == kind.abort_path]


def test_decide(job_kind: KindCase) -> None:
    statuses = job_kind.kind.statuses
    assert decide(statuses, job_kind.running) is Outcome.RUNNING
    assert decide(statuses, job_kind.succeeded) is Outcome.SUCCEEDED
    assert decide(statuses, job_kind.failed) is Outcome.FAILED
    assert decide(statuses, job_kind.aborted) is Outcome.FAILED
    assert decide(statuses, "SOMETHING-NEW") is Outcome.RUNNING


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


def test_notifier_for_another_task_aborts_every_id_it_pushed(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.aborted)
    ctx = fake_context()
    ctx["ti"].xcom_pull.side_effect = lambda task_ids=None, key=None, map_indexes=None: [
        job_kind.job_id, None, job_kind.job_id, "other-job-2"]
    job_kind.notifier(task_id="start")(ctx)
    assert sorted(r.url.path for r in api.requests) == sorted(
        [job_kind.abort_path, job_kind.abort_path.replace(job_kind.job_id, "other-job-2")])


def stopping_response(jk: KindCase) -> httpx.Response:
    """The job as the service shows it while an abort/cancel is under way."""
    if jk.name == "template_build":
        body = jk.body(jk.running)
        body["build"]["cancel_requested_at"] = "2026-01-01T00:00:00Z"
        return httpx.Response(200, json=body)
    return jk.response("ABORTING")


def test_retry_does_not_adopt_a_job_that_is_being_aborted(job_kind: KindCase, api: Recorder) -> None:
    """The previous try aborted its job (ABORTING / cancel requested): the retry starts a new one
    instead of adopting a job that can only end ABORTED/cancelled."""
    store = {job_kind.kind.xcom_key: "old-job-1"}
    api.responses = [stopping_response(job_kind), start_response(job_kind, job_kind.running),
                     job_kind.response(job_kind.succeeded)]
    result = job_kind.operator(poll_interval=0).execute(fake_context(store=store))
    assert result["status"] == job_kind.succeeded
    assert paths(api)[1] == f"POST {job_kind.start_path}" and not aborts(api, job_kind)


def test_retry_does_not_adopt_a_run_that_is_timing_out(api: Recorder, mock_connections: None) -> None:
    """TIMING-OUT is about to end (as TIMED-OUT): like ABORTING, a retry starts a new run instead."""
    from _kinds import KINDS

    kind = KINDS["apify_run"]
    api.responses = [kind.response("TIMING-OUT"), start_response(kind, kind.running), kind.response(kind.succeeded)]
    result = kind.operator(poll_interval=0).execute(fake_context(store={kind.kind.xcom_key: "old-run-1"}))
    assert result["status"] == kind.succeeded
    assert paths(api)[1] == f"POST {kind.start_path}" and not aborts(api, kind)


def test_a_kill_while_the_previous_job_is_aborted_starts_nothing(job_kind: KindCase, api: Recorder) -> None:
    store = {job_kind.kind.xcom_key: "old-job-1"}
    op = job_kind.operator(poll_interval=0, reattach=False)

    def abort_then_sigterm(request: httpx.Request) -> httpx.Response:
        op.on_kill()  # SIGTERM while the previous try's job is being aborted
        return job_kind.response(job_kind.aborted)

    api.responses = [job_kind.response(job_kind.running), abort_then_sigterm]
    with pytest.raises(AirflowException, match="nothing was started"):
        op.execute(fake_context(store=store))
    assert not [r for r in api.requests if r.url.path == job_kind.start_path]


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


def test_deferrable_start_tolerates_a_404_right_after_the_start(job_kind: KindCase, api: Recorder) -> None:
    """Replicas lag right after a start: the deferrable path defers (the trigger has the grace
    window) instead of failing and aborting a healthy job."""
    api.responses = [start_response(job_kind, job_kind.running),
                     httpx.Response(404, json={"error": {"type": "record-not-found", "message": "not yet"}})]
    with pytest.raises(TaskDeferred) as exc:
        job_kind.operator(deferrable=True).execute(fake_context())
    assert exc.value.trigger.serialize()[1]["not_found_grace"] > 0
    assert not aborts(api, job_kind)


def test_a_start_with_an_unknown_outcome_fails_without_retry(job_kind: KindCase, api: Recorder) -> None:
    api.responses = [httpx.Response(503, text="upstream reset")]
    with pytest.raises(AirflowFailException, match="cannot start a duplicate"):
        job_kind.operator(poll_interval=0).execute(fake_context())
    assert [r.method for r in api.requests] == ["POST"]


def test_a_created_job_whose_answer_is_unreadable_is_aborted(job_kind: KindCase, api: Recorder) -> None:
    """The start answered 2xx with a body of the wrong shape: the job exists, the task cannot
    watch it, so it aborts it (the id is in the raw body) and fails without Airflow retries."""
    if job_kind.name == "template_build":
        unreadable = {"build_id": job_kind.job_id, "status": "building", "created_at": "not a date"}
    else:
        unreadable = {"data": {"id": job_kind.job_id, "status": "RUNNING", "startedAt": "2024-13-45"}}
    api.responses = [httpx.Response(201 if job_kind.name != "template_build" else 202, json=unreadable)]
    api.default = job_kind.response(job_kind.aborted)
    with pytest.raises(AirflowFailException, match="cannot start a duplicate"):
        job_kind.operator(poll_interval=0).execute(fake_context())
    assert len(aborts(api, job_kind)) == 1
    assert [r.url.path for r in api.requests].count(job_kind.start_path) == 1


def test_retry_adopts_the_running_job(job_kind: KindCase, api: Recorder) -> None:
    store = {job_kind.kind.xcom_key: job_kind.job_id}
    api.responses = [job_kind.response(job_kind.running), job_kind.response(job_kind.succeeded)]
    result = job_kind.operator(poll_interval=0).execute(fake_context(store=store))
    assert result["status"] == job_kind.succeeded
    assert all(r.method == "GET" for r in api.requests)  # no second start


def test_retry_without_reattach_aborts_the_old_job_first(job_kind: KindCase, api: Recorder) -> None:
    store = {job_kind.kind.xcom_key: "old-job-1"}
    abort_old = job_kind.abort_path.replace(job_kind.job_id, "old-job-1")
    api.responses = [job_kind.response(job_kind.running), job_kind.response(job_kind.aborted),
                     start_response(job_kind, job_kind.running), job_kind.response(job_kind.succeeded)]
    job_kind.operator(poll_interval=0, reattach=False).execute(fake_context(store=store))
    assert paths(api)[1] == f"POST {abort_old}" and paths(api)[2] == f"POST {job_kind.start_path}"
    assert store[job_kind.kind.xcom_key] == job_kind.job_id


def test_retry_after_a_failed_job_starts_fresh(job_kind: KindCase, api: Recorder) -> None:
    store = {job_kind.kind.xcom_key: "old-job-1"}
    api.responses = [job_kind.response(job_kind.failed), start_response(job_kind, job_kind.succeeded)]
    job_kind.operator(poll_interval=0).execute(fake_context(store=store))
    assert paths(api)[1] == f"POST {job_kind.start_path}"


# ------------------------------------------------------------------ triggers
def run_trigger(trigger: Any) -> dict[str, Any]:
    async def first() -> dict[str, Any]:
        gen = trigger.run()
        ev = await gen.__anext__()
        await gen.aclose()
        return ev.payload

    return asyncio.run(first())


@pytest.mark.usefixtures("mock_connections")
def test_deferred_template_build_streams_its_log_lines_from_the_trigger(
        api: Recorder, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    from _kinds import KINDS

    kind = KINDS["template_build"]
    api.responses = [start_response(kind, kind.running), kind.response(kind.running)]
    with pytest.raises(TaskDeferred) as exc:
        kind.operator(deferrable=True).execute(fake_context())
    trigger = exc.value.trigger
    assert trigger.serialize()[1]["stream_logs"] is True
    with pytest.raises(TaskDeferred) as quiet:
        api.responses = [start_response(kind, kind.running), kind.response(kind.running)]
        kind.operator(deferrable=True, stream_logs=False).execute(fake_context())
    assert quiet.value.trigger.serialize()[1]["stream_logs"] is False

    body = kind.body(kind.succeeded)
    body["entries"] = [{"offset": 0, "message": "step 1/2 pulling base image"},
                       {"offset": 1, "message": "step 2/2 installing requirements"}]
    api.responses = [httpx.Response(200, json=body)]
    with caplog.at_level(logging.INFO):
        assert run_trigger(trigger)["outcome"] == EVENT_TERMINAL
    logged = caplog.text + capsys.readouterr().out  # the trigger's logger may be structlog's
    assert "pulling base image" in logged and "installing requirements" in logged


def test_trigger_yields_terminal_event(job_kind: KindCase, api: Recorder) -> None:
    api.responses = [job_kind.response(job_kind.running), httpx.Response(503), job_kind.response(job_kind.succeeded)]
    payload = run_trigger(job_kind.trigger(job_id=job_kind.job_id, conn_id=job_kind.kind.hook_class.default_conn_name,
                                           poll_interval=0))
    assert read_event(job_kind.kind, payload)["outcome"] == EVENT_TERMINAL
    assert payload["status"] == job_kind.succeeded and payload["summary"]["id"] == job_kind.job_id
    json.dumps(payload)
    pickle.dumps(payload)


def test_trigger_aborts_at_its_deadline(job_kind: KindCase, api: Recorder) -> None:
    import time

    api.default = job_kind.response(job_kind.running)
    conn = job_kind.kind.hook_class.default_conn_name
    payload = run_trigger(job_kind.trigger(job_id=job_kind.job_id, conn_id=conn, end_time=time.time() + 0.2,
                                           poll_interval=0.05))
    assert payload["outcome"] == EVENT_TIMEOUT and len(aborts(api, job_kind)) == 1
    api.requests.clear()
    payload = run_trigger(job_kind.trigger(job_id=job_kind.job_id, conn_id=conn, end_time=time.time(),
                                           abort_on_timeout=False, poll_interval=0.05))
    assert payload["outcome"] == EVENT_TIMEOUT and not aborts(api, job_kind)


def test_a_trigger_abort_that_fails_at_the_deadline_is_sent_again_by_the_task(job_kind: KindCase, api: Recorder) -> None:
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


def test_trigger_on_kill_aborts_and_cleanup_does_not(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.aborted)
    conn = job_kind.kind.hook_class.default_conn_name
    trig = job_kind.trigger(job_id=job_kind.job_id, conn_id=conn, reason="r" if job_kind.name == "template_build" else None)
    asyncio.run(trig.cleanup())
    assert not api.requests
    asyncio.run(trig.on_kill())
    assert len(aborts(api, job_kind)) == 1
    asyncio.run(job_kind.trigger(job_id=job_kind.job_id, conn_id=conn, abort_on_kill=False).on_kill())
    assert len(aborts(api, job_kind)) == 1


def test_trigger_404_is_an_error_event_not_an_endless_wait(job_kind: KindCase, api: Recorder) -> None:
    api.default = httpx.Response(404, json={"error": {"type": "record-not-found", "message": "gone"}})
    payload = run_trigger(job_kind.trigger(job_id=job_kind.job_id, conn_id=job_kind.kind.hook_class.default_conn_name))
    assert payload["outcome"] == EVENT_ERROR and "404" in payload["message"]


# ------------------------------------------------------------------- sensors
def test_sensor_poke(job_kind: KindCase, api: Recorder) -> None:
    sensor = job_kind.sensor()
    ctx = fake_context()
    api.responses = [job_kind.response(job_kind.running), job_kind.response(job_kind.succeeded),
                     job_kind.response(job_kind.failed),
                     httpx.Response(404, json={"error": {"type": "record-not-found", "message": "gone"}})]
    assert sensor.poke(ctx) is False
    done = sensor.poke(ctx)
    assert isinstance(done, PokeReturnValue) and done.xcom_value["status"] == job_kind.succeeded
    with pytest.raises(AirflowFailException, match=job_kind.failed):
        sensor.poke(ctx)
    with pytest.raises(AirflowFailException, match="404"):
        sensor.poke(ctx)


def test_sensor_timeout_aborts_unless_told_not_to(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.running)
    with pytest.raises(AirflowSensorTimeout):
        job_kind.sensor(timeout=0.15, poke_interval=0.05).execute(fake_context())
    assert len(aborts(api, job_kind)) == 1
    api.requests.clear()
    with pytest.raises(AirflowSensorTimeout):
        job_kind.sensor(timeout=0.15, poke_interval=0.05, abort_on_timeout=False).execute(fake_context()) \
            if job_kind.name != "template_build" else \
            job_kind.sensor(timeout=0.15, poke_interval=0.05, cancel_on_timeout=False).execute(fake_context())
    assert not aborts(api, job_kind)


def test_sensor_deferrable(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.running)
    with pytest.raises(TaskDeferred) as exc:
        job_kind.sensor(deferrable=True, timeout=100).execute(fake_context())
    _, kwargs = exc.value.trigger.serialize()
    assert kwargs["abort_on_timeout"] and not kwargs["abort_on_kill"]
    assert exc.value.timeout.total_seconds() > 100
    api.default = job_kind.response(job_kind.aborted)
    with pytest.raises(AirflowSensorTimeout):
        job_kind.sensor(deferrable=True).resume_execution("__fail__", {"error": "Trigger timeout"}, fake_context())
    assert len(aborts(api, job_kind)) == 1


def test_soft_fail_skip_caused_by_execution_timeout_in_a_poke_still_aborts(job_kind: KindCase, api: Recorder) -> None:
    """execution_timeout lands inside a (slow) poke: with soft_fail Airflow skips the sensor
    (AirflowSkipException from the AirflowTaskTimeout); the job must not be left running."""
    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == job_kind.abort_path:
            return job_kind.response(job_kind.aborted)
        raise AirflowTaskTimeout("Timeout, PID: 1")

    api.default = server
    with pytest.raises(AirflowSkipException):
        job_kind.sensor(soft_fail=True, timeout=100, poke_interval=0.01).execute(fake_context())
    assert len(aborts(api, job_kind)) == 1
    with pytest.raises(AirflowSkipException):
        opt_out = {"cancel_on_timeout" if job_kind.name == "template_build" else "abort_on_timeout": False}
        job_kind.sensor(soft_fail=True, timeout=100, **opt_out).execute(fake_context())
    assert len(aborts(api, job_kind)) == 1


def test_deferrable_sensor_honours_soft_fail_on_a_bad_end_before_deferring(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.failed)
    with pytest.raises(AirflowSkipException):
        job_kind.sensor(deferrable=True, soft_fail=True).execute(fake_context())
    with pytest.raises(AirflowFailException):
        job_kind.sensor(deferrable=True).execute(fake_context())
    assert not aborts(api, job_kind)


def test_sensor_pushes_its_extra_link_while_it_waits(job_kind: KindCase, api: Recorder) -> None:
    sensor = job_kind.sensor()
    ctx = fake_context()
    api.default = job_kind.response(job_kind.running)
    assert sensor.poke(ctx) is False
    links = [link.xcom_key for link in sensor.operator_extra_links]
    if job_kind.name == "template_build":  # no console for template builds
        assert not links
    else:
        assert links and all(ctx["pushed"][key].startswith("https://console.apify.com/actors/") for key in links)


def test_deferred_sensor_polls_at_its_poke_interval_unless_the_service_long_polls(
        job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.running)
    with pytest.raises(TaskDeferred) as exc:
        job_kind.sensor(deferrable=True, poke_interval=300, timeout=1000).execute(fake_context())
    expected = None if job_kind.kind.long_polls else 300.0
    assert exc.value.trigger.serialize()[1]["poll_interval"] == expected


# ----------------------------------------------------------------- notifiers
def test_notifier_aborts_the_id_from_xcom(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.aborted)
    ctx = fake_context(xcom={job_kind.kind.xcom_key: job_kind.job_id})
    job_kind.notifier().notify(ctx)
    assert len(aborts(api, job_kind)) == 1
    if job_kind.name == "template_build":
        assert json.loads(aborts(api, job_kind)[0].content)["reason"] == \
            "airflow: dag=dag1 task=t run=manual__1 try=1"


@pytest.mark.parametrize("failure", ["missing", "404", "401", "dead", "no-ti"])
def test_notifier_never_raises(job_kind: KindCase, api: Recorder, failure: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    ctx = fake_context(xcom={} if failure == "missing" else {job_kind.kind.xcom_key: job_kind.job_id})
    if failure == "no-ti":
        ctx = {}
    api.default = {
        "404": httpx.Response(404, json={"error": {"type": "record-not-found", "message": "gone"}}),
        "401": httpx.Response(401, json={"error": {"type": "user-or-token-not-found", "message": "bad"}}),
        "dead": httpx.ConnectError("Connection refused", request=httpx.Request("POST", "http://x")),
    }.get(failure)
    job_kind.notifier(deadline=1.0).notify(ctx)
    text = " ".join(r.getMessage() for r in caplog.records)
    expected = {"missing": "nothing to", "no-ti": "nothing to", "404": "404", "401": "401", "dead": "ConnectError"}
    assert expected[failure] in text


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


def test_kill_while_the_start_is_in_flight_aborts_the_new_job(job_kind: KindCase, api: Recorder) -> None:
    op = job_kind.operator(poll_interval=0)

    def start_then_sigterm(request: httpx.Request) -> httpx.Response:
        op.on_kill()  # SIGTERM lands before the start answered: no job id known yet
        return start_response(job_kind, job_kind.running)

    api.responses = [start_then_sigterm]
    api.default = job_kind.response(job_kind.aborted)
    with pytest.raises(AirflowException, match="killed while starting"):
        op.execute(fake_context())
    assert len(aborts(api, job_kind)) == 1


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
