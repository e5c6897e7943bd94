"""Cancel a template build with a reason (e.g. a newer commit superseded it).

The build is started without waiting; the cancel operator records a reason on the build and
reports whether the cancel has taken effect yet (``cancel_pending``) — optionally waiting for the
build to reach ``cancelled``. Cancelling a build that already finished changes nothing.

Connection: ``template_builds_default`` (host = the templates API base URL, password = API key).
"""

from __future__ import annotations

import datetime

from airflow.sdk import DAG

from airflow_provider_jobs.operators.template_builds import TemplateBuildCancelOperator, TemplateBuildOperator

with DAG(
    dag_id="example_template_build_cancel",
    schedule=None,
    start_date=datetime.datetime(2025, 1, 1),
    catchup=False,
    params={"template": "etl-runner"},
    tags=["example", "template-builds"],
) as dag:
    start = TemplateBuildOperator(
        task_id="start_build",
        build_request={
            "name": "{{ params.template }}",
            "dockerfile": "FROM python:3.11-slim\nRUN pip install --no-cache-dir requests\n",
            "tags": ["nightly"],
        },
        wait_for_termination=False,
    )
    cancel = TemplateBuildCancelOperator(
        task_id="cancel_superseded_build",
        build_id="{{ ti.xcom_pull(task_ids='start_build', key='build_id') }}",
        reason="superseded by a newer commit (DAG run {{ run_id }})",
        wait_for_termination=True,
        wait_timeout=300,
    )
    start >> cancel
