"""DAGs for the end-to-end test of the actor-task operator (tests/e2e/test_task_operator_e2e.py).

The test seeds the emulator with tasks ``~e2e-nightly`` (of actor ``e2e~quick``, saved input
``{"pages": 3, "lang": "en"}``) and ``~e2e-endless`` (of ``e2e~forever``, never ends by itself).
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_jobs.operators.apify import ApifyRunActorTaskOperator

START = datetime.datetime(2024, 1, 1)

with DAG("e2e_task_run", schedule=None, start_date=START, catchup=False,
         default_args={"retries": 0}) as e2e_task_run:
    nightly = ApifyRunActorTaskOperator(task_id="nightly", actor_task_id="~e2e-nightly", task_input={"pages": 5},
                                        memory_mbytes="{{ 256 * 2 }}", poll_interval=0.2)
    ApifyRunActorTaskOperator(task_id="nightly_deferred", actor_task_id="~e2e-nightly", deferrable=True,
                              poll_interval=0.2)
    ApifyRunActorTaskOperator(task_id="endless", actor_task_id="~e2e-endless", poll_interval=0.2,
                              execution_timeout=datetime.timedelta(seconds=1))

    @task
    def use_dataset(summary: Any) -> str:
        return summary["default_dataset_id"]

    use_dataset(nightly.output)
