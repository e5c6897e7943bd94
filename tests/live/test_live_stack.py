"""Paths only a real stack shows: a user marks a deferred (or running) task failed (an operator, and a
sensor, of each job kind), and Airflow's own defer timeout fires before the trigger's deadline. The emulator's journal
is the witness."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import pytest
from _chaos import KINDS, START_ROUTES, aborts, job_id, kind_of, reads_since, record, set_variable, wait_for

pytestmark = [pytest.mark.live, pytest.mark.timeout(600), pytest.mark.xdist_group("airflow_stack")]


def sensor_jobs(emu: Any, stack: Any, mode: str) -> dict[str, str]:
    """Never-ending jobs for the DAG's sensors, one per kind, their ids in Variables ``live_<mode>_<kind>``."""
    jobs = {"apify_run": emu.create_run("live~forever"), "apify_build": emu.create_build("live~forever"),
            "template_build": emu.create_template_build("live-forever")}
    for kind, job in jobs.items():
        set_variable(stack, f"live_{mode}_{kind}", job)
    return jobs


def test_mark_failed_while_deferred_aborts_from_the_trigger(emu: Any, live_stack: Any) -> None:
    dag_id = "live_mark_failed_deferred"
    sensors = sensor_jobs(emu, live_stack, "deferred")
    run_id = live_stack.trigger(dag_id)
    tasks = (*KINDS, *(f"sensor_{k}" for k in KINDS), "opt_out")
    for task_id in tasks:
        live_stack.wait_state(dag_id, run_id, task_id, {"deferred"})
    kinds = {t: "apify_run" if t == "opt_out" else kind_of(t) for t in tasks}
    jobs = {t: job_id(live_stack, dag_id, run_id, t, kind=kinds[t]) for t in (*KINDS, "opt_out")}
    jobs.update({f"sensor_{k}": job for k, job in sensors.items()})
    # Mark failed only once every trigger is polling: a trigger the triggerer has not picked up
    # yet never runs, so Airflow calls no on_kill at all (a gap of Airflow, see the README).
    # each job read twice: before deferring (the operator's or sensor's first check), then by its trigger
    wait_for(lambda: all(reads_since(emu, kinds[t], j, 0.0) >= 2 for t, j in jobs.items()), 60,
             "all seven triggers polling", emu)
    marked = {task_id: live_stack.mark_failed(dag_id, run_id, task_id) for task_id in tasks}
    for task_id in tasks[:-1]:
        kind = kinds[task_id]
        found = wait_for(partial(aborts, emu, kind, jobs[task_id]), 40, f"{task_id} abort", emu)
        latency = found[0].monotonic - marked[task_id]
        assert latency < 30
        if task_id.startswith("sensor"):
            record("sensor marked failed while deferred", kind, "local", "aborted by the trigger's on_kill", latency)
    time.sleep(5)  # the opt-out trigger got its on_kill too, and must not have aborted
    assert aborts(emu, "apify_run", jobs["opt_out"]) == []
    assert len(emu.requests(route=START_ROUTES["apify_run"])) == 2


def test_mark_failed_while_running_aborts_from_on_kill(emu: Any, live_stack: Any) -> None:
    dag_id = "live_mark_failed_running"
    jobs = {f"sensor_{k}": job for k, job in sensor_jobs(emu, live_stack, "poking").items()}
    run_id = live_stack.trigger(dag_id)
    tasks = (*KINDS, *jobs)
    for task_id in tasks:
        live_stack.wait_state(dag_id, run_id, task_id, {"running"})
    for kind in KINDS:
        jobs[kind] = job_id(live_stack, dag_id, run_id, kind)
    poked = time.monotonic()
    wait_for(lambda: all(reads_since(emu, kind_of(t), jobs[t], poked) for t in jobs if t.startswith("sensor")), 30,
             "the sensors poking", emu)
    marked = {task_id: live_stack.mark_failed(dag_id, run_id, task_id) for task_id in tasks}
    for task_id in tasks:
        kind = kind_of(task_id)
        found = wait_for(partial(aborts, emu, kind, jobs[task_id]), 40, f"{task_id} abort", emu)
        latency = found[0].monotonic - marked[task_id]
        # the supervisor notices at its next heartbeat (1 s here), then SIGTERM -> on_kill
        assert latency < 15, f"{task_id}: abort {latency:.1f} s after mark-failed"
        if task_id.startswith("sensor"):
            record("sensor marked failed while poking", kind, "local", "aborted by on_kill", latency)


def test_airflow_defer_timeout_first_aborts_on_resume(emu: Any, live_stack: Any) -> None:
    sensor_run = emu.create_run("live~forever")
    emu.add_apify_token(emu.apify_token)  # no-op; the variable below is read by the stack
    dag_id = "live_airflow_defer_timeout"
    set_variable(live_stack, "live_sensor_run", sensor_run)
    run_id = live_stack.trigger(dag_id)
    for task_id in ("operator", "sensor"):
        assert live_stack.wait_state(dag_id, run_id, task_id, {"failed"}, limit=180) == "failed"
    operator_runs = [r["id"] for r in emu.runs_of("live~forever") if r["id"] != sensor_run]
    assert len(operator_runs) == 1
    aborted = {e.path_params.get("runId") for e in emu.requests(route="POST /v2/actor-runs/{runId}/abort")}
    assert operator_runs[0] in aborted and sensor_run in aborted
