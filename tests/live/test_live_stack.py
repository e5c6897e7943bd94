"""Paths only a real stack shows: a user marks a deferred (or running) task failed, and Airflow's
own defer timeout fires before the trigger's deadline. The emulator's journal is the witness."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline

pytestmark = [pytest.mark.live, pytest.mark.timeout(600), pytest.mark.xdist_group("airflow_stack")]

FOREVER = 10_000_000.0
KINDS = ("apify_run", "apify_build", "template_build")
ABORT_ROUTES = {
    "apify_run": "POST /v2/actor-runs/{runId}/abort",
    "apify_build": "POST /v2/actor-builds/{buildId}/abort",
    "template_build": "POST /v1/templates/builds/{build_id}/cancel",
}


@pytest.fixture
def emu(jobs_emulator: Any) -> Any:
    forever = Timeline(ready_secs=10, running_secs=FOREVER)
    jobs_emulator.seed_actor("live~forever", run=forever, build=forever, default_timeout_secs=10**9)
    jobs_emulator.seed_template("live-forever", TemplateTimeline(waiting_secs=10, building_secs=FOREVER))
    return jobs_emulator


START_ROUTES = {
    "apify_run": "POST /v2/actors/{actorId}/runs",
    "apify_build": "POST /v2/actors/{actorId}/builds",
    "template_build": "POST /v1/templates/builds",
}


def job_count(emu: Any, kind: str) -> int:
    """Jobs the DAG started (seeding may create jobs of its own, e.g. an actor's first build)."""
    return len(emu.requests(route=START_ROUTES[kind]))


def triggers_polling(emu: Any, expected: int) -> bool:
    """Each started job has been read twice: once by the operator before deferring, then by its trigger."""
    if sum(len(emu.requests(route=route)) for route in START_ROUTES.values()) < expected:
        return False
    gets = [e.path for e in emu.requests("GET")]
    jobs = {p.rsplit("/", 1)[-1] for p in gets}
    return len(jobs) >= expected and all(sum(p.endswith("/" + j) for p in gets) >= 2 for j in jobs)


def wait_for(predicate: Any, limit: float = 60, what: str = "", emu: Any = None) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    journal = "" if emu is None else "\n".join(f"{e.method} {e.path} {e.raw_query} -> {e.status}" for e in emu.journal)
    raise AssertionError(f"timed out waiting for {what}\njournal:\n{journal}")


def test_mark_failed_while_deferred_aborts_from_the_trigger(emu: Any, live_stack: Any) -> None:
    dag_id = "live_mark_failed_deferred"
    run_id = live_stack.trigger(dag_id)
    tasks = (*KINDS, "opt_out")
    for task_id in tasks:
        live_stack.wait_state(dag_id, run_id, task_id, {"deferred"})
    # Mark failed only once every trigger is polling: a trigger the triggerer has not picked up
    # yet never runs, so Airflow calls no on_kill at all (a gap of Airflow, see the README).
    wait_for(lambda: triggers_polling(emu, 4), 60, "all four triggers polling", emu)
    marked = {task_id: live_stack.mark_failed(dag_id, run_id, task_id) for task_id in tasks}
    for kind in KINDS:
        wait_for(lambda kind=kind: emu.requests(route=ABORT_ROUTES[kind]), 40, f"{kind} abort", emu)
        abort = emu.requests(route=ABORT_ROUTES[kind])[0]
        assert abort.monotonic - marked[kind] < 30
    time.sleep(5)  # the opt-out trigger got its on_kill too, and must not have aborted
    assert len(emu.requests(route=ABORT_ROUTES["apify_run"])) == 1
    assert job_count(emu, "apify_run") == 2


def test_mark_failed_while_running_aborts_from_on_kill(emu: Any, live_stack: Any) -> None:
    dag_id = "live_mark_failed_running"
    run_id = live_stack.trigger(dag_id)
    for kind in KINDS:
        live_stack.wait_state(dag_id, run_id, kind, {"running"})
        wait_for(lambda kind=kind: job_count(emu, kind) == 1, 60, f"{kind} start", emu)
    time.sleep(1)
    marked = {kind: live_stack.mark_failed(dag_id, run_id, kind) for kind in KINDS}
    for kind in KINDS:
        wait_for(lambda kind=kind: emu.requests(route=ABORT_ROUTES[kind]), 40, f"{kind} abort", emu)
        latency = emu.requests(route=ABORT_ROUTES[kind])[0].monotonic - marked[kind]
        # the supervisor notices at its next heartbeat (2 s here), then SIGTERM -> on_kill
        assert latency < 15, f"{kind}: abort {latency:.1f} s after mark-failed"


def test_airflow_defer_timeout_first_aborts_on_resume(emu: Any, live_stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sensor_run = emu.create_run("live~forever")
    emu.add_apify_token(emu.apify_token)  # no-op; the variable below is read by the stack
    dag_id = "live_airflow_defer_timeout"
    live_stack.http.post("/variables", json={"key": "live_sensor_run", "value": sensor_run})
    run_id = live_stack.trigger(dag_id)
    for task_id in ("operator", "sensor"):
        assert live_stack.wait_state(dag_id, run_id, task_id, {"failed"}, limit=180) == "failed"
    operator_runs = [r["id"] for r in emu.runs_of("live~forever") if r["id"] != sensor_run]
    assert len(operator_runs) == 1
    aborted = {e.path_params.get("runId") for e in emu.requests(route=ABORT_ROUTES["apify_run"])}
    assert operator_runs[0] in aborted and sensor_run in aborted
