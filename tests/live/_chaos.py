"""Helpers of the live chaos tests: the job a task started, its aborts in the emulator journal, the
provider's watchdog processes, and the rows of the chaos matrix.

``LIVE_CHAOS_RESULTS=<file>`` makes :func:`record` append one JSON line per (event, job kind,
executor) to that file: ``tests/reliability/report.py`` (RELIABILITY.md) and ``benchmarks/run.sh``
(benchmarks/RESULTS.md) render them. All live tests run on one xdist worker (``xdist_group``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from _seed import ABORT_ROUTES, JOB_KEYS, KINDS
from _stack import WATCHDOG_MODULE, Stack, alive, cmdline, descends_from

RESULTS_ENV = "LIVE_CHAOS_RESULTS"
HEARTBEAT_TIMEOUT = 10
"""Seconds without a heartbeat after which the live stack's scheduler fails a task (default 300).
Supervisors heartbeat every second there; much less and a loaded 2-core CI machine fails healthy tasks."""
START_ROUTES = {
    "apify_run": "POST /v2/actors/{actorId}/runs",
    "apify_build": "POST /v2/actors/{actorId}/builds",
    "template_build": "POST /v1/templates/builds",
}
GET_PATHS = {"apify_run": "/v2/actor-runs/", "apify_build": "/v2/actor-builds/",
             "template_build": "/v1/templates/builds/"}
ID_PARAMS = {"apify_run": "runId", "apify_build": "buildId", "template_build": "build_id"}
RUNNING = {"apify_run": "RUNNING", "apify_build": "RUNNING", "template_build": "building"}
ENDED_OK = {"apify_run": "SUCCEEDED", "apify_build": "SUCCEEDED", "template_build": "ready"}


def record(event: str, kind: str, executor: str, result: str, latency: float | None = None, **extra: Any) -> None:
    """Append one row of the chaos matrix to ``$LIVE_CHAOS_RESULTS`` (if set), and print it."""
    row = {"event": event, "kind": kind, "executor": executor, "result": result,
           "latency_s": None if latency is None else round(latency, 3), **extra}
    print(f"\n[chaos] {json.dumps(row)}")
    target = os.environ.get(RESULTS_ENV)
    if target:
        with open(target, "a") as out:
            out.write(json.dumps(row) + "\n")


def wait_for(predicate: Callable[[], Any], limit: float, what: str, emu: Any = None, poll: float = 0.2,
             details: Callable[[], str] | None = None) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with the journal (and ``details()``,
    e.g. task states and the stack's logs) after ``limit`` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    journal = "" if emu is None else "\n".join(f"{e.method} {e.path} -> {e.status}" for e in emu.journal[-60:])
    extra = "" if details is None else "\n" + details()
    raise AssertionError(f"timed out after {limit} s waiting for {what}\njournal (tail):\n{journal}{extra}")


def kind_of(task_id: str) -> str:
    """The job kind a chaos task id names (``apify_run_local``, ``fails_template_build``, ...)."""
    return next(k for k in KINDS if k in task_id)


def job_id(stack: Stack, dag_id: str, run_id: str, task_id: str, limit: float = 90, kind: str | None = None) -> str:
    """The job id the task pushed to XCom (waits for it), read through the REST API.

    :param kind: the job kind (default: the one ``task_id`` names)
    """
    key = JOB_KEYS[kind or kind_of(task_id)]
    url = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"

    def read() -> str | None:
        r = stack.http.get(url)
        if r.status_code != 200:
            return None
        value = r.json().get("value")
        return json.loads(value) if isinstance(value, str) and value.startswith('"') else value

    return str(wait_for(read, limit, f"{dag_id}.{task_id} to push its job id"))


def set_variable(stack: Stack, key: str, value: str) -> None:
    """Create an Airflow Variable through the REST API."""
    r = stack.http.post("/variables", json={"key": key, "value": value})
    assert r.status_code in (200, 201), r.text[:300]


def aborts(emu: Any, kind: str, job: str) -> list[Any]:
    """The abort/cancel requests the emulator received for ``job``."""
    return [e for e in emu.requests(route=ABORT_ROUTES[kind]) if e.path_params.get(ID_PARAMS[kind]) == job]


def all_aborts(emu: Any) -> list[Any]:
    """Every abort/cancel request of any kind."""
    return [e for route in ABORT_ROUTES.values() for e in emu.requests(route=route)]


def reads_since(emu: Any, kind: str, job: str, since: float) -> int:
    """Status reads of ``job`` that arrived after ``since`` (``time.monotonic()``)."""
    return sum(1 for e in emu.requests("GET") if e.path.startswith(GET_PATHS[kind] + job) and e.monotonic > since)


def status(emu: Any, kind: str, job: str) -> str:
    """The job's status in the emulator."""
    if kind == "apify_run":
        return str(emu.get_run(job)["status"])
    if kind == "apify_build":
        return str(emu.get_build(job)["status"])
    return str(emu.get_template_build(job)["build"]["status"])


def watchdogs_running() -> set[int]:
    """Live watchdog processes of this checkout's Python (other checkouts on the machine excluded)."""
    fragment = f"{sys.executable} -m {WATCHDOG_MODULE}"
    return {int(e) for e in os.listdir("/proc") if e.isdigit() and cmdline(int(e)).startswith(fragment)
            and alive(int(e))}


def stray_watchdogs(before: Iterable[int]) -> set[int]:
    """Watchdogs started since ``before`` was taken that are still alive: this worker's (the stack's
    tasks descend from it) and orphans (re-parented away from pytest); not the other xdist worker's."""
    return {p for p in watchdogs_running() - set(before)
            if descends_from(p, os.getpid()) or not descends_from(p, os.getppid())}


def gone(pids: Iterable[int], limit: float) -> bool:
    """Whether all ``pids`` have exited within ``limit`` s."""
    pids = tuple(pids)
    deadline = time.monotonic() + limit
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(alive(p) for p in pids)
