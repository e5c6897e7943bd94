"""What happens to a job when its task process is SIGKILLed, on a real stack, under LocalExecutor
and under CeleryExecutor (a real Redis broker, ``airflow celery worker`` as its own process tree).

The baseline (``abort_on_process_death=False``: what Airflow alone does) is measured in the same
run: the supervisor marks the task failed within a second or two, nothing runs ``on_kill`` or a
failure callback, and the Apify run stays RUNNING (``reference/airflow3/NOTES.md`` Q12). With the
operator's defaults, its watchdog (``lifecycle/guard.py``) aborts the run within 2 s instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _stack import (
    Stack,
    TaskProcesses,
    airflow_stack,
    alive,
    cmdline,
    descends_from,
    heartbeat_timeout_env,
    kill,
)

from airflow_provider_jobs.emulator.timelines import Timeline

pytestmark = [pytest.mark.live, pytest.mark.timeout(600), pytest.mark.xdist_group("airflow_stack")]

ACTOR = "death~forever"
SHORT_ACTOR = "death~short"
"""Runs for 400 emulated seconds: 4 s at the session emulator's time scale (0.01)."""
EXECUTORS = ["local", pytest.param("celery", marks=pytest.mark.celery)]
START_ROUTE = "POST /v2/actors/{actorId}/runs"
ABORT_ROUTE = "POST /v2/actor-runs/{runId}/abort"
WATCH = 5.0
"""Seconds the run is watched after the task failed: a watchdog would have aborted it within 2."""


@pytest.fixture(scope="session")
def death_stack(jobs_emulator_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack with both executors (no triggerer: nothing here defers), a 20 s heartbeat timeout.

    Session-scoped: xdist may interleave this module's tests with the other live tests on the worker."""
    home = tmp_path_factory.mktemp("death-airflow-home")
    dags = Path(__file__).resolve().parent / "dags_worker_death"
    with airflow_stack(jobs_emulator_server.emulator, home, dags, ("api-server", "scheduler", "dag-processor"),
                       heartbeat_timeout_env(20), celery=True) as stack:
        yield stack


@pytest.fixture
def emu(jobs_emulator: Any) -> Any:
    jobs_emulator.seed_actor(ACTOR, run=Timeline(ready_secs=0, running_secs=10_000_000.0), default_timeout_secs=10**9)
    jobs_emulator.seed_actor(SHORT_ACTOR, run=Timeline(ready_secs=0, running_secs=400), default_timeout_secs=10**9)
    return jobs_emulator


def running_task(stack: Stack, emu: Any, dag_id: str) -> tuple[str, TaskProcesses, str]:
    """Trigger ``dag_id``; return its dag run id, its task's processes and the Apify run it started."""
    run_id = stack.trigger(dag_id)
    procs = stack.task_processes(dag_id, run_id, "run", limit=120)
    deadline = time.monotonic() + 60
    while not emu.requests(route=START_ROUTE) and time.monotonic() < deadline:
        time.sleep(0.2)
    runs = emu.runs_of(ACTOR) + emu.runs_of(SHORT_ACTOR)
    assert len(runs) == 1, f"expected one run, got {runs}\n{stack.logs()}"
    return run_id, procs, str(runs[0]["id"])


@pytest.mark.parametrize("executor", EXECUTORS)
def test_baseline_a_sigkilled_task_process_leaves_its_run_running(
    emu: Any, death_stack: Stack, executor: str, record_property: Any
) -> None:
    dag_id = f"worker_death_{executor}"
    run_id, procs, apify_run = running_task(death_stack, emu, dag_id)
    scheduler = death_stack.procs["scheduler"].pid
    print(f"\n[{executor}] task runner {procs.task} {cmdline(procs.task)[:80]!r}, supervisor {procs.supervisor} "
          f"{cmdline(procs.supervisor)[:80]!r}")
    if executor == "celery":  # the task runs in the Celery worker's process tree, not the scheduler's
        assert descends_from(procs.task, death_stack.procs["celery-worker"].pid)
        assert not descends_from(procs.task, scheduler)
    else:
        assert descends_from(procs.task, scheduler)
    time.sleep(1.0)  # the operator is waiting on the run
    killed = kill(procs.task)
    death_stack.wait_state(dag_id, run_id, "run", {"failed"}, limit=60)
    failed_after = time.monotonic() - killed
    time.sleep(WATCH)
    status = emu.get_run(apify_run)["status"]
    aborts = emu.requests(route=ABORT_ROUTE)
    record_property("task_failed_after_s", round(failed_after, 2))
    record_property("run_status_after_watch", status)
    print(f"\n[{executor}] task failed {failed_after:.1f} s after SIGKILL; run {apify_run} {status} "
          f"{time.monotonic() - killed:.1f} s after it, {len(aborts)} aborts")
    assert alive(procs.supervisor), "only the task process was killed"
    assert status == "RUNNING" and aborts == [], "baseline changed: abort_on_process_death=False should leave the run alone"


@pytest.mark.parametrize("executor", EXECUTORS)
def test_with_a_watchdog_a_sigkilled_task_process_gets_its_run_aborted_within_2_s(
    emu: Any, death_stack: Stack, executor: str, record_property: Any
) -> None:
    dag_id = f"watchdog_{executor}"
    run_id, procs, apify_run = running_task(death_stack, emu, dag_id)
    watchdogs = _watchdogs_of(death_stack, dag_id, run_id)
    time.sleep(1.0)  # armed: the HTTP core is loaded (~0.2 s)
    killed = kill(procs.task)
    deadline = killed + 10
    while not emu.requests(route=ABORT_ROUTE) and time.monotonic() < deadline:
        time.sleep(0.02)
    aborts = emu.requests(route=ABORT_ROUTE)
    assert aborts, f"no abort after the SIGKILL\n{death_stack.logs()}"
    latency = aborts[0].monotonic - killed
    record_property("death_to_abort_s", round(latency, 3))
    print(f"\n[{executor}] SIGKILL -> abort of {apify_run}: {latency * 1000:.0f} ms")
    assert aborts[0].path_params.get("runId") == apify_run and latency < 2.0
    death_stack.wait_state(dag_id, run_id, "run", {"failed"}, limit=60)
    assert _gone(watchdogs, 5), "the watchdog did not exit after its abort"


@pytest.mark.parametrize("executor", EXECUTORS)
def test_with_a_watchdog_a_task_that_succeeds_aborts_nothing_and_leaves_no_process(
    emu: Any, death_stack: Stack, executor: str
) -> None:
    dag_id = f"watchdog_ok_{executor}"
    run_id, procs, _ = running_task(death_stack, emu, dag_id)
    watchdogs = _watchdogs_of(death_stack, dag_id, run_id)
    assert death_stack.wait_state(dag_id, run_id, "run", {"success", "failed"}, limit=60) == "success"
    assert _gone(watchdogs, 5), "the watchdog outlived its released task"
    assert not alive(procs.task)
    time.sleep(1.0)
    assert emu.requests(route=ABORT_ROUTE) == []
    # The watchdog holds none of the task's log sockets, which the supervisor waits on after the exit.
    stuck = [p.name for p in death_stack.home.rglob("*.log") if "stuck sockets" in p.read_text(errors="replace")]
    assert stuck == []


def _watchdogs_of(stack: Stack, dag_id: str, run_id: str) -> tuple[int, ...]:
    """The watchdog the running task started (it starts right after the run exists)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        procs = stack.task_processes(dag_id, run_id, "run")
        if procs.watchdogs:
            return procs.watchdogs
        time.sleep(0.1)
    raise AssertionError(f"{dag_id}: the task started no watchdog\n{stack.logs()}")


def _gone(pids: tuple[int, ...], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(alive(p) for p in pids)
