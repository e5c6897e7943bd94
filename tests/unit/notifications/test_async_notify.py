"""Notifiers run sync (failure callbacks) and awaited (the triggerer: deadline alerts); both abort once and log.

Against the emulator: each notifier aborts a running job of its kind through ``notify`` and through
``async_notify``; the awaited form is the one Airflow's ``CallbackTrigger`` uses for deadline alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_jobs._compat import BaseNotifier
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline
from airflow_provider_jobs.notifications._base import JobAbortNotifier
from airflow_provider_jobs.notifications.apify import ApifyAbortBuildNotifier, ApifyAbortRunNotifier
from airflow_provider_jobs.notifications.template_builds import TemplateBuildCancelNotifier


@dataclass
class Case:
    notifier: Callable[..., JobAbortNotifier]
    create: Callable[[Emulator], str]
    abort_route: str
    xcom_key: str


CASES = {
    "apify_run": Case(lambda job_id=None, **kw: ApifyAbortRunNotifier(job_id, **kw),
                      lambda emu: emu.create_run("ops~long"), "POST /v2/actor-runs/{runId}/abort", "run_id"),
    "apify_build": Case(lambda job_id=None, **kw: ApifyAbortBuildNotifier(job_id, **kw),
                        lambda emu: emu.create_build("ops~long"), "POST /v2/actor-builds/{buildId}/abort",
                        "build_id"),
    "template_build": Case(lambda job_id=None, **kw: TemplateBuildCancelNotifier(job_id, **kw),
                           lambda emu: emu.create_template_build("ops-long"),
                           "POST /v1/templates/builds/{build_id}/cancel", "build_id"),
}


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


@pytest.fixture
def emu(jobs_emulator: Emulator) -> Emulator:
    long = Timeline(ready_secs=0, running_secs=100_000, abort_grace_secs=100)
    jobs_emulator.seed_actor("ops~long", run=long, build=long, default_timeout_secs=10**9)
    jobs_emulator.seed_template("ops-long", TemplateTimeline(waiting_secs=0, building_secs=100_000))
    return jobs_emulator


def task_context(xcom_key: str, job_id: str) -> dict[str, Any]:
    """A failure callback's context: the failing task instance pushed ``job_id`` under ``xcom_key``."""
    ti = MagicMock(task_id="t", map_index=-1)
    ti.xcom_pull.side_effect = lambda task_ids=None, key=None, map_indexes=None: {xcom_key: job_id}.get(key)
    return {"ti": ti, "run_id": "manual__1", "dag": None}


def notifier_records(caplog: pytest.LogCaptureFixture, notifier: JobAbortNotifier) -> list[logging.LogRecord]:
    """What the notifier logged under its own logger name (the name of ``notifier.log``)."""
    name = f"{type(notifier).__module__}.{type(notifier).__name__}"
    return [r for r in caplog.records if r.name == name]


def test_notify_aborts_once_and_logs_under_the_notifier(case: Case, emu: Emulator,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    job_id = case.create(emu)
    notifier = case.notifier()
    notifier.notify(task_context(case.xcom_key, job_id))
    assert len(emu.requests(route=case.abort_route)) == 1
    assert any(job_id in r.getMessage() for r in notifier_records(caplog, notifier))


async def test_async_notify_aborts_once_and_logs_under_the_notifier(case: Case, emu: Emulator,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    job_id = case.create(emu)
    notifier = case.notifier()
    await notifier.async_notify(task_context(case.xcom_key, job_id))
    assert len(emu.requests(route=case.abort_route)) == 1
    assert any(job_id in r.getMessage() for r in notifier_records(caplog, notifier))


async def test_async_notify_never_raises(case: Case, emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    notifier = case.notifier("NoSuchJob1", deadline=1.0)
    await notifier.async_notify({})
    await case.notifier().async_notify({})  # no id, no task instance: nothing to do, said so
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "404" in text and "nothing to" in text


@pytest.mark.skipif(not hasattr(BaseNotifier, "__await__"), reason="awaited notifiers: Airflow >= 3.1")
async def test_a_deadline_alert_awaits_the_notifier_with_its_context(case: Case, emu: Emulator) -> None:
    """What the triggerer's CallbackTrigger does: ``await Notifier(**kwargs, context=context)``."""
    job_id = case.create(emu)
    deadline_context = {"dag_run": {"dag_id": "etl", "run_id": "manual__1"}, "deadline": {"id": "d1"}}
    await case.notifier(job_id, context=deadline_context)
    assert len(emu.requests(route=case.abort_route)) == 1


async def test_the_triggerer_callback_runs_a_notifier_by_its_path(emu: Emulator) -> None:
    callback = pytest.importorskip("airflow.triggers.callback")  # Airflow >= 3.1
    build_id = emu.create_template_build("ops-long")
    trigger = callback.CallbackTrigger(
        callback_path=f"{TemplateBuildCancelNotifier.__module__}.{TemplateBuildCancelNotifier.__name__}",
        callback_kwargs={"build_id": build_id, "reason": "deadline missed", "context": {"dag_run": {}}},
    )
    events = [event.payload async for event in trigger.run()]
    assert events[-1][callback.PAYLOAD_STATUS_KEY] == "success", events
    cancels = emu.requests(route="POST /v1/templates/builds/{build_id}/cancel")
    assert len(cancels) == 1 and cancels[0].body == {"reason": "deadline missed"}
