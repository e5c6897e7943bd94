"""DAGs of the worker-death tests: one Apify run, waited on by a task process.

``*_local`` tasks run under LocalExecutor, ``*_celery`` ones under CeleryExecutor (the stack
configures both; ``executor=`` picks). The test seeds ``death~forever`` (never ends) and
``death~short`` (ends after a few seconds) on the emulator.

* ``worker_death_*``: ``ApifyRunActorOperator(abort_on_process_death=False)``: the baseline, what
  happens without the provider's support (the run stays RUNNING);
* ``watchdog_*`` / ``watchdog_ok_*``: ``ApifyRunActorOperator`` with its defaults (guarded).
"""

from __future__ import annotations

import datetime

from airflow.sdk import DAG

from airflow_provider_jobs.operators.apify import ApifyRunActorOperator

START = datetime.datetime(2024, 1, 1)
ACTOR = "death~forever"
SHORT_ACTOR = "death~short"

with DAG("worker_death_local", schedule=None, start_date=START, catchup=False, default_args={"retries": 0}):
    ApifyRunActorOperator(task_id="run", actor_id=ACTOR, executor="LocalExecutor", abort_on_process_death=False)

with DAG("worker_death_celery", schedule=None, start_date=START, catchup=False, default_args={"retries": 0}):
    ApifyRunActorOperator(task_id="run", actor_id=ACTOR, executor="CeleryExecutor", abort_on_process_death=False)


for _executor, _name in (("LocalExecutor", "local"), ("CeleryExecutor", "celery")):
    for _actor, _suffix in ((ACTOR, ""), (SHORT_ACTOR, "_ok")):
        with DAG(f"watchdog{_suffix}_{_name}", schedule=None, start_date=START, catchup=False,
                 default_args={"retries": 0}):
            ApifyRunActorOperator(task_id="run", actor_id=_actor, executor=_executor)  # guarded by default
