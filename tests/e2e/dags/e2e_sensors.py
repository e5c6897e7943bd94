"""DAGs for the end-to-end tests of the sensors. Job ids come from the Variable ``e2e_jobs``
(``AIRFLOW_VAR_E2E_JOBS``, JSON), rendered through the sensors' templated id fields."""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG

from airflow_provider_jobs.sensors.apify import ApifyBuildSensor, ApifyRunSensor
from airflow_provider_jobs.sensors.template_builds import TemplateBuildSensor

KINDS = ("apify_run", "apify_build", "template_build")
START = datetime.datetime(2024, 1, 1)


def sensor(kind: str, task_id: str, **kwargs: Any) -> Any:
    job_id = "{{ var.json.e2e_jobs['%s'] }}" % task_id
    if kind == "apify_run":
        return ApifyRunSensor(task_id=task_id, run_id=job_id, **kwargs)
    if kind == "apify_build":
        return ApifyBuildSensor(task_id=task_id, build_id=job_id, **kwargs)
    if "abort_on_timeout" in kwargs:
        kwargs["cancel_on_timeout"] = kwargs.pop("abort_on_timeout")
    return TemplateBuildSensor(task_id=task_id, build_id=job_id, **kwargs)


def dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, default_args={"retries": 0})


MODES = {"poke": {"mode": "poke"}, "reschedule": {"mode": "reschedule"}, "deferred": {"deferrable": True}}

with dag("e2e_sensor_timeouts") as e2e_sensor_timeouts:
    for _mode, _options in MODES.items():
        for _kind in KINDS:
            sensor(_kind, f"{_mode}_{_kind}", timeout=1, poke_interval=0.4, **_options)
    sensor("apify_run", "opt_out", timeout=1, poke_interval=0.4, abort_on_timeout=False)

with dag("e2e_sensor_ends") as e2e_sensor_ends:
    for _kind in KINDS:
        for _end in ("ok", "bad"):
            for _label, _options in (("poke", {"mode": "poke"}), ("deferred", {"deferrable": True})):
                sensor(_kind, f"{_end}_{_label}_{_kind}", timeout=60, poke_interval=0.5, **_options)
