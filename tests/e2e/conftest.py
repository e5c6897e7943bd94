"""End-to-end set-up: a migrated SQLite metadata DB and a helper that runs a DAG in a subprocess.

Each DAG runs with ``dag.test()`` in its own Python process (``tests/_dagrun.py``), against the
session's emulator, so that SIGTERM and SIGALRM (``execution_timeout``) hit a real task runner.
The emulator's journal is the witness of what the tasks did.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _dagrun import DagRun, run_dags

HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"


@dataclass
class DagResult(DagRun):
    """A DAG run of its own process: ``output`` is the process's whole output."""

    returncode: int = 0
    events: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A temporary AIRFLOW_HOME with a migrated SQLite DB, shared by the session's DAG runs."""
    home = tmp_path_factory.mktemp("e2e-airflow-home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join([str(DAGS), os.environ.get("PYTHONPATH", "")]),
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    yield env


@pytest.fixture
def run_dag(airflow_home: dict[str, str], jobs_emulator: Any) -> Callable[..., DagResult]:
    """Run a DAG file of ``dags_dir`` against the emulator; optionally SIGTERM it when ``kill_when()``."""

    def run(
        dag_file: str,
        dag_id: str,
        *,
        env: dict[str, str] | None = None,
        kill_when: Callable[[], bool] | None = None,
        timeout: float = 180,
        dags_dir: Path = DAGS,
    ) -> DagResult:
        full_env = {**airflow_home, **jobs_emulator.connection_env(), **(env or {}),
                    "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir)}
        done = run_dags(dags_dir / dag_file, [dag_id], env=full_env, kill_when=kill_when, timeout=timeout)
        run = done.dags[dag_id]
        return DagResult(dag_id, run.state, run.tasks, done.output, run.seconds, done.returncode, done.events)

    return run
