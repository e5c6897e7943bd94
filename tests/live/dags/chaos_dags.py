"""DAGs of the chaos tests (tests/live/test_live_chaos.py): one task per job kind, so one DAG run
covers the three kinds at once (killed together, restarted under together).

The test seeds the emulator (``tests/live/conftest.py``): ``chaos~forever`` / ``chaos-forever``
never end, ``chaos~slow`` / ``chaos-slow`` end after ~15 s, ``chaos~short`` / ``chaos-short`` after
~3 s, ``chaos~fails`` / ``chaos-fails`` end FAILED / error after ~3 s.

* ``chaos_sigkill`` and ``chaos_node_loss``: for each executor (``local``, ``celery``) and kind, a
  guarded task ``<kind>_<executor>`` (the operators' defaults) and ``<kind>_<executor>_baseline``
  (``abort_on_process_death=False``: what Airflow alone does, the job is never aborted);
* ``chaos_no_abort``: tasks that succeed, fail on the job's own terminal state, defer, and return
  without waiting (``wait_for_termination=False``), per kind;
* ``chaos_triggerer``: a deferred task per kind (the triggerer is SIGKILLed and replaced);
* ``chaos_scheduler``: a running task per kind and executor (the scheduler is SIGKILLed and restarted).
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG

from airflow_provider_jobs.operators.apify import ApifyBuildActorOperator, ApifyRunActorOperator
from airflow_provider_jobs.operators.template_builds import TemplateBuildOperator

START = datetime.datetime(2024, 1, 1)
KINDS = ("apify_run", "apify_build", "template_build")
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}


def job_task(kind: str, task_id: str, job: str, **kwargs: Any) -> Any:
    """The start-and-wait operator of ``kind`` on the seeded actor/template ``job`` (e.g. ``forever``)."""
    if kind == "apify_run":
        return ApifyRunActorOperator(task_id=task_id, actor_id=f"chaos~{job}", **kwargs)
    if kind == "apify_build":
        return ApifyBuildActorOperator(task_id=task_id, actor_id=f"chaos~{job}", version="0.1", **kwargs)
    return TemplateBuildOperator(task_id=task_id, build_request={"name": f"chaos-{job}"}, **kwargs)


def dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, default_args={"retries": 0})


for _event in ("sigkill", "node_loss"):
    with dag(f"chaos_{_event}"):
        for _name, _executor in EXECUTORS.items():
            for _kind in KINDS:
                job_task(_kind, f"{_kind}_{_name}", "forever", executor=_executor, poll_interval=1)
                job_task(_kind, f"{_kind}_{_name}_baseline", "forever", executor=_executor, poll_interval=1,
                         abort_on_process_death=False)

with dag("chaos_no_abort"):
    for _kind in KINDS:
        job_task(_kind, f"succeeds_{_kind}", "short", poll_interval=0.5)
        job_task(_kind, f"fails_{_kind}", "fails", poll_interval=0.5)
        job_task(_kind, f"defers_{_kind}", "short", deferrable=True)
        job_task(_kind, f"nowait_{_kind}", "forever", wait_for_termination=False)

with dag("chaos_triggerer"):
    for _kind in KINDS:
        job_task(_kind, _kind, "slow", deferrable=True)

with dag("chaos_scheduler"):
    for _name, _executor in EXECUTORS.items():
        for _kind in KINDS:
            job_task(_kind, f"{_kind}_{_name}", "slow", executor=_executor, poll_interval=1)
