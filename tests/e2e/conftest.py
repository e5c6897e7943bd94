"""End-to-end set-up: a migrated SQLite metadata DB and a helper that runs a DAG in a subprocess.

Each DAG runs with ``dag.test()`` in its own Python process (``_runner.py``), against the
session's emulator, so that SIGTERM and SIGALRM (``execution_timeout``) hit a real task runner.
The emulator's journal is the witness of what the tasks did.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"


@dataclass
class DagResult:
    """What a DAG run did, read from the metadata DB after ``dag.test()``."""

    state: str
    tasks: dict[str, dict[str, Any]]
    output: str
    returncode: int
    seconds: float
    events: dict[str, float] = field(default_factory=dict)

    def state_of(self, task_id: str) -> str:
        return self.tasks[task_id]["state"]

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return self.tasks.get(task_id, {}).get("xcom", {}).get(key)


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
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "_runner.py"), str(dags_dir / dag_file), dag_id],
            env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        events: dict[str, float] = {}
        if kill_when is not None:
            while proc.poll() is None and not kill_when():
                if time.monotonic() - started > timeout:
                    break
                time.sleep(0.05)
            if proc.poll() is None:
                events["sigterm"] = time.monotonic()
                proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            raise AssertionError(f"DAG {dag_id} did not finish in {timeout} s:\n{output[-4000:]}") from None
        lines = [ln for ln in output.splitlines() if ln.startswith("E2E-REPORT ")]
        if not lines:
            raise AssertionError(f"DAG {dag_id} gave no report (exit {proc.returncode}):\n{output[-6000:]}")
        report = json.loads(lines[-1][len("E2E-REPORT "):])
        return DagResult(report["state"], report["tasks"], output, proc.returncode, report["seconds"], events)

    return run
