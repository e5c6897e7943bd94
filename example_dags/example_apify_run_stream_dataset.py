"""Run an Apify actor with its log in the task log, export its dataset to storage, count the lines.

``stream_logs=True`` follows the run's log while the operator waits: the actor's own lines appear
in the task log as they are written (each once, across reconnects), and a run that ends badly
fails the task with the last lines of its log. The transfer operator then streams the run's
default dataset, a page at a time, to a JSON-lines file through ``ObjectStoragePath``: ``file://``
here, ``s3://`` or ``gs://`` with the provider that serves the scheme. The file is written under a
temporary name and moved into place, so a downstream task never sees half an export.

Connection: ``apify_default``. Against the bundled emulator the actor named below writes 500 items.
The export directory is the ``export_dir`` param (default: ``apify-exports`` in the system's
temporary directory, or ``$EXAMPLE_EXPORT_DIR``).
"""

from __future__ import annotations

import datetime
import os
import tempfile
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider_jobs.operators.apify import ApifyRunActorOperator
from airflow_provider_jobs.transfers.apify import ApifyDatasetToObjectStorageOperator

EXPORT_DIR = os.environ.get("EXAMPLE_EXPORT_DIR", os.path.join(tempfile.gettempdir(), "apify-exports"))

with DAG(
    dag_id="example_apify_run_stream_dataset",
    schedule=None,
    start_date=datetime.datetime(2025, 1, 1),
    catchup=False,
    params={"actor_id": "apify/website-content-crawler", "export_dir": EXPORT_DIR},
    tags=["example", "apify"],
) as dag:
    crawl = ApifyRunActorOperator(
        task_id="crawl",
        actor_id="{{ params.actor_id }}",
        run_input={"startUrls": [{"url": "https://docs.apify.com"}], "maxCrawlPages": 500},
        stream_logs=True,  # the actor's log lines go to this task's log while it waits
        run_timeout_secs=1800,
        execution_timeout=datetime.timedelta(minutes=40),
    )

    export = ApifyDatasetToObjectStorageOperator(
        task_id="export_items",
        dataset_id="{{ ti.xcom_pull(task_ids='crawl')['default_dataset_id'] }}",
        # one file per DAG run; the run id's ':' and '+' are not welcome in every store's keys
        destination="file://{{ params.export_dir }}/{{ run_id | replace(':', '-') | replace('+', '-') }}.jsonl",
        format="jsonl",
    )

    @task
    def count_lines(written: dict[str, Any]) -> int:
        """Read the export back and check it holds what the transfer says it wrote."""
        destination = written["destination"]
        # Airflow 3.0 with universal-pathlib 0.3 refuses file:// URLs in ObjectStoragePath: a local path works
        # everywhere (the transfer operator does the same with its destination).
        local = destination.startswith("file:///")
        path = ObjectStoragePath(destination.removeprefix("file://") if local else destination)
        count = 0
        with path.open("rb") as f:  # in 1 MB blocks: an export may be larger than memory
            while block := f.read(1 << 20):
                count += block.count(b"\n")
        if count != written["items"]:
            raise ValueError(f"{path} has {count} lines; the export wrote {written['items']} items")
        print(f"{path}: {count} items, {written['bytes']} bytes")
        return count

    crawl >> export
    count_lines(export.output)
