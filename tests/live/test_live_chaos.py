"""No job outlives its task (issue #14), on a real stack, for the three job kinds at once: one DAG
run has one task per kind (and executor), all hit by the same event. The emulator's journal is the
witness; each test records its rows of the chaos matrix (``_chaos.record``).

* SIGKILL of the task processes -> the watchdog aborts within 2 s (LocalExecutor and Celery);
  baseline ``abort_on_process_death=False`` (what Airflow alone does): never aborted;
* node loss (task process, watchdog, supervisor, and the whole Celery worker SIGKILLed) -> after the
  heartbeat timeout the scheduler fails the task and the DAG processor's failure callback aborts;
* a task that succeeds, fails on the job's own terminal state, defers, or returns without waiting
  -> no abort, no watchdog left;
* the triggerer SIGKILLed while tasks are deferred, a new one started -> the triggers resume,
  nothing is aborted, each task completes once;
* the scheduler SIGKILLed and restarted while tasks run -> nothing is aborted.
"""

from __future__ import annotations

import os
import signal
import time
from functools import partial
from typing import Any

import pytest
from _chaos import (
    ENDED_OK,
    HEARTBEAT_TIMEOUT,
    KINDS,
    RUNNING,
    START_ROUTES,
    aborts,
    all_aborts,
    gone,
    job_id,
    kind_of,
    reads_since,
    record,
    status,
    stray_watchdogs,
    wait_for,
    watchdogs_running,
)
from _stack import CELERY_WORKER, Stack, TaskProcesses, alive, descends_from, kill

pytestmark = [pytest.mark.live, pytest.mark.timeout(600), pytest.mark.xdist_group("airflow_stack")]

EXECUTORS = ("local", "celery")
DEATH_TASKS = [f"{k}_{x}{b}" for x in EXECUTORS for k in KINDS for b in ("", "_baseline")]
WATCH = 5.0
"""Seconds a baseline job is watched after the guarded ones were aborted."""


def start_all(stack: Stack, dag_id: str, tasks: list[str]) -> tuple[str, dict[str, TaskProcesses], dict[str, str]]:
    """Trigger ``dag_id``; wait until every task runs, its job exists and a guarded one has its watchdog."""
    run_id = stack.trigger(dag_id)
    jobs = {t: job_id(stack, dag_id, run_id, t, limit=180) for t in tasks}
    procs = {}
    for task in tasks:
        procs[task] = stack.task_processes(dag_id, run_id, task, limit=60)
        if not task.endswith("_baseline"):
            procs[task] = wait_for(partial(_armed, stack, dag_id, run_id, task), 30,
                                   f"{task}'s watchdog")
    for task, p in procs.items():  # a Celery task runs in the worker's process tree, not the scheduler's
        in_worker = descends_from(p.task, stack.procs[CELERY_WORKER].pid)
        assert in_worker == ("celery" in task) and in_worker != descends_from(p.task, stack.procs["scheduler"].pid)
    time.sleep(1.0)  # armed: the watchdogs have loaded the HTTP core (~0.2 s)
    return run_id, procs, jobs


def _armed(stack: Stack, dag_id: str, run_id: str, task: str) -> TaskProcesses | None:
    procs = stack.task_processes(dag_id, run_id, task)
    return procs if procs.watchdogs else None


def check_baseline(emu: Any, event: str, jobs: dict[str, str], killed: float) -> None:
    """The baseline jobs (``abort_on_process_death=False``) still run, never aborted; record them."""
    for task, job in jobs.items():
        if task.endswith("_baseline"):
            kind, watched = kind_of(task), time.monotonic() - killed
            assert status(emu, kind, job) == RUNNING[kind] and aborts(emu, kind, job) == [], \
                f"baseline changed: {task} should leave its job alone"
            record(event, kind, task.split("_")[-2], f"not aborted within {watched:.0f} s", None,
                   baseline=True, watched_s=round(watched, 1))


@pytest.mark.celery
def test_sigkill_of_the_task_process_aborts_within_2_s_but_not_in_the_baseline(emu: Any, live_stack: Stack) -> None:
    dag_id = "chaos_sigkill"
    run_id, procs, jobs = start_all(live_stack, dag_id, DEATH_TASKS)
    killed = kill(*(p.task for p in procs.values()))
    guarded = [t for t in DEATH_TASKS if not t.endswith("_baseline")]
    wait_for(lambda: all(aborts(emu, kind_of(t), jobs[t]) for t in guarded), 15, "every guarded job's abort", emu,
             poll=0.02)
    for task in guarded:
        kind = kind_of(task)
        latency = aborts(emu, kind, jobs[task])[0].monotonic - killed
        record("task process SIGKILL", kind, task.split("_")[-1], "aborted by the watchdog", latency)
        assert latency < 2.0, f"{task}: abort {latency:.2f} s after the SIGKILL"
    for task in DEATH_TASKS:
        assert live_stack.wait_state(dag_id, run_id, task, {"failed", "success"}, limit=60) == "failed"
    assert all(alive(p.supervisor) for p in procs.values()), "only the task processes were killed"
    assert gone([w for p in procs.values() for w in p.watchdogs], 5), "a watchdog did not exit after its abort"
    time.sleep(max(0.0, WATCH - (time.monotonic() - killed)))
    check_baseline(emu, "task process SIGKILL", jobs, killed)


@pytest.mark.celery
def test_node_loss_aborts_after_the_heartbeat_timeout_but_not_in_the_baseline(emu: Any, live_stack: Stack) -> None:
    dag_id = "chaos_node_loss"
    run_id, procs, jobs = start_all(live_stack, dag_id, DEATH_TASKS)
    # Everything a lost node takes with it: task runners, watchdogs, supervisors, the Celery worker
    # (else it reports its lost pool processes at once and no heartbeat timeout is needed).
    killed = kill(*(pid for p in procs.values() for pid in (p.task, *p.watchdogs, p.supervisor)))
    live_stack.stop_component(CELERY_WORKER, signal.SIGKILL)
    try:
        guarded = [t for t in DEATH_TASKS if not t.endswith("_baseline")]
        wait_for(lambda: all(aborts(emu, kind_of(t), jobs[t]) for t in guarded), HEARTBEAT_TIMEOUT + 60,
                 "every guarded job's abort (the DAG processor's failure callback)", emu,
                 details=lambda: f"tasks: { {t: live_stack.state(dag_id, run_id, t) for t in DEATH_TASKS} }\n"
                                 f"aborted: { {t: bool(aborts(emu, kind_of(t), jobs[t])) for t in guarded} }\n"
                                 + live_stack.logs())
        for task in guarded:
            kind = kind_of(task)
            latency = aborts(emu, kind, jobs[task])[0].monotonic - killed
            record(f"node loss ({HEARTBEAT_TIMEOUT} s heartbeat timeout)", kind, task.split("_")[-1],
                   "aborted by the failure callback", latency, heartbeat_timeout_s=HEARTBEAT_TIMEOUT)
            assert HEARTBEAT_TIMEOUT - 2 < latency < HEARTBEAT_TIMEOUT + 45, f"{task}: abort {latency:.1f} s after"
        for task in DEATH_TASKS:
            assert live_stack.wait_state(dag_id, run_id, task, {"failed", "success"}, limit=60) == "failed"
        time.sleep(WATCH)
        check_baseline(emu, f"node loss ({HEARTBEAT_TIMEOUT} s heartbeat timeout)", jobs, killed)
    finally:
        live_stack.start_component(CELERY_WORKER)


def test_tasks_that_succeed_fail_defer_or_do_not_wait_abort_nothing_and_leave_no_watchdog(
    emu: Any, live_stack: Stack
) -> None:
    dag_id = "chaos_no_abort"
    expected = {"succeeds": "success", "fails": "failed", "defers": "success", "nowait": "success"}
    tasks = {f"{case}_{kind}": state for case, state in expected.items() for kind in KINDS}
    before = watchdogs_running()
    run_id = live_stack.trigger(dag_id)
    seen: dict[str, set[str]] = {t: set() for t in tasks}
    final: dict[str, str] = {}
    deadline = time.monotonic() + 180
    while len(final) < len(tasks) and time.monotonic() < deadline:
        for task in set(tasks) - set(final):
            state = live_stack.state(dag_id, run_id, task)
            seen[task].add(str(state))
            if state in ("success", "failed", "upstream_failed"):
                final[task] = state
        time.sleep(0.3)
    assert final == tasks, f"{final}\n{live_stack.logs()}"
    assert all("deferred" in seen[f"defers_{k}"] for k in KINDS), seen
    jobs = {t: job_id(live_stack, dag_id, run_id, t) for t in tasks}
    assert wait_for(lambda: not stray_watchdogs(before), 5, "the watchdogs to exit") and not stray_watchdogs(before)
    time.sleep(1.0)
    assert all_aborts(emu) == [], "a task that ended normally aborted a job"
    for task, job in jobs.items():
        kind = kind_of(task)
        assert len(emu.requests(route=START_ROUTES[kind])) == 4  # one job per case, no restart
        if task.startswith("nowait"):
            assert status(emu, kind, job) == RUNNING[kind]
        case = {"succeeds": "task succeeds", "fails": "job ends failed, task fails", "defers": "task defers",
                "nowait": "wait_for_termination=False"}[task.split("_")[0]]
        record(case, kind, "local", "no abort, no watchdog left")
    # The watchdogs hold none of the tasks' log sockets, which the supervisors wait on after the exit.
    stuck = [p.name for p in live_stack.home.rglob("*.log") if "stuck sockets" in p.read_text(errors="replace")]
    assert stuck == []


def test_a_sigkilled_triggerer_replaced_resumes_the_triggers_aborts_nothing_and_each_task_completes_once(
    emu: Any, live_stack: Stack
) -> None:
    dag_id = "chaos_triggerer"
    run_id = live_stack.trigger(dag_id)
    for kind in KINDS:
        live_stack.wait_state(dag_id, run_id, kind, {"deferred"}, limit=180)
    jobs = {kind: job_id(live_stack, dag_id, run_id, kind) for kind in KINDS}
    started = time.monotonic()
    wait_for(lambda: all(reads_since(emu, k, j, started) for k, j in jobs.items()), 60, "the triggers polling", emu)
    live_stack.stop_component("triggerer", signal.SIGKILL)  # the whole triggerer, trigger runner included
    killed = time.monotonic()
    live_stack.start_component("triggerer")
    wait_for(lambda: all(reads_since(emu, k, j, killed) for k, j in jobs.items()), 90,
             "the new triggerer polling every job", emu)
    resumed = time.monotonic() - killed
    for kind in KINDS:
        assert live_stack.wait_state(dag_id, run_id, kind, {"success", "failed"}, limit=120) == "success"
        assert live_stack.task_instance(dag_id, run_id, kind)["try_number"] == 1
        assert status(emu, kind, jobs[kind]) == ENDED_OK[kind]
        assert len(emu.requests(route=START_ROUTES[kind])) == 1
        record("triggerer SIGKILL while deferred", kind, "local", "trigger resumed, completed once, no abort",
               None, resumed_s=round(resumed, 1))
    assert all_aborts(emu) == []


@pytest.mark.celery
def test_a_scheduler_restarted_while_tasks_run_aborts_nothing(emu: Any, live_stack: Stack) -> None:
    dag_id = "chaos_scheduler"
    tasks = [f"{k}_{x}" for x in EXECUTORS for k in KINDS]
    run_id = live_stack.trigger(dag_id)
    jobs = {t: job_id(live_stack, dag_id, run_id, t, limit=180) for t in tasks}
    for task in tasks:
        live_stack.task_processes(dag_id, run_id, task)
    old = live_stack.procs["scheduler"].pid
    # SIGKILL of the scheduler alone (a crash): its LocalExecutor workers, orphaned, go on supervising.
    live_stack.restart_component("scheduler", signal.SIGKILL, whole_group=False)
    try:
        for task in tasks:
            assert live_stack.wait_state(dag_id, run_id, task, {"success", "failed"}, limit=120) == "success"
            assert live_stack.task_instance(dag_id, run_id, task)["try_number"] == 1
            kind = kind_of(task)
            assert status(emu, kind, jobs[task]) == ENDED_OK[kind]
            record("scheduler SIGKILL + restart while running", kind, task.split("_")[-1], "completed, no abort")
        assert all_aborts(emu) == []
    finally:
        try:  # the orphaned LocalExecutor workers of the killed scheduler
            os.killpg(old, signal.SIGKILL)
        except ProcessLookupError:
            pass
