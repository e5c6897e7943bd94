"""``JobSensor`` (sensors/_base.py) for each job kind: poke, timeout, deferral, soft_fail, extra links."""

from __future__ import annotations

import httpx
import pytest
from _kinds import KindCase, aborts, fake_context
from _support import Recorder

from airflow_provider_jobs._compat import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
    PokeReturnValue,
    TaskDeferred,
)


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
    assert kwargs["abort_on_timeout"] and kwargs["abort_on_kill"]  # marked failed while deferred: the trigger aborts
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
