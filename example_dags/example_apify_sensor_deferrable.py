"""Wait for a run with a deferrable sensor that aborts the run if the sensor times out.

The run is started elsewhere (here: by the first task, without waiting). The sensor long-polls
from the triggerer; when its ``timeout`` passes, the trigger aborts the run itself before the
task fails, so a stuck scraper never outlives its DAG.

The timeout comes from ``EXAMPLE_SENSOR_TIMEOUT_S`` (default 1800 s) so the demo can show the
abort in seconds.
"""

from __future__ import annotations

import datetime
import os

from airflow.sdk import DAG

from airflow_provider_jobs.operators.apify import ApifyRunActorOperator
from airflow_provider_jobs.sensors.apify import ApifyRunSensor

with DAG(
    dag_id="example_apify_sensor_deferrable",
    schedule=None,
    start_date=datetime.datetime(2025, 1, 1),
    catchup=False,
    params={"actor_id": "apify/web-scraper"},
    tags=["example", "apify"],
) as dag:
    start = ApifyRunActorOperator(
        task_id="start_run",
        actor_id="{{ params.actor_id }}",
        run_input={"startUrls": [{"url": "https://example.com"}]},
        wait_for_termination=False,
    )
    wait = ApifyRunSensor(
        task_id="wait_for_run",
        run_id="{{ ti.xcom_pull(task_ids='start_run', key='run_id') }}",
        deferrable=True,
        timeout=int(os.environ.get("EXAMPLE_SENSOR_TIMEOUT_S", "1800")),  # the demo sets a few seconds
        poke_interval=30,
        abort_on_timeout=True,
    )
    start >> wait
