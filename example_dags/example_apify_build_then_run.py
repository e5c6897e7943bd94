"""Build an actor version, then run exactly that build.

``ApifyBuildActorOperator`` pushes ``build_id`` at once and returns the build summary, whose
``build_number`` the run uses. Either task aborts its job if it is killed or times out.

Set the DAG param ``actor_id`` to an actor you own (``~name`` means "my actor called name").
"""

from __future__ import annotations

import datetime

from airflow.sdk import DAG

from airflow_provider_jobs.operators.apify import ApifyBuildActorOperator, ApifyRunActorOperator

with DAG(
    dag_id="example_apify_build_then_run",
    schedule=None,
    start_date=datetime.datetime(2025, 1, 1),
    catchup=False,
    params={"actor_id": "~my-scraper", "version": "0.0"},
    tags=["example", "apify"],
) as dag:
    build = ApifyBuildActorOperator(
        task_id="build_actor",
        actor_id="{{ params.actor_id }}",
        version="{{ params.version }}",
        tag="airflow-{{ ds_nodash }}",
        execution_timeout=datetime.timedelta(minutes=30),
    )
    run = ApifyRunActorOperator(
        task_id="run_new_build",
        actor_id="{{ params.actor_id }}",
        build="{{ ti.xcom_pull(task_ids='build_actor')['build_number'] }}",
        run_input={"startUrls": [{"url": "https://example.com"}]},
        run_timeout_secs=900,
        deferrable=True,  # wait in the triggerer, not in a worker slot
    )
    build >> run
