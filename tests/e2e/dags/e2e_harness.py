"""A DAG for the test of the DAG runner itself (tests/_dagrun.py, tests/_dagfork.py): what its task's process sees."""

from __future__ import annotations

import datetime
import os
import random
import sys
from typing import Any

from airflow.sdk import DAG, task

with DAG("e2e_harness", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False) as e2e_harness:

    @task
    def what_the_process_sees() -> dict[str, Any]:
        return {"pid": os.getpid(), "ppid": os.getppid(), "value": os.environ.get("E2E_HARNESS_VALUE"),
                "random": random.random(), "argv": sys.argv[1:]}

    what_the_process_sees()
