"""``JobSensor(abort_on_kill=...)``: a sensor marked failed or cleared stops the job it watches."""

from __future__ import annotations

import pytest
from _kinds import KindCase, aborts, fake_context
from _support import Recorder

from airflow_provider_jobs._compat import TaskDeferred


def test_a_poking_sensor_that_is_killed_aborts_its_job_once(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.running)
    sensor = job_kind.sensor()
    assert sensor.poke(fake_context()) is False
    sensor.on_kill()
    sensor.on_kill()  # SIGTERM handler and a second signal: one abort
    assert len(aborts(api, job_kind)) == 1


def test_abort_on_kill_false_leaves_the_job_alone(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.running)
    sensor = job_kind.sensor(abort_on_kill=False)
    assert sensor.poke(fake_context()) is False
    sensor.on_kill()
    assert not aborts(api, job_kind)
    with pytest.raises(TaskDeferred) as exc:
        job_kind.sensor(deferrable=True, timeout=100, abort_on_kill=False).execute(fake_context())
    assert not exc.value.trigger.serialize()[1]["abort_on_kill"]


def test_a_sensor_killed_before_its_first_poke_sends_nothing(job_kind: KindCase, api: Recorder) -> None:
    job_kind.sensor().on_kill()
    assert api.requests == []


def test_on_kill_after_an_execution_timeout_follows_abort_on_timeout(job_kind: KindCase, api: Recorder) -> None:
    """Airflow calls ``on_kill`` after ``execution_timeout`` too: ``abort_on_timeout=False`` still holds."""
    from airflow_provider_jobs._compat import AirflowTaskTimeout

    api.default = job_kind.response(job_kind.running)
    off = {"cancel_on_timeout": False} if job_kind.name == "template_build" else {"abort_on_timeout": False}
    sensor = job_kind.sensor(poke_interval=0.01, **off)
    original = sensor.poke
    calls = []

    def poke(context: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise AirflowTaskTimeout("execution_timeout")
        return original(context)

    sensor.poke = poke  # type: ignore[method-assign]
    with pytest.raises(AirflowTaskTimeout):
        sensor.execute(fake_context())
    sensor.on_kill()
    assert not aborts(api, job_kind)
