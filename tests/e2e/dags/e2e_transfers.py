"""DAGs for the end-to-end tests of the dataset transfer (tests/e2e/test_transfers_e2e.py).

The test seeds the emulator with actor ``e2e~items`` (a run that writes items to its default
dataset) and sets ``E2E_EXPORT_DIR`` to a temporary directory; ``E2E_BLOCKER`` names a regular
file, so a destination under it cannot be written.
"""

from __future__ import annotations

import datetime
import os

from airflow.sdk import DAG

from airflow_provider_jobs.operators.apify import ApifyRunActorOperator
from airflow_provider_jobs.transfers.apify import ApifyDatasetToObjectStorageOperator

START = datetime.datetime(2024, 1, 1)
EXPORT_DIR = os.environ.get("E2E_EXPORT_DIR", "/tmp/e2e-exports")
BLOCKER = os.environ.get("E2E_BLOCKER", "/tmp/e2e-blocker")
DATASET = "{{ ti.xcom_pull(task_ids='scrape')['default_dataset_id'] }}"


def dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, default_args={"retries": 0})


with dag("e2e_dataset_export") as e2e_dataset_export:
    scrape = ApifyRunActorOperator(task_id="scrape", actor_id="e2e~items", poll_interval=0.2)
    for fmt in ("jsonl", "json", "csv"):
        scrape >> ApifyDatasetToObjectStorageOperator(
            task_id=f"export_{fmt}", dataset_id=DATASET, destination=f"file://{EXPORT_DIR}/{{{{ ds }}}}/items.{fmt}",
            format=fmt, fields=["index", "url"] if fmt == "csv" else None,
        )

with dag("e2e_dataset_export_unwritable") as e2e_dataset_export_unwritable:
    ApifyRunActorOperator(task_id="scrape", actor_id="e2e~items", poll_interval=0.2) >> (
        ApifyDatasetToObjectStorageOperator(task_id="export", dataset_id=DATASET,
                                            destination=f"file://{BLOCKER}/items.jsonl")
    )
