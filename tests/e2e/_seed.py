"""Emulator seeding shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any

from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline

FOREVER = 10_000_000.0  # emulated seconds: never ends during a test

ABORT_ROUTES = {
    "apify_run": "POST /v2/actor-runs/{runId}/abort",
    "apify_build": "POST /v2/actor-builds/{buildId}/abort",
    "template_build": "POST /v1/templates/builds/{build_id}/cancel",
}
JOB_KEYS = {"apify_run": "run_id", "apify_build": "build_id", "template_build": "build_id"}
KINDS = tuple(ABORT_ROUTES)


def seed(emu: Emulator) -> None:
    """Actors and templates the e2e DAGs use (time scale 0.01: 100 emulated s = 1 real s)."""
    quick = Timeline(ready_secs=20, running_secs=80)
    forever = Timeline(ready_secs=10, running_secs=FOREVER, abort_grace_secs=300)
    fails = Timeline(ready_secs=10, running_secs=40, outcome="FAILED", exit_code=3,
                     status_message="Error: the crawler crashed")
    slowish = Timeline(ready_secs=10, running_secs=600)
    for name, timeline in (("quick", quick), ("forever", forever), ("keep", forever), ("fails", fails),
                           ("slowish", slowish)):
        emu.seed_actor(f"e2e~{name}", run=timeline, build=timeline, default_timeout_secs=10**9)
    emu.seed_template("e2e-quick", TemplateTimeline(waiting_secs=20, building_secs=80))
    emu.seed_template("e2e-forever", TemplateTimeline(waiting_secs=10, building_secs=FOREVER, cancel_delay_secs=50))
    emu.seed_template("e2e-fails", TemplateTimeline(waiting_secs=10, building_secs=40, outcome="error",
                                                    error_message="step 2 exited with status 2"))


def job_id(result: Any, task_id: str, kind: str) -> str:
    value = result.xcom(task_id, JOB_KEYS[kind])
    assert value, f"{task_id} pushed no {JOB_KEYS[kind]}: {result.tasks.get(task_id)}"
    return value


def aborts_of(emu: Emulator, kind: str, job: str) -> list[Any]:
    route = ABORT_ROUTES[kind]
    return [e for e in emu.requests(route=route) if job in e.path]


def status_of(emu: Emulator, kind: str, job: str) -> str:
    if kind == "apify_run":
        return emu.get_run(job)["status"]
    if kind == "apify_build":
        return emu.get_build(job)["status"]
    return emu.get_template_build(job)["build"]["status"]
