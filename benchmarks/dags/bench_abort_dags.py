"""DAGs for the end-to-end abort-latency cross-check (run with ``dag.test()`` by ``tests/_dagrun.py``).

``bench_sigterm``: one task waiting on a run that never ends; the benchmark sends SIGTERM to the
``dag.test()`` process. ``bench_exec_timeout``: three tasks with a 1 s ``execution_timeout``; each
notes when SIGALRM actually fires (to ``$BENCH_MARKS``), the failure event the abort is timed from.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import time
from typing import Any

from airflow.sdk import DAG

from airflow_provider_jobs.operators.apify import ApifyRunActorOperator

ACTOR = "bench~forever"
START = datetime.datetime(2024, 1, 1)


class AlarmNotingRunOperator(ApifyRunActorOperator):
    """The real operator; ``execute`` wraps the task runner's SIGALRM handler to note when it fires."""

    def execute(self, context: Any) -> Any:
        previous = signal.getsignal(signal.SIGALRM)

        def noted(signum: int, frame: Any) -> None:
            with open(os.environ["BENCH_MARKS"], "a") as marks:
                marks.write(json.dumps({"task_id": self.task_id, "alarm": time.monotonic(),
                                        "run_id": self._job and self._job.job_id}) + "\n")
            if callable(previous):
                previous(signum, frame)

        signal.signal(signal.SIGALRM, noted)
        return super().execute(context)


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, default_args={"retries": 0})


with _dag("bench_sigterm") as bench_sigterm:
    ApifyRunActorOperator(task_id="wait", actor_id=ACTOR, poll_interval=0.2)

with _dag("bench_exec_timeout") as bench_exec_timeout:
    for _i in range(3):
        AlarmNotingRunOperator(task_id=f"timeout_{_i}", actor_id=ACTOR, poll_interval=0.2,
                               execution_timeout=datetime.timedelta(seconds=1))
