"""``JobOperator`` (operators/_base.py) starting or adopting its job: a start whose answer is late or
unreadable, a kill during the start, and a retry that finds the previous try's job."""

from __future__ import annotations

import httpx
import pytest
from _kinds import KindCase, aborts, fake_context, paths, start_response
from _support import Recorder

from airflow_provider_jobs._compat import AirflowException, AirflowFailException, TaskDeferred


def test_deferrable_start_tolerates_a_404_right_after_the_start(job_kind: KindCase, api: Recorder) -> None:
    """Replicas lag right after a start: the deferrable path defers (the trigger has the grace
    window) instead of failing and aborting a healthy job."""
    api.responses = [start_response(job_kind, job_kind.running),
                     httpx.Response(404, json={"error": {"type": "record-not-found", "message": "not yet"}})]
    with pytest.raises(TaskDeferred) as exc:
        job_kind.operator(deferrable=True).execute(fake_context())
    assert exc.value.trigger.serialize()[1]["not_found_grace"] > 0
    assert not aborts(api, job_kind)


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
