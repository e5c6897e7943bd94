"""Run an Apify actor and pass its dataset id downstream.

The operator pushes the run id to XCom (``run_id``) as soon as the run exists, waits with the
``waitForFinish`` long poll, and returns a small summary whose ``default_dataset_id`` the next
task reads. Dataset items never go through XCom: the downstream task fetches them itself.

Connection: ``apify_default`` (the Apify token in the password). Against the bundled emulator:
``python -m airflow_provider_jobs.emulator`` prints the connection line.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_jobs.operators.apify import ApifyRunActorOperator

with DAG(
    dag_id="example_apify_run_dataset",
    schedule=None,
    start_date=datetime.datetime(2025, 1, 1),
    catchup=False,
    params={"actor_id": "apify/hello-world"},
    tags=["example", "apify"],
) as dag:
    run = ApifyRunActorOperator(
        task_id="run_actor",
        actor_id="{{ params.actor_id }}",
        run_input={"message": "Hello from Airflow run {{ run_id }}"},
        run_timeout_secs=600,  # the platform stops the run after 10 minutes whatever happens here
        memory_mbytes=256,
        execution_timeout=datetime.timedelta(minutes=15),  # and the task aborts it if it gets here first
    )

    @task
    def load_dataset(summary: dict[str, Any]) -> str:
        """Stand-in for a loader: it gets ids, not items, and would read the dataset itself."""
        dataset_id = summary["default_dataset_id"]
        cost = summary["usage_total_usd"]
        print(f"run {summary['id']} {summary['status']}: load dataset {dataset_id} (cost ${cost})")
        return dataset_id

    load_dataset(run.output)
