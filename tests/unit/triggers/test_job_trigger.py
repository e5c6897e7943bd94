"""``JobTrigger`` (triggers/_base.py) for each job kind: events, deadline, kill, log lines."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle

import httpx
import pytest
from _kinds import KindCase, aborts, fake_context, run_trigger, start_response
from _support import Recorder

from airflow_provider_jobs._compat import TaskDeferred
from airflow_provider_jobs.lifecycle import EVENT_ERROR, EVENT_TERMINAL, EVENT_TIMEOUT, read_event


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


def test_trigger_on_kill_aborts_and_cleanup_does_not(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.aborted)
    conn = job_kind.kind.hook_class.default_conn_name
    trig = job_kind.trigger(job_id=job_kind.job_id, conn_id=conn,
                            reason="r" if job_kind.name == "template_build" else None)
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
