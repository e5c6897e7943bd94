"""DAGs for the end-to-end test of ``stream_logs`` (one DAG per mode, so that each DAG's output is its task's).

The test seeds ``e2e~chatty`` (an actor whose runs log a progress line every ~0.2 s for ~2 s) and
``e2e~chatty-fails`` (the same, ending FAILED).

Forced stream drops: a connection of a followed log may stay silent 0.1 s here (60 s by default),
so the task drops the log stream between two progress lines and opens it again many times; the
API sends the log from its first byte each time, and each line must still reach the task log once.
"""

from __future__ import annotations

import datetime

from airflow.sdk import DAG

from airflow_provider_jobs.lifecycle import logs
from airflow_provider_jobs.operators.apify import ApifyRunActorOperator

logs.QUIET_READ = logs.MIN_READ = 0.1  # force drops: every quiet 0.1 s (this process only)
START = datetime.datetime(2024, 1, 1)


def dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, default_args={"retries": 0})


with dag("e2e_stream_logs_blocking") as e2e_stream_logs_blocking:
    ApifyRunActorOperator(task_id="apify_run", actor_id="e2e~chatty", stream_logs=True, deferrable=False)

with dag("e2e_stream_logs_deferred") as e2e_stream_logs_deferred:
    ApifyRunActorOperator(task_id="apify_run", actor_id="e2e~chatty", stream_logs=True, deferrable=True)

with dag("e2e_stream_logs_fails") as e2e_stream_logs_fails:
    ApifyRunActorOperator(task_id="apify_run", actor_id="e2e~chatty-fails", deferrable=True)
