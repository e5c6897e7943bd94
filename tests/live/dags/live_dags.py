"""DAGs for the live-stack tests (scheduler + triggerer + api-server + LocalExecutor).

The mark-failed DAGs also hold a sensor per job kind (poking, or deferred) on a job the test creates.

The emulator is seeded by the test with never-ending jobs (``live~forever``, ``live-forever``).
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG

from airflow_provider_jobs.operators.apify import ApifyBuildActorOperator, ApifyRunActorOperator
from airflow_provider_jobs.operators.template_builds import TemplateBuildOperator
from airflow_provider_jobs.sensors.apify import ApifyBuildSensor, ApifyRunSensor
from airflow_provider_jobs.sensors.template_builds import TemplateBuildSensor

START = datetime.datetime(2024, 1, 1)
KINDS = ("apify_run", "apify_build", "template_build")


def start(kind: str, task_id: str, **kwargs: Any) -> Any:
    if kind == "apify_run":
        return ApifyRunActorOperator(task_id=task_id, actor_id="live~forever", **kwargs)
    if kind == "apify_build":
        return ApifyBuildActorOperator(task_id=task_id, actor_id="live~forever", version="0.1", **kwargs)
    return TemplateBuildOperator(task_id=task_id, build_request={"name": "live-forever"}, **kwargs)


def sensor(kind: str, variant: str, **kwargs: Any) -> Any:
    """A sensor of ``kind`` on the job whose id the test put in Variable ``live_<variant>_<kind>``."""
    job = f"{{{{ var.value.live_{variant}_{kind} }}}}"
    task_id = f"sensor_{kind}"
    if kind == "apify_run":
        return ApifyRunSensor(task_id=task_id, run_id=job, timeout=600, **kwargs)
    if kind == "apify_build":
        return ApifyBuildSensor(task_id=task_id, build_id=job, timeout=600, **kwargs)
    return TemplateBuildSensor(task_id=task_id, build_id=job, timeout=600, **kwargs)


class AirflowTimeoutFirstRun(ApifyRunActorOperator):
    """Airflow's defer timeout (10 s) fires long before the trigger's own deadline (600 s)."""

    defer_timeout_margin = -590.0


class AirflowTimeoutFirstSensor(ApifyRunSensor):
    """The same for a sensor: Airflow's defer timeout fires 20 s before the trigger's deadline."""

    defer_timeout_margin = -20.0


def dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, default_args={"retries": 0})


with dag("live_mark_failed_deferred") as live_mark_failed_deferred:
    for _kind in KINDS:
        start(_kind, _kind, deferrable=True, wait_timeout=600)
        sensor(_kind, "deferred", deferrable=True, poke_interval=1)
    start("apify_run", "opt_out", deferrable=True, wait_timeout=600, abort_on_kill=False)

with dag("live_mark_failed_running") as live_mark_failed_running:
    for _kind in KINDS:
        start(_kind, _kind, poll_interval=0.5)
        sensor(_kind, "poking", deferrable=False, mode="poke", poke_interval=1)

with dag("live_airflow_defer_timeout") as live_airflow_defer_timeout:
    AirflowTimeoutFirstRun(task_id="operator", actor_id="live~forever", deferrable=True, wait_timeout=600)
    AirflowTimeoutFirstSensor(task_id="sensor", run_id="{{ var.value.live_sensor_run }}", deferrable=True,
                              timeout=30)
