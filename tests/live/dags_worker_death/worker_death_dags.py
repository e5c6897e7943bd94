"""DAGs of the worker-death tests: one Apify run, waited on by a task process.

``*_local`` tasks run under LocalExecutor, ``*_celery`` ones under CeleryExecutor (the stack
configures both; ``executor=`` picks). The test seeds ``death~forever`` (never ends) and
``death~short`` (ends after a few seconds) on the emulator.

* ``worker_death_*``: ``ApifyRunActorOperator`` as it is today (the baseline);
* ``watchdog_*`` / ``watchdog_ok_*``: :class:`WatchedRunOperator`, the watchdog wired in by hand.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, BaseOperator

from airflow_provider_jobs._watchdog.parent import JobWatchdog
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.lifecycle import APIFY_RUN
from airflow_provider_jobs.lifecycle.guard import watchdog_spec
from airflow_provider_jobs.models.apify import APIFY_STATUSES
from airflow_provider_jobs.operators.apify import ApifyRunActorOperator

START = datetime.datetime(2024, 1, 1)
ACTOR = "death~forever"
SHORT_ACTOR = "death~short"

with DAG("worker_death_local", schedule=None, start_date=START, catchup=False, default_args={"retries": 0}):
    ApifyRunActorOperator(task_id="run", actor_id=ACTOR, executor="LocalExecutor")

with DAG("worker_death_celery", schedule=None, start_date=START, catchup=False, default_args={"retries": 0}):
    ApifyRunActorOperator(task_id="run", actor_id=ACTOR, executor="CeleryExecutor")


class WatchedRunOperator(BaseOperator):
    """Start an Apify run and wait for it under a watchdog (what the operators will do once wired).

    A stand-in for the lead's integration: start the job, push its id, start the watchdog, wait
    with the hook's long poll, release the watchdog when the run is terminal.
    """

    def __init__(self, *, actor_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actor_id = actor_id

    def execute(self, context: Any) -> str:
        hook = ApifyHook()
        run = hook.start_run(self.actor_id)
        context["ti"].xcom_push(key="run_id", value=run.id)
        watchdog = JobWatchdog.start(watchdog_spec(hook, APIFY_RUN, run.id))
        while not APIFY_STATUSES.is_terminal(run.status):
            run = hook.get_run(run.id, wait_for_finish=5)
        watchdog.release()
        return str(run.status)


for _executor, _name in (("LocalExecutor", "local"), ("CeleryExecutor", "celery")):
    for _actor, _suffix in ((ACTOR, ""), (SHORT_ACTOR, "_ok")):
        with DAG(f"watchdog{_suffix}_{_name}", schedule=None, start_date=START, catchup=False,
                 default_args={"retries": 0}):
            WatchedRunOperator(task_id="run", actor_id=_actor, executor=_executor)
