"""Abort a run from a failure callback when a later step fails.

The run is started without waiting (the scraper feeds a queue that the next task drains); if the
next task fails, ``ApifyAbortRunNotifier`` aborts the run whose id the first task pushed to XCom,
so nothing keeps billing after the DAG gave up. Notifiers log and never raise.
"""

from __future__ import annotations

import datetime

from airflow.sdk import DAG, task

from airflow_provider_jobs.notifications.apify import ApifyAbortRunNotifier
from airflow_provider_jobs.operators.apify import ApifyRunActorOperator

with DAG(
    dag_id="example_apify_abort_on_failure",
    schedule=None,
    start_date=datetime.datetime(2025, 1, 1),
    catchup=False,
    params={"actor_id": "apify/web-scraper", "fail_consumer": True},
    tags=["example", "apify"],
) as dag:
    start = ApifyRunActorOperator(
        task_id="start_scraper",
        actor_id="{{ params.actor_id }}",
        run_input={"startUrls": [{"url": "https://example.com"}], "maxPagesPerCrawl": 100},
        run_timeout_secs=3600,
        wait_for_termination=False,  # returns as soon as the run exists
    )

    @task(on_failure_callback=ApifyAbortRunNotifier(task_id="start_scraper", gracefully=True))
    def consume(params: dict | None = None) -> None:
        """Drains the scraper's output; here it fails on purpose when params.fail_consumer is set."""
        if params and params.get("fail_consumer"):
            raise RuntimeError("the consumer lost its database connection")

    start >> consume()
