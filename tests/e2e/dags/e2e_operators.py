"""DAGs for the end-to-end tests of the operators (one DAG per failure path).

The test seeds the emulator with actors ``e2e~quick`` (succeeds in ~1 s), ``e2e~fails`` (ends
FAILED), ``e2e~forever`` and ``e2e~keep`` (never end by themselves) and templates with the same
suffixes (``e2e-quick``...).
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_jobs.notifications.apify import ApifyAbortBuildNotifier, ApifyAbortRunNotifier
from airflow_provider_jobs.notifications.template_builds import TemplateBuildCancelNotifier
from airflow_provider_jobs.operators.apify import ApifyBuildActorOperator, ApifyRunActorOperator
from airflow_provider_jobs.operators.template_builds import TemplateBuildOperator

KINDS = ("apify_run", "apify_build", "template_build")
START = datetime.datetime(2024, 1, 1)


def start(kind: str, job: str, task_id: str | None = None, **kwargs: Any) -> Any:
    """The start-and-wait operator of ``kind`` on the emulator job ``job``."""
    task_id = task_id or kind
    if kind == "apify_run":
        return ApifyRunActorOperator(task_id=task_id, actor_id=f"e2e~{job}", run_input={"pages": 3}, **kwargs)
    if kind == "apify_build":
        return ApifyBuildActorOperator(task_id=task_id, actor_id=f"e2e~{job}", version="0.1", **kwargs)
    return TemplateBuildOperator(task_id=task_id, build_request={"name": f"e2e-{job}"}, **kwargs)


def dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, default_args={"retries": 0})


with dag("e2e_success") as e2e_success:
    runs = {f"{kind}{suffix}": start(kind, "quick", task_id=f"{kind}{suffix}", deferrable=deferrable, poll_interval=0.2)
            for kind in KINDS for suffix, deferrable in (("", False), ("_deferred", True))}

    @task
    def use_dataset(summary: dict[str, Any]) -> str:
        return summary["default_dataset_id"]

    use_dataset(runs["apify_run"].output)

with dag("e2e_bad_end") as e2e_bad_end:
    for kind in KINDS:
        for suffix, deferrable in (("", False), ("_deferred", True)):
            start(kind, "fails", task_id=f"{kind}{suffix}", deferrable=deferrable, poll_interval=0.2)

with dag("e2e_exec_timeout") as e2e_exec_timeout:
    for kind in KINDS:
        start(kind, "forever", execution_timeout=datetime.timedelta(seconds=2))
    start("apify_run", "keep", task_id="opt_out", abort_on_kill=False, execution_timeout=datetime.timedelta(seconds=2))

with dag("e2e_defer_deadline") as e2e_defer_deadline:
    for kind in KINDS:
        start(kind, "forever", deferrable=True, wait_timeout=1.5, poll_interval=0.2)
    start("apify_run", "keep", task_id="opt_out", deferrable=True, wait_timeout=1.5, abort_on_kill=False,
          poll_interval=0.2)

with dag("e2e_wait_timeout") as e2e_wait_timeout:
    for kind in KINDS:
        start(kind, "forever", wait_timeout=1, poll_interval=0.2)

for _kind in KINDS:
    with dag(f"e2e_sigterm_{_kind}") as _sigterm_dag:
        start(_kind, "forever", poll_interval=0.2)
    globals()[f"e2e_sigterm_{_kind}"] = _sigterm_dag

with dag("e2e_notifier") as e2e_notifier:
    starters = [start(kind, "forever", task_id=f"start_{kind}", wait_for_termination=False) for kind in KINDS]

    @task(on_failure_callback=[
        ApifyAbortRunNotifier(task_id="start_apify_run"),
        ApifyAbortBuildNotifier(task_id="start_apify_build"),
        TemplateBuildCancelNotifier(task_id="start_template_build",
                                    reason="{{ ti.task_id }} failed in {{ ti.run_id }}"),
    ])
    def downstream_fails() -> None:
        raise RuntimeError("the load step failed")

    starters >> downstream_fails()

with dag("e2e_mapped_notifier") as e2e_mapped_notifier:
    # Each mapped task instance gives up waiting and lets its notifier abort the job: its own
    # (this map index's), not the first id of the list that every map index pushed.
    ApifyRunActorOperator.partial(
        task_id="mapped_runs", actor_id="e2e~forever", abort_on_kill=False, wait_timeout=2, poll_interval=0.2,
        on_failure_callback=ApifyAbortRunNotifier(),
    ).expand(run_input=[{"shard": 0}, {"shard": 1}, {"shard": 2}])

for _reattach in (True, False):
    with DAG(f"e2e_reattach_{str(_reattach).lower()}", schedule=None, start_date=START, catchup=False,
             default_args={"retries": 1, "retry_delay": datetime.timedelta(seconds=0)}) as _reattach_dag:
        start("apify_run", "slowish", reattach=_reattach, abort_on_kill=False, poll_interval=0.2)
    globals()[f"e2e_reattach_{str(_reattach).lower()}"] = _reattach_dag
