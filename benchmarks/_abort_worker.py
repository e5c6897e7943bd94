"""One long-lived process that drives the provider's abort paths again and again.

Started by ``bench_abort.py`` (``python _abort_worker.py '[["sigterm", 20, 1], ...]'``), with
``AIRFLOW_CONN_APIFY_DEFAULT`` pointing at the emulator. It imports everything, prints ``ready``,
waits for a line on stdin, then runs each path ``runs`` times with aborting on and
``baseline_runs`` times with it off (one path after the other: on this machine parallel
start-ups gain nothing), printing one ``BENCH {json}`` line per event:

* ``started``: a job exists (the driver times SIGTERM from here);
* ``event``: the failure event's ``time.monotonic()`` (taken here, or by the driver for SIGTERM)
  and the job id; the driver pairs it with the abort's arrival in the emulator journal;
* ``phase``: which path runs next, aborting on or off; ``finished``: all done.

The SIGTERM baseline (aborting off) must come last: nothing ends its wait, so the driver SIGKILLs
the process as Airflow's supervisor would.

Each path runs the provider's real code the way Airflow's task runner / triggerer / callback
runner would call it (the same signal handler, the same ``timeout`` context manager, the same
``resume_execution`` arguments); only the task runner itself is left out.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import airflow_env, quiet_logging  # noqa: E402
from _common import fake_context as context  # noqa: E402

airflow_env()
quiet_logging()

from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR, ExecutorSafeguard, TriggerFailureReason  # noqa: E402
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowTaskTimeout  # noqa: E402
from airflow.sdk.execution_time.timeout import timeout  # noqa: E402

from airflow_provider_jobs.hooks.apify import ApifyHook  # noqa: E402
from airflow_provider_jobs.notifications.apify import ApifyAbortRunNotifier  # noqa: E402
from airflow_provider_jobs.operators.apify import ApifyRunActorOperator  # noqa: E402
from airflow_provider_jobs.sensors.apify import ApifyRunSensor  # noqa: E402
from airflow_provider_jobs.triggers.apify import ApifyRunTrigger  # noqa: E402

ACTOR = "bench~forever"
"""Seeded by the driver: RUNNING at once, for an hour of real time."""


def emit(kind: str, **fields: Any) -> None:
    """Print one protocol line."""
    print("BENCH " + json.dumps({"kind": kind, **fields}), flush=True)


class BenchRunOperator(ApifyRunActorOperator):
    """The real operator; it only reports when the run exists."""

    def start_job(self, hook: Any, context: Any) -> Any:
        job = super().start_job(hook, context)
        emit("started", job_id=job.id)
        return job


def as_task_runner(op: Any) -> Any:
    """Mark ``op`` as run by the task runner (its ``execute`` guard then stays quiet)."""
    ExecutorSafeguard.tracker.set(op)
    return op


def _outcome(exc: BaseException | None) -> str:
    return "returned" if exc is None else type(exc).__name__


# ------------------------------------------------------------------------------ paths
def sigterm(i: int, abort: bool) -> None:
    """SIGTERM while ``execute`` waits; the handler calls ``on_kill`` as Airflow's task runner does.

    The driver sends the signal (and takes the event time) after ``started``. With aborting off
    the wait would go on (Airflow SIGKILLs the process 5 s later): the driver kills us instead.
    """
    op = as_task_runner(BenchRunOperator(task_id=f"sigterm_{i}", actor_id=ACTOR, poll_interval=0.2,
                                         abort_on_kill=abort))
    marks: dict[str, float] = {}

    def on_term(signum: int, frame: Any) -> None:  # Airflow's _on_term: call on_kill, nothing else
        marks["handler_entered"] = time.monotonic()
        op.on_kill()
        marks["on_kill_returned"] = time.monotonic()

    signal.signal(signal.SIGTERM, on_term)
    error: BaseException | None = None
    try:
        op.execute(context(op.task_id))
    except BaseException as exc:  # noqa: BLE001 - the task fails; we only report how
        error = exc
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    emit("done", job_id=op._job.job_id if op._job else None, outcome=_outcome(error), **marks)


def execution_timeout(i: int, abort: bool) -> None:
    """``execution_timeout`` exactly as the task runner enforces it: SIGALRM via ``timeout()``, then ``on_kill``."""
    seconds = random.uniform(0.15, 0.35)
    op = as_task_runner(BenchRunOperator(task_id=f"exec_timeout_{i}", actor_id=ACTOR, poll_interval=0.2,
                                         abort_on_kill=abort, execution_timeout=timedelta(seconds=seconds)))
    error: BaseException | None = None
    entered = time.monotonic()
    try:
        with timeout(seconds):
            op.execute(context(op.task_id))
    except AirflowTaskTimeout as exc:
        error = exc
        op.on_kill()
    except BaseException as exc:  # noqa: BLE001
        error = exc
    emit("event", job_id=op._job.job_id if op._job else None, event=entered + seconds, outcome=_outcome(error))


_SENSOR_TIMEOUTS: list[float] = []


class _TimedSensorTimeout(AirflowSensorTimeout):
    """``AirflowSensorTimeout`` that notes when the sensor raised it (the failure event)."""

    def __init__(self, *args: Any) -> None:
        _SENSOR_TIMEOUTS.append(time.monotonic())
        super().__init__(*args)


def sensor_timeout(i: int, abort: bool) -> None:
    """A poke-mode sensor whose ``timeout`` passes while the run is still going."""
    import airflow.sdk.bases.sensor as sensor_module

    sensor_module.AirflowSensorTimeout = _TimedSensorTimeout  # type: ignore[misc]
    run_id = ApifyHook().start_run(ACTOR).id
    seconds = random.uniform(0.15, 0.35)
    sensor = as_task_runner(ApifyRunSensor(task_id=f"sensor_{i}", run_id=run_id, timeout=seconds,
                                           poke_interval=0.1, abort_on_timeout=abort, mode="poke"))
    _SENSOR_TIMEOUTS.clear()
    started = time.monotonic()
    error: BaseException | None = None
    try:
        sensor.execute(context(sensor.task_id))
    except BaseException as exc:  # noqa: BLE001
        error = exc
    event = _SENSOR_TIMEOUTS[0] if _SENSOR_TIMEOUTS else float("nan")
    emit("event", job_id=run_id, event=event, nominal=started + seconds, outcome=_outcome(error))


def defer_timeout(i: int, abort: bool) -> None:
    """Airflow's own defer timeout: the task resumes with ``__fail__``/trigger timeout and must abort."""
    op = ApifyRunActorOperator(task_id=f"defer_timeout_{i}", actor_id=ACTOR, deferrable=True, abort_on_kill=abort)
    run_id = ApifyHook().start_run(ACTOR).id
    ctx = context(op.task_id, {"run_id": run_id})
    error: BaseException | None = None
    event = time.monotonic()
    try:
        op.resume_execution(TRIGGER_FAIL_REPR, {"error": TriggerFailureReason.TRIGGER_TIMEOUT},
                            ctx)  # type: ignore[arg-type]
    except BaseException as exc:  # noqa: BLE001
        error = exc
    emit("event", job_id=run_id, event=event, outcome=_outcome(error))


def notifier(i: int, abort: bool) -> None:
    """A failure callback: the notifier reads the run id from XCom and aborts it.

    The baseline is a failure callback that does not abort (a provider without a notifier)."""
    run_id = ApifyHook().start_run(ACTOR).id
    ctx = context(f"notifier_{i}", {"run_id": run_id})
    callback = ApifyAbortRunNotifier(task_id="start") if abort else (lambda context: None)
    event = time.monotonic()
    callback(ctx)
    emit("event", job_id=run_id, event=event, outcome="returned")


async def _triggers(runs: int, abort: bool, *, kill: bool) -> None:
    """Many triggers in one event loop, as in a triggerer: deadlines spread over 0.3-1.5 s, or killed."""
    hook = ApifyHook()
    run_ids = [(await hook.astart_run(ACTOR)).id for _ in range(runs)]

    async def one(run_id: str, seconds: float) -> None:
        now_wall, now_mono = time.time(), time.monotonic()
        trigger = ApifyRunTrigger(job_id=run_id, conn_id="apify_default", end_time=now_wall + seconds,
                                  abort_on_timeout=abort, abort_on_kill=abort)
        if not kill:
            async for event in trigger.run():
                emit("event", job_id=run_id, event=now_mono + seconds, outcome=event.payload["outcome"])
            return
        task = asyncio.ensure_future(_drain(trigger))
        await asyncio.sleep(seconds)
        task.cancel()  # the triggerer cancels the trigger's run(), then calls on_kill
        killed = time.monotonic()
        await trigger.on_kill()
        emit("event", job_id=run_id, event=killed, outcome="on_kill")

    spread = [0.3 + 1.2 * k / max(1, runs - 1) for k in range(runs)]
    random.shuffle(spread)
    await asyncio.gather(*(one(run_id, seconds) for run_id, seconds in zip(run_ids, spread, strict=True)))
    from airflow_provider_jobs._http import aclose_shared_clients

    await aclose_shared_clients()


async def _drain(trigger: ApifyRunTrigger) -> None:
    async for _ in trigger.run():
        pass


PATHS = {
    "sigterm": sigterm,
    "execution_timeout": execution_timeout,
    "sensor_timeout": sensor_timeout,
    "defer_timeout": defer_timeout,
    "notifier": notifier,
}


def main() -> None:
    """Run each path ``runs`` times with aborting on, then ``baseline_runs`` times with it off."""
    plan = json.loads(sys.argv[1])
    ApifyHook().get_user()  # connection loaded, client warm: as in a task that has been running
    emit("ready")
    sys.stdin.readline()
    for path, runs, baseline_runs in plan:
        for abort, count in ((True, runs), (False, baseline_runs)):
            emit("phase", path=path, abort=abort)
            if path in ("trigger_deadline", "trigger_on_kill"):
                asyncio.run(_triggers(count, abort, kill=path == "trigger_on_kill"))
                continue
            for i in range(count):
                PATHS[path](i, abort)
    emit("finished")


if __name__ == "__main__":
    main()
