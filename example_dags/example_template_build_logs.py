"""Build a template and wait for it, with the build's log lines streamed into the task log.

The operator pushes ``build_id`` at once, follows the build from its log offset (new entries go
to the task log), fails the task if the build ends ``error`` or ``cancelled``, and cancels the
build — with a reason naming the DAG, task, run and try — if the task is killed or times out.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_jobs.operators.template_builds import TemplateBuildOperator

with DAG(
    dag_id="example_template_build_logs",
    schedule=None,
    start_date=datetime.datetime(2025, 1, 1),
    catchup=False,
    params={"template": "python-etl"},
    tags=["example", "template-builds"],
) as dag:
    build = TemplateBuildOperator(
        task_id="build_template",
        build_request={
            "name": "{{ params.template }}",
            "dockerfile": "FROM python:3.11-slim\nCOPY . /srv/app\nRUN pip install -r /srv/app/requirements.txt\n",
            "tags": ["{{ ds_nodash }}"],
        },
        stream_logs=True,
        poll_interval=2,
        execution_timeout=datetime.timedelta(minutes=30),
    )

    @task
    def announce(summary: dict[str, Any]) -> str:
        print(f"template {summary['canonical_ref'] or summary['name']} built as {summary['id']} ({summary['status']})")
        return summary["id"]

    announce(build.output)
