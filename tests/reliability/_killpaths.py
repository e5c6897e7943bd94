"""The kill-path matrix: every path that must abort a job, re-run while the abort route misbehaves.

Paths: ``on_kill`` of a waiting operator (the 4 s ``KILL_ABORT_DEADLINE`` abort), ``trigger.on_kill``,
the trigger's own deadline, the failure notifier and the sensor timeout (4 s deadline too). Each
runs against the emulator for the three job kinds while the first abort attempts get a 429 with
``Retry-After``, 503s, connection resets, or all three in a row. A cell passes when the abort (or
cancel) reached the emulator and was processed within the path's deadline, and the job is no
longer running.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from _kinds import fake_context
from _rel import FOREVER, FULL
from airflow.sdk.exceptions import AirflowException, AirflowSensorTimeout

from airflow_provider_jobs import _http
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline
from airflow_provider_jobs.exceptions import JobFailedError
from airflow_provider_jobs.lifecycle import CALLBACK_ABORT_DEADLINE, KILL_ABORT_DEADLINE
from airflow_provider_jobs.notifications.apify import ApifyAbortBuildNotifier, ApifyAbortRunNotifier
from airflow_provider_jobs.notifications.template_builds import TemplateBuildCancelNotifier
from airflow_provider_jobs.operators.apify import ApifyBuildActorOperator, ApifyRunActorOperator
from airflow_provider_jobs.operators.template_builds import TemplateBuildOperator
from airflow_provider_jobs.sensors.apify import ApifyBuildSensor, ApifyRunSensor
from airflow_provider_jobs.sensors.template_builds import TemplateBuildSensor
from airflow_provider_jobs.triggers.apify import ApifyBuildTrigger, ApifyRunTrigger
from airflow_provider_jobs.triggers.template_builds import TemplateBuildTrigger

ACTOR = "rel~kill"
TEMPLATE = "rel-kill"
KINDS = ("apify_run", "apify_build", "template_build")
ABORT_ROUTES = {
    "apify_run": "POST /v2/actor-runs/{runId}/abort",
    "apify_build": "POST /v2/actor-builds/{buildId}/abort",
    "template_build": "POST /v1/templates/builds/{build_id}/cancel",
}
GET_ROUTES = {
    "apify_run": "GET /v2/actor-runs/{runId}",
    "apify_build": "GET /v2/actor-builds/{buildId}",
    "template_build": "GET /v1/templates/builds/{build_id}",
}
PATHS = ("on_kill", "trigger on_kill", "trigger deadline", "notifier", "sensor timeout")
DEADLINES = {"on_kill": KILL_ABORT_DEADLINE, "sensor timeout": KILL_ABORT_DEADLINE,
             "trigger on_kill": CALLBACK_ABORT_DEADLINE, "trigger deadline": CALLBACK_ABORT_DEADLINE,
             "notifier": CALLBACK_ABORT_DEADLINE}


def _retry_after(path: str) -> float:
    # The 4 s kill paths always get a real 1 s Retry-After; the 30 s callback paths get 0.2 s in
    # the fast run (1 s with RELIABILITY_FULL=1), since 1 s proves nothing more against 30 s.
    return 1.0 if FULL or DEADLINES[path] == KILL_ABORT_DEADLINE else 0.2


FAULTS: dict[str, Callable[[str], list[dict[str, Any]]]] = {
    "429 Retry-After x2": lambda path: [{"status": 429, "retry_after": _retry_after(path), "times": 2}],
    "503 x2": lambda path: [{"status": 503, "times": 2}],
    "reset x2": lambda path: [{"kind": "drop_before", "times": 2}],
    "429 + 503 + reset": lambda path: [{"status": 429, "retry_after": _retry_after(path), "times": 1},
                                       {"status": 503, "times": 1}, {"kind": "drop_before", "times": 1}],
}


def seed(emu: Any) -> None:
    forever = Timeline(ready_secs=0, running_secs=FOREVER, abort_grace_secs=FOREVER)
    emu.seed_actor(ACTOR, run=forever, build=forever, default_timeout_secs=10**9)
    emu.seed_template(TEMPLATE, TemplateTimeline(waiting_secs=0, building_secs=FOREVER, cancel_delay_secs=FOREVER))


@dataclass
class KillResult:
    """What one cell observed."""

    path: str
    kind: str
    fault: str
    attempts: int = 0
    latency: float | None = None
    """Seconds from the kill (on_kill call, deadline, notify call, sensor timeout) to the delivered abort."""
    status: str | None = None
    failure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "fault": self.fault, "attempts": self.attempts,
                "latency": None if self.latency is None else round(self.latency, 3), "status": self.status,
                "failure": self.failure}


def _create(emu: Any, kind: str) -> str:
    if kind == "apify_run":
        return str(emu.create_run(ACTOR, status="RUNNING"))
    if kind == "apify_build":
        return str(emu.create_build(ACTOR, version="0.1", status="RUNNING"))
    return str(emu.create_template_build(TEMPLATE, status="building"))


def _status(emu: Any, kind: str, job_id: str) -> str:
    if kind == "apify_run":
        return str(emu.get_run(job_id)["status"])
    if kind == "apify_build":
        return str(emu.get_build(job_id)["status"])
    build = emu.get_template_build(job_id)["build"]
    return "cancel requested" if build.get("cancel_requested_at") and build["status"] != "cancelled" \
        else str(build["status"])


def _arm(emu: Any, kind: str, job_id: str, fault: str, path: str) -> list[str]:
    method, route = ABORT_ROUTES[kind].split(" ", 1)
    return [emu.add_fault(method=method, route=route, path_regex=f"/{job_id}/", **fields).id
            for fields in FAULTS[fault](path)]


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the job to be watched")
        time.sleep(0.01)


def _gets(emu: Any, kind: str, job_id: str) -> int:
    method, route = GET_ROUTES[kind].split(" ", 1)
    return len([e for e in emu.requests(method=method, route=route) if f"/{job_id}" in e.path])


# ---------------------------------------------------------------------------- the paths
def _operator(kind: str) -> Any:
    if kind == "apify_run":
        return ApifyRunActorOperator(task_id="t", actor_id=ACTOR, poll_interval=0.05)
    if kind == "apify_build":
        return ApifyBuildActorOperator(task_id="t", actor_id=ACTOR, version="0.1", poll_interval=0.05)
    return TemplateBuildOperator(task_id="t", build_request={"name": TEMPLATE}, poll_interval=0.05)


def _on_kill(emu: Any, kind: str, fault: str) -> tuple[str, float]:
    op, ctx = _operator(kind), fake_context()
    outcome: dict[str, BaseException] = {}

    def execute() -> None:
        try:
            op.execute(ctx)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome["error"] = exc

    worker = threading.Thread(target=execute, daemon=True)
    worker.start()
    key = "run_id" if kind == "apify_run" else "build_id"
    _wait_for(lambda: bool(ctx["pushed"].get(key)) and _gets(emu, kind, ctx["pushed"][key]) > 0)
    job_id = ctx["pushed"][key]
    _arm(emu, kind, job_id, fault, "on_kill")
    killed = time.monotonic()
    op.on_kill()  # what the SIGTERM handler runs
    worker.join(5)
    if worker.is_alive():  # the abort never landed and a long poll is still open: end the job by hand
        _end_out_of_band(emu, kind, job_id)
        worker.join(10)
        raise AssertionError("execute() kept waiting after on_kill (the abort never landed)")
    error = outcome.get("error")
    # Stopped between polls (WaitInterrupted -> AirflowException), or a long poll that returned the
    # now ABORTED run (-> JobFailedError): both fail the task and leave nothing running.
    stopped = isinstance(error, AirflowException) and "stopped while waiting" in str(error)
    assert stopped or isinstance(error, JobFailedError) and error.status == "ABORTED", repr(error)
    return job_id, killed


def _end_out_of_band(emu: Any, kind: str, job_id: str) -> None:
    if kind == "apify_run":
        emu.abort_run(job_id)
    elif kind == "apify_build":
        emu.abort_build(job_id)
    else:
        emu.cancel_template_build(job_id)


def _trigger(kind: str, job_id: str, end_time: float) -> Any:
    cls = {"apify_run": ApifyRunTrigger, "apify_build": ApifyBuildTrigger, "template_build": TemplateBuildTrigger}
    return cls[kind](job_id=job_id, conn_id="apify_default" if kind != "template_build" else "template_builds_default",
                     end_time=end_time, poll_interval=0.05, reason="reliability: trigger")


def _trigger_on_kill(emu: Any, kind: str, fault: str) -> tuple[str, float]:
    job_id = _create(emu, kind)

    async def scenario() -> float:
        trigger = _trigger(kind, job_id, time.time() + 600)
        watching = asyncio.ensure_future(trigger.run().__anext__())
        while _gets(emu, kind, job_id) == 0:
            await asyncio.sleep(0.01)
        _arm(emu, kind, job_id, fault, "trigger on_kill")
        killed = time.monotonic()
        await trigger.on_kill()
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        await _http.aclose_shared_clients()
        return killed

    return job_id, asyncio.run(scenario())


def _trigger_deadline(emu: Any, kind: str, fault: str) -> tuple[str, float]:
    job_id = _create(emu, kind)
    _arm(emu, kind, job_id, fault, "trigger deadline")

    async def scenario() -> tuple[dict[str, Any], float]:
        end_time = time.time() + 0.3
        trigger = _trigger(kind, job_id, end_time)
        event = await trigger.run().__anext__()
        await _http.aclose_shared_clients()
        return event.payload, time.monotonic() - (time.time() - end_time)

    payload, deadline = asyncio.run(scenario())
    assert payload["outcome"] == "timeout" and "sent" in payload["message"], payload
    return job_id, deadline


def _notifier(emu: Any, kind: str, fault: str) -> tuple[str, float]:
    job_id = _create(emu, kind)
    _arm(emu, kind, job_id, fault, "notifier")
    notifier: Any
    if kind == "apify_run":
        notifier = ApifyAbortRunNotifier(run_id=job_id)
    elif kind == "apify_build":
        notifier = ApifyAbortBuildNotifier(build_id=job_id)
    else:
        notifier = TemplateBuildCancelNotifier(build_id=job_id)
    called = time.monotonic()
    assert notifier.notify(fake_context()) is None
    return job_id, called


def _sensor(emu: Any, kind: str, fault: str) -> tuple[str, float]:
    job_id = _create(emu, kind)
    _arm(emu, kind, job_id, fault, "sensor timeout")
    timeout = 0.3
    sensor: Any
    if kind == "apify_run":
        sensor = ApifyRunSensor(task_id="s", run_id=job_id, timeout=timeout, poke_interval=0.05)
    elif kind == "apify_build":
        sensor = ApifyBuildSensor(task_id="s", build_id=job_id, timeout=timeout, poke_interval=0.05)
    else:
        sensor = TemplateBuildSensor(task_id="s", build_id=job_id, timeout=timeout, poke_interval=0.05)
    started = time.monotonic()
    try:
        sensor.execute(fake_context())
    except AirflowSensorTimeout:
        pass
    else:
        raise AssertionError("the sensor did not time out")
    return job_id, started + timeout


RUNNERS: dict[str, Callable[[Any, str, str], tuple[str, float]]] = {
    "on_kill": _on_kill, "trigger on_kill": _trigger_on_kill, "trigger deadline": _trigger_deadline,
    "notifier": _notifier, "sensor timeout": _sensor,
}


def run_kill_cell(emu: Any, path: str, kind: str, fault: str) -> KillResult:
    """Run one path for one kind under one fault; ``failure`` says what went wrong, if anything."""
    result = KillResult(path, kind, fault)
    try:
        job_id, killed = RUNNERS[path](emu, kind, fault)
        method, route = ABORT_ROUTES[kind].split(" ", 1)
        attempts = [e for e in emu.requests(method=method, route=route) if f"/{job_id}/" in e.path]
        result.attempts = len(attempts)
        result.status = _status(emu, kind, job_id)
        delivered = [e for e in attempts if e.status is not None and 200 <= e.status < 300]
        assert delivered, f"the {ABORT_ROUTES[kind]} never got through: {[e.fault for e in attempts]}"
        assert len(delivered) == 1, f"{len(delivered)} aborts delivered"
        result.latency = delivered[0].monotonic - killed
        expected_attempts = sum(f.get("times", 1) for f in FAULTS[fault](path)) + 1
        assert result.attempts == expected_attempts, f"{result.attempts} attempts, expected {expected_attempts}"
        assert result.latency < DEADLINES[path], f"abort arrived {result.latency:.2f} s after the kill"
        assert result.status in ("ABORTED", "ABORTING", "cancelled", "cancel requested"), result.status
    except AssertionError as exc:
        result.failure = str(exc) or "assertion failed"
    return result


def run_kill_column(emu: Any, fault: str, paths: tuple[str, ...] = PATHS) -> list[KillResult]:
    """Every path for every kind at once under one fault (each cell has its own job)."""
    cells = [(path, kind) for path in paths for kind in KINDS]
    with ThreadPoolExecutor(max_workers=len(cells)) as pool:
        return list(pool.map(lambda cell: run_kill_cell(emu, cell[0], cell[1], fault), cells))
